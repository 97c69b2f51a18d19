"""Statistics of the network's named outputs, and the verdict they support.

The post reads its histograms by eye: layer1_conv within about [-1, 1], layer4_conv within about
[-20000, 20000]. Here the same reading is a number: the standard deviation of each layer's
outputs, and the ratio of layer4_conv's to layer1_conv's. A ratio far above 1 means the outputs
explode with depth, far below 1 that they vanish.
"""

import math

import numpy as np
import tensorflow as tf

from .arguments import valid_fraction

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
STAT_FIELDS = ("min", "max", "mean", "std") + tuple(f"p{q}" for q in PERCENTILES)
EXPLODING_RATIO = 10.0
VANISHING_RATIO = 0.1


def summarize(values):
    """min, max, mean, std and percentiles of the finite values, plus counts.

    ``nonfinite`` counts the inf and NaN entries (left out of the other fields); with no finite
    value at all, every field is NaN.
    """
    size = np.size(values)
    finite = finite_values(values)
    summary = {"count": int(size), "nonfinite": int(size - finite.size)}
    if finite.size == 0:
        summary.update({name: float("nan") for name in STAT_FIELDS})
        return summary
    summary.update(
        min=float(finite.min()),
        max=float(finite.max()),
        mean=float(finite.mean(dtype=np.float64)),
        std=spread(finite),
    )
    for q, value in zip(PERCENTILES, np.percentile(finite, PERCENTILES)):
        summary[f"p{q}"] = float(value)
    return summary


def spread(values):
    """The spread of ``values``: the standard deviation of their finite entries, accumulated in
    float64 (NaN if none is finite, exactly 0 for a constant array).

    The one measure of spread of the course: the statistics, the histograms' titles, the
    playground, the update ratio and the training dashboard all use it. inf and NaN entries are
    left out (count them with :func:`summarize`). NumPy arrays give a Python float; a TensorFlow
    tensor gives a float64 scalar tensor, computed by TensorFlow (so it also works inside a
    compiled ``tf.function``, where the values never leave the graph).
    """
    if isinstance(values, (tf.Tensor, tf.Variable)):
        return _tensor_spread(values)
    finite = finite_values(values)
    if finite.size == 0:
        return float("nan")
    if finite.min() == finite.max():  # numpy's two-pass std can leave rounding noise here
        return 0.0
    return _std(finite)


def finite_values(values):
    """The finite values, flattened: a view of ``values`` when every one is finite, else a copy.

    float32 stays float32 (the conv outputs of 100 images are 60 MB; copies of them add up).
    """
    values = np.asarray(values).ravel()
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]


def even_subsample(values, limit):
    """At most ``limit`` of the (flattened) ``values``, evenly spaced: every k-th, with k as small
    as the limit allows. A copy, so that it does not keep a large array alive."""
    values = np.asarray(values).ravel()
    stride = max(1, -(-values.size // limit))  # ceiling division
    return values[::stride].copy()


def _std(values, chunk=1 << 20):
    """Standard deviation accumulated in float64, a million values at a time (so that a float32
    layer output needs no float64 copy of itself)."""
    mean = values.mean(dtype=np.float64)
    squares = sum(np.square(values[start : start + chunk] - mean, dtype=np.float64).sum()
                  for start in range(0, values.size, chunk))
    return math.sqrt(squares / values.size)


def _tensor_spread(values):
    """:func:`spread` computed by TensorFlow: the same definition, in float64."""
    values = tf.reshape(tf.cast(values, tf.float64), [-1])
    finite = tf.math.is_finite(values)
    count = tf.reduce_sum(tf.cast(finite, tf.float64))
    values = tf.where(finite, values, tf.zeros_like(values))
    mean = tf.reduce_sum(values) / count
    squares = tf.reduce_sum(tf.where(finite, tf.square(values - mean), tf.zeros_like(values)))
    smallest = tf.reduce_min(tf.where(finite, values, tf.constant(float("inf"), tf.float64)))
    largest = tf.reduce_max(tf.where(finite, values, tf.constant(float("-inf"), tf.float64)))
    std = tf.where(smallest == largest, tf.constant(0.0, tf.float64), tf.sqrt(squares / count))
    return tf.where(count > 0, std, tf.constant(float("nan"), tf.float64))


def activation_stats(outputs):
    """``{name: summarize(values)}`` for every named output (e.g. from ``ConvNet.outputs``)."""
    return {name: summarize(values) for name, values in outputs.items()}


def std_ratio(stats, top="layer4_conv", bottom="layer1_conv"):
    """std of ``top`` divided by std of ``bottom`` (inf if the bottom is constant)."""
    top_std, bottom_std = stats[top]["std"], stats[bottom]["std"]
    if bottom_std == 0:
        return math.inf if top_std > 0 else math.nan
    return top_std / bottom_std


def diagnosis(stats):
    """``"exploding"``, ``"vanishing"`` or ``"healthy"`` (``"undefined"`` if both are constant).

    Exploding means layer4_conv spreads more than 10x wider than layer1_conv, vanishing less than
    a tenth as wide; in between the layers stay within an order of magnitude of each other.
    """
    ratio = std_ratio(stats)
    if math.isnan(ratio):
        return "undefined"
    if ratio > EXPLODING_RATIO:
        return "exploding"
    if ratio < VANISHING_RATIO:
        return "vanishing"
    return "healthy"


def diagnosis_line(stats):
    """One line: the :func:`diagnosis` with the layer4/layer1 std ratio that supports it."""
    kind = diagnosis(stats)
    if kind == "undefined":
        return "undefined: layer1_conv and layer4_conv are both constant (all-zero weights?)"
    return f"{kind}: layer4_conv std / layer1_conv std = {format_number(std_ratio(stats))}"


def format_number(value, digits=2):
    """A number rounded to ``digits`` significant figures, e.g. 0.0023, 1.5e+04, inf."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def format_stats_table(stats, fields=("min", "max", "mean", "std"), digits=3):
    """A plain-text table: one row per named output, one column per field."""
    width = max(len(name) for name in stats) + 2
    lines = [f"{'':<{width}}" + "".join(f"{field:>12}" for field in fields)]
    for name, summary in stats.items():
        cells = "".join(f"{format_number(summary[field], digits):>12}" for field in fields)
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)


SATURATION_THRESHOLD = 0.97


def saturation_fraction(pre_activations, threshold=SATURATION_THRESHOLD):
    """Fraction of the finite ``pre_activations`` z with ``|tanh(z)| > threshold``.

    Such a tanh unit is *saturated*: its output is pinned near -1 or +1 and its derivative
    ``1 - tanh(z)**2`` is below ``1 - threshold**2`` (0.059 for 0.97), so it passes back almost
    no gradient. NaN if there is no finite value.
    """
    valid_fraction("threshold", threshold)
    values = np.asarray(pre_activations).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    # |tanh(z)| > t  <=>  |z| > artanh(t): no tanh of millions of values needed
    return float(np.mean(np.abs(finite) > np.arctanh(threshold)))
