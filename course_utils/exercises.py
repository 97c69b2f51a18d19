"""Exercises with feedback: the learner answers, the check says what is off.

Two kinds. A *formula* exercise (:data:`EXERCISES`): you write a function, then pass it (not its
result) to the check::

    def uniform_cost(num_classes):
        return ...

    check_uniform_cost(uniform_cost)

The check calls your function on a few inputs and compares with the right formula. When the
answer is wrong it looks for the usual mistakes (log10 instead of ln, a ratio upside down,
(1 + a) instead of (1 + a**2), ...) and says which one it recognises.

An *experiment* exercise (:data:`EXPERIMENTS`): you change an experiment (a scale, a choice) and
its check runs it, then says what the run shows and, when it fails, why.

Stuck? ``solution("uniform_cost")`` shows a solution, folded away until you click it.
"""

from dataclasses import dataclass
import math
import numbers

from .arguments import valid_choice

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


def check_uniform_cost(function):
    """Check ``uniform_cost(num_classes)``: the cost of uniform predictions over k classes."""
    return check("uniform_cost", function)


def check_rate_for_update_ratio(function):
    """Check ``rate_for_update_ratio(gradient_std, weight_std, target=1e-3)``."""
    return check("rate_for_update_ratio", function)


def check_leaky_he_stddev(function):
    """Check ``leaky_he_stddev(fan_in, negative_slope)``: He's stddev for a leaky ReLU."""
    return check("leaky_he_stddev", function)


# Exercises that run an experiment: name -> the solution shown on request. Each has its own
# check_<name> below, which runs the learner's change and explains the outcome.
EXPERIMENTS = {}


def solution_text(name):
    """The solution of exercise ``name`` (a formula or an experiment exercise), as text."""
    valid_choice("exercise", name, {**EXERCISES, **EXPERIMENTS})
    return EXERCISES[name].solution if name in EXERCISES else EXPERIMENTS[name]


def show_solution(name):
    """Print the solution of exercise ``name`` (for a terminal; notebooks use :func:`solution`)."""
    print(solution_text(name))


def solution(name):
    """The solution of exercise ``name``, folded away: one click on its title opens it."""
    import html

    import ipywidgets as widgets

    text = solution_text(name)
    body = widgets.HTML()  # filled when opened, so a saved notebook does not give it away
    folded = widgets.Accordion(children=[body], selected_index=None)
    folded.set_title(0, f"Solution: {name} (click to open)")

    def opened(change):
        if change["new"] == 0:
            body.value = f"<pre>{html.escape(text)}</pre>"

    folded.observe(opened, names="selected_index")
    return folded


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


# -------------------------------------------------------------------------------------------------
# Mystery training dashboards (notebook 8): name what went wrong in each run from its dashboard.
# -------------------------------------------------------------------------------------------------

DASHBOARD_CAUSES = ("rate too high", "dead layer1", "pixels 0-255", "x0.01 everywhere",
                    "x0.01 last layer")
