"""The pictures of the lesson: layer histograms, logits and predictions, training curves.

Every function returns a matplotlib Figure (and draws into ``axes`` you pass, where it takes
them), so a notebook can show it, save it, or redraw it in place.
"""

import math

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator, ScalarFormatter
import numpy as np

from ..core.arguments import valid_choice, valid_count
from ..core.network import CONV_LAYERS
from ..core.stats import finite_values, format_number, spread

SCALES = ("common", "per-layer")


def plot_digits(images, labels, count=10, title=None):
    """The first ``count`` images in a row, each titled with its label."""
    fig, axes = plt.subplots(1, count, figsize=(1.1 * count, 1.5), layout="constrained")
    for ax, image, label in zip(np.atleast_1d(axes), images[:count], labels[:count]):
        ax.imshow(np.asarray(image)[:, :, 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(str(label), fontsize=10)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_layer_histograms(outputs, scale="common", bins=60, title=None, axes=None):
    """Histograms of layer1_conv..layer4_conv side by side (pre-ReLU outputs).

    ``scale="common"`` puts every panel on one x-range (the widest layer's), so growth or decay
    with depth is plain to see; ``"per-layer"`` gives each panel its own range to show its shape,
    as TensorBoard does (the post's complaint: there the scales differ silently). Each panel's
    title gives the layer's standard deviation. inf and NaN values are left out and counted.
    """
    valid_choice("histogram scale", scale, SCALES)
    values = {name: finite_values(outputs[name]) for name in CONV_LAYERS}
    common = max(symmetric_limit(finite) for finite in values.values())
    if axes is None:
        fig, axes = plt.subplots(1, len(CONV_LAYERS), figsize=(13, 2.8), layout="constrained")
    else:
        fig = axes[0].figure
    for ax, name in zip(axes, CONV_LAYERS):
        finite = values[name]
        limit = common if scale == "common" else symmetric_limit(finite)
        ax.clear()
        # one filled outline instead of a patch per bar: several times faster to draw
        ax.hist(finite, bins=np.linspace(-limit, limit, bins + 1), histtype="stepfilled",
                color="tab:blue")
        ax.set_xlim(-limit, limit)
        ax.set_xlabel("output value")
        std = format_number(spread(finite))
        dropped = np.size(outputs[name]) - finite.size
        note = f", {dropped} inf/NaN" if dropped else ""
        ax.set_title(f"{name}\nstd {std}{note}", fontsize=10)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
    axes[0].set_ylabel("number of outputs")
    label = "one common x-scale" if scale == "common" else "x-scale per layer"
    fig.suptitle(title or f"Pre-ReLU outputs ({label})", fontsize=11)
    return fig


def plot_logits_and_predictions(outputs, images=None, count=8, title=None, axes=None):
    """Logits and softmax predictions of the first ``count`` images, one row per image.

    Over-confidence shows as rows of one 1.00 and nine 0.00; uniformity as rows of 0.10.
    """
    valid_count("count", count, minimum=1)
    logits = np.asarray(outputs["logits"])[:count]
    predictions = np.asarray(outputs["predictions"])[:count]
    with_images = images is not None
    redraw = axes is not None
    if axes is None:
        widths = ([1] if with_images else []) + [5, 5]
        fig, axes = plt.subplots(
            1, len(widths), figsize=(12, 0.42 * len(logits) + 1.6),
            width_ratios=widths, layout="constrained",
        )
    else:
        fig = axes[0].figure
    axes = list(axes)
    if with_images:
        strip = np.concatenate(np.asarray(images)[: len(logits), :, :, 0], axis=0)
        axes[0].clear()
        axes[0].imshow(strip, cmap="gray_r", aspect="auto")
        axes[0].set_title("digit", fontsize=10)
        axes[0].axis("off")
        axes = axes[1:]
    limit = symmetric_limit(finite_values(logits))
    logits_image = _heatmap(axes[0], logits, "RdBu_r", -limit, limit,
                            f"logits (colour range +-{format_number(limit)})")
    predictions_image = _heatmap(axes[1], predictions, "viridis", 0.0, 1.0,
                                 "predictions = softmax(logits)")
    if not redraw:  # a figure of our own: colourbars (a redraw into given axes keeps its own)
        fig.colorbar(logits_image, ax=axes[0], label="logit value")
        fig.colorbar(predictions_image, ax=axes[1], label="probability")
    for row in range(predictions.shape[0]):
        for digit in range(predictions.shape[1]):
            value = predictions[row, digit]
            colour = "black" if value > 0.5 else "white"
            axes[1].text(digit, row, f"{value:.2f}", ha="center", va="center",
                         fontsize=7, color=colour)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_history(histories, title=None, axes=None):
    """Training-batch cost and accuracy against step, one line per named run.

    ``histories`` maps a label to a :class:`~course_utils.core.training.History`. The cost axis is
    logarithmic when the costs span more than a factor of 10, linear (with full digits, so that
    a cost stuck at ln 10 reads as 2.3026) otherwise.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), layout="constrained")
    cost_ax, accuracy_ax = axes
    fig = cost_ax.figure
    cost_ax.clear()
    accuracy_ax.clear()
    for label, history in histories.items():
        costs = np.asarray(history.costs, dtype=float)
        cost_ax.plot(history.steps, np.where(np.isfinite(costs), costs, np.nan), ".-", label=label)
        accuracy_ax.plot(history.steps, 100 * np.asarray(history.accuracies), ".-", label=label)
    finite = np.concatenate([np.asarray(h.costs, dtype=float) for h in histories.values()]
                            or [np.empty(0)])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    log_scale = finite.size > 0 and finite.max() > 10 * finite.min()
    cost_ax.axhline(math.log(10), color="gray", linestyle=":", label="ln 10")
    if log_scale:
        cost_ax.set_yscale("log")
    else:
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        cost_ax.yaxis.set_major_formatter(formatter)
        cost_ax.yaxis.set_major_locator(MaxNLocator(5))
    scale = "log scale" if log_scale else "linear scale"
    cost_ax.set(xlabel="step", ylabel=f"training-batch cost ({scale})", title="cost")
    accuracy_ax.axhline(10, color="gray", linestyle=":", label="chance")
    accuracy_ax.set(xlabel="step", ylabel="training-batch accuracy (%)", ylim=(0, 100),
                    title="accuracy")
    for ax in (cost_ax, accuracy_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_std_by_layer(stats_by_run, names=CONV_LAYERS + ("logits",), title=None):
    """Standard deviation of each named output on a log scale, one line per run."""
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for label, stats in stats_by_run.items():
        ax.plot(names, [stats[name]["std"] for name in names], "o-", label=label)
    ax.set_yscale("log")
    ax.set(xlabel="named output (network depth increases to the right)",
           ylabel="std of the outputs (log scale)", title=title or "Spread of each layer's outputs")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _heatmap(ax, values, cmap, vmin, vmax, title):
    ax.clear()
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]), [f"image {i}" for i in range(values.shape[0])])
    ax.set_xlabel("digit")
    ax.set_title(title, fontsize=10)
    return image


def symmetric_limit(values):
    """Half-width of a range centred on 0 that covers ``values`` (1 for empty or all-zero)."""
    if values.size == 0:
        return 1.0
    limit = float(np.max(np.abs(values)))
    return limit if limit > 0 else 1.0
