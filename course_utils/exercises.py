"""Exercises with feedback: write an initialization formula, get told what is off.

In the notebook you write a function, then pass it (not its result) to the check::

    def he_stddev(fan_in):
        return ...

    check_he_stddev(he_stddev)

The check calls your function on a few shapes and compares with the right formula. When the
answer is wrong it looks for the usual mistakes (the variance instead of the stddev, fan_out
instead of fan_in, a factor sqrt(2) off, ...) and says which one it recognises. Stuck? Run
``show_solution("he_stddev")``.
"""

from dataclasses import dataclass
import math
import numbers

RELATIVE_TOLERANCE = 1e-4  # float32 answers (NumPy, TensorFlow) pass too


@dataclass(frozen=True)
class Feedback:
    """The result of a check: ``passed`` and a message for the learner (shown as the repr)."""

    passed: bool
    message: str

    def __repr__(self):
        return ("Correct! " if self.passed else "Not yet. ") + self.message

    def __bool__(self):
        return self.passed


@dataclass(frozen=True)
class Exercise:
    """A formula to write: the arguments it is called with, the answer, and known mistakes."""

    name: str
    signature: str
    cases: tuple  # argument tuples the learner's function is called with
    answer: object  # the correct function
    mistakes: tuple  # (wrong function, what to tell the learner)
    solution: str


def _conv_fans(shape):
    receptive_field = math.prod(shape[:-2])
    return receptive_field * shape[-2], receptive_field * shape[-1]