MYSTERY_CAUSES = {  # the hidden answer of each dashboard, in the order the notebook shows them
    "A": "x0.01 last layer", "B": "rate too high", "C": "dead layer1", "D": "x0.01 everywhere",
    "E": "pixels 0-255",
}
DASHBOARD_CLUES = {  # what in the dashboard gives each cause away
    "rate too high": "At step 0 its spreads are He's (0.4 to 0.6, flat) and its cost about 2.5: "
                     "the weights and the input are fine. But its largest update ratio starts "
                     "above 1e-1, and the spreads and the cost then blow up until the cost "
                     "overflows: each step moves the weights too far.",
    "dead layer1": "layer1 is 100 % dead from step 0 and every update ratio is exactly 0 (the "
                   "lines lie on the floor marked zero): nothing flows through layer1, so no layer "
                   "gets a gradient, the spreads above layer1 are 0 and the cost stays at ln 10.",
    "pixels 0-255": "At step 0 its spreads are flat from layer1 to layer4 (no growth with "
                    "depth, unlike N(0, 1)) but about 100, some 250 times He's level, and most "
                    "predictions are over-confident at step 0: every layer is fine relative to "
                    "the one below, so the scale comes in with the input.",
    "x0.01 everywhere": "Its spreads shrink layer by layer, far below 1 (1e-2 to 1e-4), every "
                        "update ratio is far below 1e-4 and flat, and the cost stays at ln 10: "
                        "every layer is too small, not just one.",
    "x0.01 last layer": "Its conv spreads are He's (0.4 to 0.6), the cost starts at ln 10 and "
                        "falls, and only layer5's update ratio is high while layers 1 to 4 sit "
                        "between 1e-7 and 1e-5: the small last layer passes little gradient "
                        "down, but the network trains.",
}
DASHBOARD_CONTRASTS = {  # (said, true): what tells the two apart
    ("x0.01 everywhere", "x0.01 last layer"): "Both start at ln 10, but here the conv spreads "
        "are about 0.5, not 1e-2 to 1e-4, and the cost falls.",
    ("x0.01 last layer", "x0.01 everywhere"): "Both start at ln 10, but here the conv spreads "
        "shrink to 1e-4 and the cost does not move.",
    ("rate too high", "pixels 0-255"): "Both start with update ratios far above 1e-1, but this "
        "one is over-confident at step 0: the spreads are already about 100 before any step was "
        "taken, and its cost falls.",
    ("pixels 0-255", "rate too high"): "Both start with update ratios far above 1e-1, but at "
        "step 0 this one's spreads are He's 0.4 to 0.6 and its cost 2.5: the trouble starts "
        "with the first steps.",
    ("x0.01 everywhere", "dead layer1"): "Both sit at ln 10, but here the update ratios are "
        "exactly 0 (on the floor), not small, and layer1 is 100 % dead.",
    ("dead layer1", "x0.01 everywhere"): "Both sit at ln 10, but here no layer is dead and the "
        "update ratios are small (1e-6), not 0.",
}


def _cause_name(answer):
    text = " ".join(str(answer).lower().replace("×", "x").split())
    return next((cause for cause in DASHBOARD_CAUSES if cause == text), None)


def check_dashboards(answers):
    """Check ``answers``, ``{"A": cause, ...}``: one of :data:`DASHBOARD_CAUSES` per dashboard.

    For every wrong name it says what in that dashboard should have told you the cause.
    """
    if not isinstance(answers, dict):
        return Feedback(False, 'Pass a dict, e.g. {"A": "rate too high", "B": ...}, with a '
                               f"cause for each of {', '.join(MYSTERY_CAUSES)}.")
    missing = [letter for letter in MYSTERY_CAUSES if letter not in answers]
    unknown = {letter: answer for letter, answer in answers.items()
               if letter in MYSTERY_CAUSES and _cause_name(answer) is None}
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"No answer for {', '.join(missing)}.")
        for letter, answer in unknown.items():
            parts.append(f"{letter}: {answer!r} is not one of the causes.")
        parts.append("Use the names " + ", ".join(repr(cause) for cause in DASHBOARD_CAUSES) + ".")
        return Feedback(False, " ".join(parts))
    wrong = []
    for letter, cause in MYSTERY_CAUSES.items():
        said = _cause_name(answers[letter])
        if said != cause:
            contrast = DASHBOARD_CONTRASTS.get((said, cause), "")
            wrong.append(f"{letter} is not {said!r}. {contrast} {DASHBOARD_CLUES[cause]}"
                         .replace("  ", " "))
    if wrong:
        right = len(MYSTERY_CAUSES) - len(wrong)
        return Feedback(False, f"{right} of {len(MYSTERY_CAUSES)} right.\n" + "\n".join(wrong))
    return Feedback(True, f"All {len(MYSTERY_CAUSES)} dashboards named: the spreads at step 0 "
                          "say whether the weights or the input are off, the update ratios "
                          "whether the step is, and ratios of exactly 0 that nothing flows.")


