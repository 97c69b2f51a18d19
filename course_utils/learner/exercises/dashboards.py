"""Mystery training dashboards (notebook 8): name what went wrong in each run from its
dashboard."""

from .feedback import Feedback, read_name

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
                        "falls, and only layer5's update ratio is high while layers 1 to 4 start "
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
    text = read_name(answer)
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

    from ...core.network import ConvNet
    from ...core.training import train
    from ...lab.experiments import EXPERIMENTS
    from ...lab.monitor import Recorder

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


SOLUTION = (
    "check_dashboards({\n"
    '    "A": "x0.01 last layer",  # conv spreads He\'s, cost from ln 10 and falling, layer5 high\n'
    '    "B": "rate too high",     # fine at step 0, ratios >= 1e-1, then it blows up\n'
    '    "C": "dead layer1",       # layer1 100 % dead, every update ratio exactly 0\n'
    '    "D": "x0.01 everywhere",  # spreads 1e-2 .. 1e-4, ratios ~1e-6, cost flat at ln 10\n'
    '    "E": "pixels 0-255",      # flat spreads of about 100, over-confident at step 0\n'
    "})\n"
)