EXERCISES = {
    "he_stddev": Exercise(
        name="he_stddev",
        signature="he_stddev(fan_in)",
        cases=((9,), (576,), (1152,), (6272,)),
        answer=lambda n: math.sqrt(2 / n),
        mistakes=(
            (lambda n: 2 / n,
             "You returned the variance 2 / fan_in, not the stddev: take its square root."),
            (lambda n: math.sqrt(1 / n),
             "You returned sqrt(1 / fan_in) (LeCun's stddev): off by a factor sqrt(2). The ReLU "
             "zeroes half of each layer's outputs, so He doubles the variance to make up for it."),
            (lambda n: 1 / n,
             "You returned 1 / fan_in: that is a variance, and LeCun's, not He's. He's variance is "
             "2 / fan_in; the stddev is its square root."),
            (lambda n: math.sqrt(2) / n,
             "You returned sqrt(2) / fan_in: the square root must cover the whole fraction, "
             "sqrt(2 / fan_in)."),
            (lambda n: 2 / math.sqrt(n),
             "You returned 2 / sqrt(fan_in) = sqrt(4 / fan_in): take the square root of the 2 "
             "as well."),
            (lambda n: math.sqrt(2 * n),
             "You returned sqrt(2 * fan_in): upside down. More inputs per unit need *smaller* "
             "weights, so fan_in goes in the denominator."),
            (lambda n: math.sqrt(6 / n),
             "You returned sqrt(6 / fan_in): that is the *limit* of He uniform, "
             "U(-limit, limit). A uniform on [-a, a] has stddev a / sqrt(3)."),
            (lambda n: -math.sqrt(2 / n),
             "Your answer is negative: a standard deviation is never below 0."),
        ),
        solution=(
            "import math\n\n"
            "def he_stddev(fan_in):\n"
            "    return math.sqrt(2 / fan_in)\n"
        ),
    ),
    "xavier_limit": Exercise(
        name="xavier_limit",
        signature="xavier_limit(fan_in, fan_out)",
        cases=((9, 576), (576, 1152), (1152, 576), (6272, 10)),
        answer=lambda i, o: math.sqrt(6 / (i + o)),
        mistakes=(
            (lambda i, o: math.sqrt(2 / (i + o)),
             "You returned the Xavier *stddev* sqrt(2 / (fan_in + fan_out)). The limit of a "
             "uniform on [-a, a] is sqrt(3) times its stddev: sqrt(6 / (fan_in + fan_out))."),
            (lambda i, o: 6 / (i + o),
             "You returned 6 / (fan_in + fan_out): you forgot the square root."),
            (lambda i, o: math.sqrt(6 / i),
             "You used fan_in only. Glorot's compromise between the forward and the backward pass "
             "uses both: fan_in + fan_out."),
            (lambda i, o: math.sqrt(6 / o),
             "You used fan_out only. Glorot's compromise between the forward and the backward pass "
             "uses both: fan_in + fan_out."),
            (lambda i, o: math.sqrt(6 / (i * o)),
             "You multiplied fan_in and fan_out: add them, sqrt(6 / (fan_in + fan_out))."),
            (lambda i, o: math.sqrt(3 / (i + o)),
             "You returned sqrt(3 / (fan_in + fan_out)): Glorot averages the fans, "
             "Var(w) = 2 / (fan_in + fan_out), and the limit is sqrt(3 * Var(w))."),
            (lambda i, o: math.sqrt(6) / (i + o),
             "You returned sqrt(6) / (fan_in + fan_out): the square root must cover the whole "
             "fraction."),
        ),
        solution=(
            "import math\n\n"
            "def xavier_limit(fan_in, fan_out):\n"
            "    return math.sqrt(6 / (fan_in + fan_out))\n"
        ),
    ),
    "kernel_he_stddev": Exercise(
        name="kernel_he_stddev",
        signature="kernel_he_stddev(shape)",
        cases=(((3, 3, 1, 64),), ((3, 3, 64, 128),), ((5, 5, 32, 16),), ((6272, 10),)),
        answer=lambda shape: math.sqrt(2 / _conv_fans(shape)[0]),
        mistakes=(
            (lambda shape: math.sqrt(2 / _conv_fans(shape)[1]),
             "You used fan_out (kernel height * width * out_channels). He keeps the *forward* "
             "signal steady, so it divides by fan_in: the number of inputs each output sums."),
            (lambda shape: math.sqrt(2 / shape[-2]),
             "You used in_channels alone. Each output of a conv sums a kernel-sized window of "
             "every input channel: fan_in = height * width * in_channels."),
            (lambda shape: math.sqrt(2 / math.prod(shape)),
             "You divided by the number of weights in the tensor. fan_in counts only the inputs "
             "of one output unit: height * width * in_channels (or inputs, for a dense matrix)."),
            (lambda shape: 2 / _conv_fans(shape)[0],
             "Right fan_in, but you returned the variance 2 / fan_in: take its square root."),
        ),
        solution=(
            "import math\n\n"
            "def kernel_he_stddev(shape):\n"
            "    *window, in_channels, out_channels = shape  # window: (h, w) or () for dense\n"
            "    fan_in = math.prod(window) * in_channels\n"
            "    return math.sqrt(2 / fan_in)\n"
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
        number = _as_number(value)
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


def check_he_stddev(function):
    """Check ``he_stddev(fan_in)``: the He stddev sqrt(2 / fan_in)."""
    return check("he_stddev", function)


def check_xavier_limit(function):
    """Check ``xavier_limit(fan_in, fan_out)``: the Glorot uniform bound."""
    return check("xavier_limit", function)


def check_kernel_he_stddev(function):
    """Check ``kernel_he_stddev(shape)``: He stddev of a conv kernel or dense matrix shape."""
    return check("kernel_he_stddev", function)


def show_solution(name):
    """Print a solution of exercise ``name`` (one of :data:`EXERCISES`)."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; choose one of {tuple(EXERCISES)}")
    print(EXERCISES[name].solution)


def _as_number(value):
    """``value`` as a float if it is one real number (Python, NumPy or a 0-d tensor), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if getattr(value, "shape", None) == () and hasattr(value, "dtype"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


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
    args, got, want = exercise.cases[0], answers[0], expected[0]
    call = f"{exercise.name}({', '.join(map(repr, args))})"
    message = f"{call} should be {want:.4g}, got {got:.4g}."
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