def mystery_dashboards(data, seed=0, steps=8, record_every=2, learning_rate=1e-3,
                       high_rate=1.0, reuse=None):
    """Train the hidden runs of :data:`MYSTERY_CAUSES` (He + Xavier weights, changed as each
    cause says) and return ``({letter: Recorder}, {letter: step the cost overflowed or None})``.

    ``reuse`` is ``{cause: (Recorder, History)}`` for runs the notebook already made (x0.01
    everywhere is part 1's run).
    """
    import contextlib
    import io

    import tensorflow as tf

    from .experiments import EXPERIMENTS
    from .monitor import Recorder
    from .network import ConvNet
    from .training import train

    reuse = {} if reuse is None else reuse
    recorders, diverged = {}, {}
    for letter, cause in MYSTERY_CAUSES.items():
        if cause in reuse:
            recorders[letter], history = reuse[cause]
            diverged[letter] = history.diverged_at
            continue
        key = "small" if cause == "x0.01 everywhere" else "proper"
        weights = EXPERIMENTS[key].create_weights(seed)
        images, rate = data.train_images, learning_rate
        if cause == "dead layer1":  # every layer1 weight negative: pixels >= 0 never pass a ReLU
            weights["layer1"] = tf.Variable(-tf.abs(weights["layer1"]))
        elif cause == "x0.01 last layer":
            weights["layer5"] = tf.Variable(0.01 * weights["layer5"])
        elif cause == "pixels 0-255":
            images = 255 * images
        elif cause == "rate too high":
            rate = high_rate
        network = ConvNet.from_weights(weights)
        recorders[letter] = Recorder(network, images, data.train_labels, rate)
        with contextlib.redirect_stderr(io.StringIO()):  # its message would name the cause
            history = train(network, images, data.train_labels, rate, steps,
                            record_every=record_every, progress=False,
                            callback=recorders[letter])
        diverged[letter] = history.diverged_at
    return recorders, diverged


