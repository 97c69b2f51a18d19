"""Formula exercises: the learner writes a function, the check calls it on a few inputs and
names the usual mistake when the answer is wrong (log10 instead of ln, a ratio upside down,
(1 + a) instead of (1 + a**2), ...)."""

from dataclasses import dataclass
import math

from .feedback import Feedback, apart, as_number

RELATIVE_TOLERANCE = 1e-4  # float32 answers (NumPy, TensorFlow) pass too


@dataclass(frozen=True)
class Exercise:
    """A formula to write: the arguments it is called with, the answer, and known mistakes."""

    name: str
    signature: str
    cases: tuple  # argument tuples the learner's function is called with
    answer: object  # the correct function
    mistakes: tuple  # (wrong function, what to tell the learner)
    solution: str


EXERCISES = {
    "uniform_cost": Exercise(
        name="uniform_cost",
        signature="uniform_cost(num_classes)",
        cases=((10,), (3,), (2,), (1000,)),
        answer=lambda k: math.log(k),
        mistakes=(
            (lambda k: math.log10(k),
             "You returned log10(num_classes). Cross-entropy uses the natural logarithm "
             "(math.log): for 10 classes the cost is ln 10 = 2.3026, not 1."),
            (lambda k: math.log2(k),
             "You returned log2(num_classes): that is the cost in bits. TensorFlow's "
             "cross-entropy uses the natural logarithm, math.log."),
            (lambda k: -math.log(k),
             "Your cost is negative. The cost of an image is -log(prediction of its true class), "
             "and log(1 / k) is negative, so the cost is +log(k)."),
            (lambda k: 1 / k,
             "You returned the prediction 1 / num_classes itself. The cost is "
             "-log(prediction of the true class)."),
            (lambda k: math.log(10),
             "You returned ln 10 for every number of classes: that is only the 10-class answer."),
            (lambda k: 1 - 1 / k,
             "You returned 1 - 1 / num_classes: that is the error rate of guessing, not the "
             "cross-entropy cost -log(1 / num_classes)."),
        ),
        solution=(
            "import math\n\n"
            "def uniform_cost(num_classes):\n"
            "    # every class gets 1 / num_classes, so every image costs -log(1 / num_classes)\n"
            "    return math.log(num_classes)\n"
        ),
    ),
    "rate_for_update_ratio": Exercise(
        name="rate_for_update_ratio",
        signature="rate_for_update_ratio(gradient_std, weight_std, target=1e-3)",
        cases=((2.0, 0.05), (1e5, 1.0), (7e-4, 0.01), (3.0, 0.02, 1e-2)),
        answer=lambda g, w, target=1e-3: target * w / g,
        mistakes=(
            (lambda g, w, target=1e-3: target * g / w,
             "Upside down: you returned target * gradient_std / weight_std. The ratio is "
             "learning_rate * gradient_std / weight_std = target, so solve for the learning "
             "rate: target * weight_std / gradient_std."),
            (lambda g, w, target=1e-3: w / g,
             "You left out the target: weight_std / gradient_std is the rate at which one step "
             "moves the weights by their own size (a ratio of 1)."),
            (lambda g, w, target=1e-3: 1e-3 * w / g,
             "Right for target=1e-3, but you ignored the `target` argument."),
            (lambda g, w, target=1e-3: target / g,
             "You divided the target by the gradient only: the ratio is relative to the "
             "weights' size, so weight_std belongs in the answer."),
            (lambda g, w, target=1e-3: target * (w / g) ** 2,
             "You squared the ratio of standard deviations: the update-to-data ratio is linear "
             "in the learning rate and in both stds."),
        ),
        solution=(
            "def rate_for_update_ratio(gradient_std, weight_std, target=1e-3):\n"
            "    # learning_rate * gradient_std / weight_std = target\n"
            "    return target * weight_std / gradient_std\n"
        ),
    ),
    "leaky_he_stddev": Exercise(
        name="leaky_he_stddev",
        signature="leaky_he_stddev(fan_in, negative_slope)",
        cases=((9, 0.0), (576, 0.01), (1152, 0.2), (576, 0.5)),
        answer=lambda n, a: math.sqrt(2 / ((1 + a**2) * n)),
        mistakes=(
            (lambda n, a: math.sqrt(2 / n),
             "You returned He's stddev for a plain ReLU. A leaky ReLU keeps the negative half, "
             "multiplied by negative_slope, so it passes on more than half of the variance."),
            (lambda n, a: math.sqrt(2 / ((1 + a) * n)),
             "Close: you used (1 + negative_slope). The negative half's *variance* is scaled by "
             "negative_slope squared, so the factor is (1 + negative_slope**2)."),
            (lambda n, a: math.sqrt(1 / ((1 + a**2) * n)),
             "Off by sqrt(2): E[x^2] after the activation is (1 + a**2) / 2 times the variance "
             "below, so Var(w) = 2 / ((1 + a**2) * fan_in)."),
            (lambda n, a: 2 / ((1 + a**2) * n),
             "You returned the variance 2 / ((1 + a**2) * fan_in): take its square root."),
            (lambda n, a: math.sqrt(2 / ((1 - a**2) * n)),
             "You used (1 - negative_slope**2): the negative half *adds* variance, so it is "
             "(1 + negative_slope**2)."),
        ),
        solution=(
            "import math\n\n"
            "def leaky_he_stddev(fan_in, negative_slope):\n"
            "    # positive half passes as is, the negative half times a: E[x^2] = (1 + a^2) / 2\n"
            "    # times the variance below, so Var(w) = 2 / ((1 + a^2) * fan_in)\n"
            "    return math.sqrt(2 / ((1 + negative_slope**2) * fan_in))\n"
        ),
    ),
}