def plot_mystery_dashboards(recorders, diverged=None, floor=-8):
    """One column per dashboard: log10 update ratio, log10 pre-activation spread, log10 cost.

    A value of 0 (or a log10 below ``floor``) is drawn on the floor, whose tick reads "zero"; a
    red dotted line marks the step the cost overflowed. The first two rows share their y-axis;
    each cost panel has its own. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    import numpy as np

    diverged = {} if diverged is None else diverged
    fig, axes = plt.subplots(3, len(recorders), figsize=(2.7 * len(recorders), 6.6),
                             sharex=True, layout="constrained", squeeze=False)
    for row in range(2):
        for ax in axes[row, 1:]:
            ax.sharey(axes[row, 0])
    rows = (("update_ratio", "log10 update ratio"), ("activation_std", "log10 spread"),
            ("cost", "log10 cost (own scale)"))
    for column, (letter, recorder) in enumerate(recorders.items()):
        for row, (field, label) in enumerate(rows):
            ax = axes[row, column]
            series = recorder.series(field)
            series = {"cost": series} if field == "cost" else series
            for name, values in series.items():
                with np.errstate(divide="ignore", invalid="ignore"):
                    logs = np.log10(np.asarray(values, dtype=float))
                logs = np.where(logs < floor, floor, logs)  # 0 -> the floor; NaN: not drawn
                logs = np.where(np.isposinf(logs), np.nan, logs)  # overflowed: not drawn
                ax.plot(recorder.steps, logs, "o-", markersize=3, label=name)
            if field == "update_ratio":
                ax.axhline(-3, color="black", linestyle="--", linewidth=1)
            if diverged.get(letter) is not None:
                ax.axvline(diverged[letter], color="red", linestyle=":", linewidth=1.5)
            ax.grid(True, alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if column == 0 or row == 2:
                ax.set_ylabel(label)
            if row == 0:
                ax.set_title(f"dashboard {letter}")
            if row == 2:
                ax.set_xlabel("training step")
    for ax in axes[2]:  # a cost flat to float noise reads flat, not as a wiggle of 1e-6
        low, high = ax.get_ylim()
        if high - low < 0.02:
            ax.set_ylim((low + high) / 2 - 0.01, (low + high) / 2 + 0.01)
        ax.ticklabel_format(axis="y", useOffset=False)
    for row in range(2):
        axes[row, 0].set_ylim(floor - 0.5, None)
        ticks = [tick for tick in axes[row, 0].get_yticks() if tick > floor + 0.5]
        axes[row, 0].set_yticks([floor] + ticks, ["zero"] + [f"{tick:g}" for tick in ticks])
        axes[row, -1].legend(fontsize=7, loc="best")
    fig.suptitle("Five mystery runs (dashed: update ratio 1e-3; red dotted: the cost overflowed; "
                 '"zero": exactly 0)', fontsize=10)
    return fig


EXPERIMENTS["dashboards"] = (
    "check_dashboards({\n"
    '    "A": "x0.01 last layer",  # conv spreads He\'s, cost from ln 10 and falling, layer5 high\n'
    '    "B": "rate too high",     # fine at step 0, ratios >= 1e-1, then it blows up\n'
    '    "C": "dead layer1",       # layer1 100 % dead, every update ratio exactly 0\n'
    '    "D": "x0.01 everywhere",  # spreads 1e-2 .. 1e-4, ratios ~1e-6, cost flat at ln 10\n'
    '    "E": "pixels 0-255",      # flat spreads of about 100, over-confident at step 0\n'
    "})\n"
)


# ---------------------------------------------------------------------------------------------
# Depth (notebook 06): choose the weight std that keeps a 30-layer ReLU stack's spread in range.
# ---------------------------------------------------------------------------------------------

DEPTH_STACK_DEPTH, DEPTH_STACK_WIDTH, DEPTH_STACK_BATCH = 30, 256, 256
DEPTH_STACK_TOLERANCE = 2.0  # the last layer's spread within this factor of the first layer's
DEPTH_STACK_SEED = 4  # a draw whose exact He std gives layer 30 / layer 1 = 1.005 (seed 0: 1.49)

EXPERIMENTS["deep_stack_std"] = (
    "import math\n\n"
    "fan_in = 256  # every layer of the stack has 256 inputs per unit\n"
    "# a ReLU passes on half of the variance, so the per-layer factor\n"
    "# sqrt(fan_in * Var(w) / 2) is 1 when Var(w) = 2 / fan_in (He): gain sqrt(2)\n"
    "weight_std = math.sqrt(2 / fan_in)  # 0.0884\n\n"
    "check_deep_stack_std(weight_std)\n"
)


def run_deep_stack(weight_std, seed=DEPTH_STACK_SEED):
    """Pre-activation spread of each layer of the exercise's stack (30 dense ReLU layers of 256
    units, zero biases), weights N(0, weight_std**2), fed a batch of 256 N(0, 1) vectors.

    Forward only, NumPy in float64, seeded: the same numbers on every machine.
    """
    import numpy as np

    from .deep_stack import stack_spreads

    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((DEPTH_STACK_BATCH, DEPTH_STACK_WIDTH))
    weights = [weight_std * rng.standard_normal((DEPTH_STACK_WIDTH, DEPTH_STACK_WIDTH))
               for _ in range(DEPTH_STACK_DEPTH)]
    return stack_spreads(weights, inputs, "relu").forward_std


def check_deep_stack_std(weight_std):
    """Run the 30-layer ReLU stack with weights N(0, weight_std**2): does the last layer's spread
    stay within 2x of the first layer's? The feedback says what the run shows, and what is off."""
    number = _as_number(weight_std)
    if number is None or not math.isfinite(number) or number <= 0:
        return Feedback(False, f"Give the weights' standard deviation as one positive number, "
                               f"e.g. check_deep_stack_std(0.05) (got {weight_std!r}).")
    spreads = run_deep_stack(number)
    growth = float(spreads[-1] / spreads[0])
    layers = DEPTH_STACK_DEPTH - 1
    per_layer = growth ** (1 / layers) if growth > 0 else 0.0
    fan_in = DEPTH_STACK_WIDTH
    gain = number * math.sqrt(fan_in)
    shown = (f"With std {number:.4g} (gain {gain:.3g}: std = gain / sqrt({fan_in})), layer "
             f"{DEPTH_STACK_DEPTH}'s spread is {growth:.3g} times layer 1's")
    if 1 / DEPTH_STACK_TOLERANCE <= growth <= DEPTH_STACK_TOLERANCE:
        return Feedback(True, f"{shown}: within {DEPTH_STACK_TOLERANCE:g}x. The measured "
                              f"per-layer factor is {per_layer:.3f}.")
    trend = (f"{shown}: the spread is multiplied by {per_layer:.3g} per layer "
             f"(measured over {layers} layers).")
    known = (
        (math.sqrt(1 / fan_in),
         "You forgot ReLU's 1/2: std sqrt(1 / fan_in) (gain 1, LeCun) loses half of the variance "
         "in every ReLU, a factor sqrt(1/2) = 0.71 of the spread."),
        (2 / fan_in,
         "That is the variance 2 / fan_in, not the std: take its square root."),
        (1 / fan_in,
         "That is a variance, 1 / fan_in, and without ReLU's 1/2: the std is sqrt(2 / fan_in)."),
        (math.sqrt(2) / fan_in,
         "You divided the gain sqrt(2) by fan_in: divide by sqrt(fan_in)."),
        (math.sqrt(2),
         "That is the gain, sqrt(2): the std is gain / sqrt(fan_in)."),
    )
    for std, message in known:
        if math.isclose(number, std, rel_tol=0.02):
            return Feedback(False, f"{trend} {message}")
    factor = math.sqrt(fan_in * number**2 / 2)
    size = "too large" if factor > 1 else "too small"
    return Feedback(False, f"{trend} Your std is {size}: its per-layer factor "
                           f"sqrt(fan_in * Var(w) / 2) is {factor:.3g}, and it must be 1 (over "
                           f"{layers} layers even a small error compounds).")