def check(name, function):
    """Check the learner's ``function`` for exercise ``name``; return a :class:`Feedback`."""
    exercise = EXERCISES[name]
    if not callable(function):
        return Feedback(False, f"Pass the function itself, e.g. check_{name}({name}), "
                               f"not its result (got {function!r}).")
    answers = []
    for args in exercise.cases:
        call = f"{name}({', '.join(map(repr, args))})"
        try:
            value = function(*args)
        except Exception as error:  # the learner's code may raise anything
            problem = f"{call} raised {type(error).__name__}: {error}"
            mistake = _known_mistake(exercise, answers)
            return Feedback(False, f"{mistake} Also, {problem}" if mistake else problem)
        number = as_number(value)
        if number is None:
            return Feedback(False, _type_hint(call, value))
        answers.append(number)
    expected = [exercise.answer(*args) for args in exercise.cases]
    if _matches(answers, expected):
        return Feedback(True, f"{exercise.signature} gives the right value on all "
                              f"{len(expected)} test cases.")
    mistake = _known_mistake(exercise, answers)
    if mistake:
        return Feedback(False, mistake)
    return Feedback(False, _generic_hint(exercise, answers, expected))


def check_uniform_cost(function):
    """Check ``uniform_cost(num_classes)``: the cost of uniform predictions over k classes."""
    return check("uniform_cost", function)


def check_rate_for_update_ratio(function):
    """Check ``rate_for_update_ratio(gradient_std, weight_std, target=1e-3)``."""
    return check("rate_for_update_ratio", function)


def check_leaky_he_stddev(function):
    """Check ``leaky_he_stddev(fan_in, negative_slope)``: He's stddev for a leaky ReLU."""
    return check("leaky_he_stddev", function)


def _type_hint(call, value):
    if value is None:
        return f"{call} returned None: did you forget the `return`?"
    if value is Ellipsis:
        return f"{call} returned ... : replace the ... with your formula."
    kind = type(value).__name__
    if getattr(value, "shape", None) not in (None, ()):
        return f"{call} returned an array of shape {tuple(value.shape)}; return one number."
    return f"{call} returned a {kind} ({value!r}); return one number (a float)."


def _known_mistake(exercise, answers):
    """The message of the first known mistake that gives ``answers`` (on the first cases), or ''."""
    if not answers:
        return ""
    cases = exercise.cases[: len(answers)]
    if _matches(answers, [exercise.answer(*args) for args in cases]):
        return ""
    for mistake, message in exercise.mistakes:
        if _matches(answers, [mistake(*args) for args in cases]):
            return message
    return ""


def _matches(answers, expected):
    return all(
        math.isclose(got, want, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
        for got, want in zip(answers, expected, strict=True)
    )


def _generic_hint(exercise, answers, expected):
    first_wrong = next(index for index, (got, want) in enumerate(zip(answers, expected))
                       if not _matches([got], [want]))
    args = exercise.cases[first_wrong]
    want, got = apart(expected[first_wrong], answers[first_wrong])
    call = f"{exercise.name}({', '.join(map(repr, args))})"
    message = f"{call} should be {want}, got {got}."
    ratios = [a / e for a, e in zip(answers, expected, strict=True)]
    if all(math.isclose(r, ratios[0], rel_tol=1e-3) for r in ratios):
        names = {math.sqrt(2): "sqrt(2)", 2.0: "2", math.sqrt(3): "sqrt(3)", 3.0: "3"}
        factor = ratios[0] if ratios[0] >= 1 else 1 / ratios[0]
        size = "too large" if ratios[0] >= 1 else "too small"
        name = next((text for value, text in names.items()
                     if math.isclose(factor, value, rel_tol=1e-3)), f"{factor:.4g}")
        message += f" Every answer is {size} by the same factor, {name}."
    elif len(set(answers)) == 1:
        message += " Your answer is the same for every input: it should depend on the arguments."
    else:
        message += " It changes with the arguments differently from the formula."
    return message