# -------------------------------------------------------------------------------------------------
# Make N(0, 1) learn by changing one tensor's scale (notebook 1): a 30-step run checks it.
# -------------------------------------------------------------------------------------------------

ONE_TENSOR_STEPS = 30  # the check's run: steps of 100 images from the seed-0 N(0, 1) draws
ONE_TENSOR_TARGET = 1.4  # "learns": the mean cost of the last 5 steps is below this (ln 10 = 2.30)
ONE_TENSOR_START = 2 * math.log(10)  # a first cost above this: the logits are still too large
ONE_TENSOR_SPIKE = 10.0  # a cost above this after step 0: the steps are too large


def check_one_tensor_scale(scales, learning_rate=1e-7, seed=0, data=None):
    """Multiply ONE of notebook 1's N(0, 1) weight tensors by a scale, train 30 steps, and say
    whether the network learns.

    ``scales`` is ``{"layer1": 1, ..., "layer5": 1}`` with exactly one value changed (missing
    layers count as 1). The run starts from the seed-``seed`` draws of notebook 1, trains
    :data:`ONE_TENSOR_STEPS` steps of plain gradient descent at ``learning_rate`` on the offline
    subset, and passes when the mean training-batch cost of the last 5 steps is below
    :data:`ONE_TENSOR_TARGET` with no step's cost above :data:`ONE_TENSOR_SPIKE`. A change that
    is not exactly one tensor is caught before any training. ``data`` is the
    :class:`~course_utils.data.MnistData` to train on (None: the offline subset, split with
    ``seed``, as notebook 1 loads it).
    """
    from .network import WEIGHT_SHAPES

    if not isinstance(scales, dict):
        return Feedback(False, 'Pass a dict such as {"layer1": 1, "layer2": 1, "layer3": 1, '
                               f'"layer4": 1, "layer5": 1}} (got {scales!r}).')
    unknown = sorted(set(scales) - set(WEIGHT_SHAPES))
    if unknown:
        return Feedback(False, f"{', '.join(map(repr, unknown))}: not a weight tensor. The five "
                               f"are {', '.join(WEIGHT_SHAPES)} (layer5 feeds the logits).")
    bad = {layer: scale for layer, scale in scales.items()
           if _as_number(scale) is None or not _as_number(scale) > 0}
    if bad:
        return Feedback(False, f"A scale must be a positive number; got {bad}.")
    changed = {layer: float(scale) for layer, scale in scales.items() if float(scale) != 1}
    if not changed:
        return Feedback(False, "You changed no tensor: every scale is 1, so this is notebook 1's "
                               "network, whose first cost is in the hundreds of thousands. Pick "
                               "one tensor and give it a scale below 1.")
    if len(changed) > 1:
        return Feedback(False, f"You changed {len(changed)} tensors ({', '.join(changed)}). "
                               "Change exactly one: with zero biases, scaling any one tensor "
                               "by c already scales the logits by c.")
    learning_rate = _as_number(learning_rate)
    if learning_rate is None or not learning_rate > 0:
        return Feedback(False, "The learning rate must be a positive number.")
    (layer, scale), = changed.items()
    network = _one_tensor_network(layer, scale, seed)
    if data is None:
        from .data import load_mnist

        data = load_mnist("subset", seed=seed)
    first = _first_cost(network, data)
    if not math.isfinite(first) or first > ONE_TENSOR_START:
        return Feedback(False, f"{layer} x {scale:g}: the first cost is still {first:.3g}, not "
                               "about ln 10 = 2.30. The logits are still huge, so softmax is "
                               f"still certain: a scale of {scale:g} is not small enough. Scaling "
                               "one tensor by c scales the logits by c, and they start near 1e6.")
    costs, accuracies, diverged_at = _train_one_tensor(network, data, learning_rate)
    what = f"{layer} x {scale:g} at learning rate {learning_rate:g}"
    if diverged_at is not None:
        return Feedback(False, f"{what}: the first cost is {first:.3g}, good, but the cost went "
                               f"to NaN or inf at step {diverged_at}: too large a step. Lower the "
                               "learning rate.")
    spike = max(range(1, len(costs)), key=lambda step: costs[step])
    if costs[spike] > ONE_TENSOR_SPIKE:
        return Feedback(False, f"{what}: the first cost is {first:.3g}, good, but at step {spike} "
                               f"the cost jumped to {costs[spike]:.3g}: each step is far too "
                               "large for a tensor this small. Lower the learning rate.")
    last = sum(costs[-5:]) / 5
    accuracy = sum(accuracies[-5:]) / 5
    if last >= first:
        return Feedback(False, f"{what}: the cost rose from {first:.3g} to {last:.3g} (mean of "
                               f"the last 5 steps), peaking at {costs[spike]:.3g}: the steps "
                               "overshoot. Lower the learning rate.")
    if last >= ONE_TENSOR_TARGET and costs[spike] > first + 1:
        return Feedback(False, f"{what}: the cost went from {first:.3g} up to {costs[spike]:.3g} "
                               f"(step {spike}) and ended at {last:.3g} (mean of the last 5 "
                               f"steps), above {ONE_TENSOR_TARGET}: the steps overshoot for this "
                               "tensor. Lower the learning rate, or try another tensor.")
    if last >= ONE_TENSOR_TARGET:
        return Feedback(False, f"{what}: the cost went from {first:.3g} to {last:.3g} (mean of "
                               f"the last 5 steps), still above {ONE_TENSOR_TARGET}: it learns "
                               "too slowly. Raise the learning rate, or try another tensor: "
                               "they do not all train alike.")
    return Feedback(True, f"{what}: the cost went from {first:.3g} (ln 10 = 2.30) to {last:.3g} "
                          f"in {ONE_TENSOR_STEPS} steps (mean of the last 5), with batch accuracy "
                          f"{100 * accuracy:.0f} %. One tensor's scale fixed the logits' size; "
                          "the learning rate then had to match the smaller weights.")


def _one_tensor_network(layer, scale, seed):
    """Notebook 1's seed-``seed`` N(0, 1) network with ``layer``'s weights times ``scale``."""
    import tensorflow as tf

    from .experiments import EXPERIMENTS as POST_EXPERIMENTS
    from .network import ConvNet

    weights = POST_EXPERIMENTS["large"].create_weights(seed)
    weights[layer] = tf.Variable(weights[layer] * scale)
    return ConvNet.from_weights(weights)


def _first_cost(network, data):
    """The cost of the first training batch (the batch of step 0), before any update."""
    from .network import cost_and_outputs

    cost, _ = cost_and_outputs(network.parameters, data.train_images[:100],
                               data.train_labels[:100], network.activation)
    return float(cost)


def _train_one_tensor(network, data, learning_rate):
    """Training-batch costs and accuracies of every step, and the step that diverged (or None)."""
    from .training import train

    history = train(network, data.train_images, data.train_labels, learning_rate,
                    ONE_TENSOR_STEPS, record_every=1, progress=False)
    return history.costs, history.accuracies, history.diverged_at


EXPERIMENTS["one_tensor_scale"] = (
    'scales = {"layer1": 1, "layer2": 1, "layer3": 1, "layer4": 1e-6, "layer5": 1}\n'
    "learning_rate = 1e-10\n"
    "check_one_tensor_scale(scales, learning_rate)\n\n"
    "# Why: with zero biases, scaling one tensor by c scales the logits by c. They start near\n"
    "# 1e6, so c = 1e-6 brings them near 1 and the first cost to about ln 10. That tensor's\n"
    "# gradient does not shrink with it, so at 1e-7 each step moves it far past its own size\n"
    "# and the cost jumps: a rate about a thousand times smaller trains it.\n"
)
