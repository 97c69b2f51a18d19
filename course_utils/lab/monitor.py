"""A training dashboard: per-layer statistics recorded while the network trains.

What a practitioner watches between initialization and the end of training (CS231n's notes,
Karpathy's "makemore part 3"): at every recorded step, on the batch the network is about to
train on,

- ``activation_std``: the spread (:func:`course_utils.core.stats.spread`, the std of the finite
  values) of each conv layer's pre-activation ``layerN_conv`` (with BatchNorm, of ``layerN_bn``,
  what the ReLU sees);
- ``dead``: the fraction of each conv layer's channels that are ``<= 0`` at every position of
  every image of the batch (:func:`course_utils.lab.diagnostics.dead_fraction`, ``"channel"``);
- ``overconfident``: the fraction of the batch's images whose softmax gives one class more than
  :data:`OVERCONFIDENT_PROBABILITY` (the over-confidence of the post's large weights); NaN
  once a prediction is inf or NaN;
- ``gradient_std``: the spread of the cost's gradient for each weight tensor layer1..layer5;
- ``update_ratio``: :func:`course_utils.lab.diagnostics.update_ratio` per weight tensor,
  ``learning_rate * std(gradient) / std(weights)``: how far one step of plain gradient descent
  moves a tensor, measured against the spread of the tensor itself. CS231n's rule of thumb:
  about 1e-3 (log10 about -3) when a layer learns well.

The measurement runs the network as it is built: its activation (ReLU or tanh) and, with
BatchNorm, its normalization (the spreads and dead channels are then those of ``layerN_bn``).

Turn it on for any training with ``train``'s callback::

    recorder = Recorder(network, images, labels, learning_rate)   # measures step 0 now
    history = train(network, images, labels, learning_rate, steps, record_every=10,
                    callback=recorder)
    recorder.series("update_ratio")   # {"layer1": array over recorder.steps, ...}

The measurement is one extra forward and backward pass on the batch, without an update, in a
compiled function that hands back only the scalars. Recording every 10 steps adds one such
pass per 10 training steps, plus a compiled call per 10 steps instead of per 100: about 15 %
more training time (``python benchmarks/run.py --monitor-only`` measures it; target 20 %).
"""

import numpy as np
import tensorflow as tf

from ..core.arguments import valid_choice, valid_count, valid_data, valid_positive
from ..core.network import (
    CONV_WEIGHT_NAMES,
    WEIGHT_SHAPES,
    cost_outputs_and_gradients,
    relu_inputs,
)
from ..core.stats import even_subsample, spread
from ..core.training import batch_offset
from .diagnostics import dead_fraction, update_ratio

OVERCONFIDENT_PROBABILITY = 0.99
LAYER_FIELDS = ("gradient_std", "update_ratio")  # per weight tensor layer1..layer5
CONV_FIELDS = ("activation_std", "dead")  # per conv layer layer1..layer4
FIELDS = LAYER_FIELDS + CONV_FIELDS + ("overconfident", "cost")
MAX_HISTOGRAM_VALUES = 20_000  # gradient values kept per tensor and record, with histograms=True


class Recorder:
    """Per-layer statistics at the recorded steps of a training run (see the module docstring).

    Creating it measures the network as it is at ``start_step``. Pass it as ``train``'s
    ``callback`` (with the same images, labels, batch size and learning rate) and it measures
    again at every recorded step, on the batch of the step about to run (``train``'s own check
    stops a run at an inf or NaN cost).

    With ``histograms=True`` it also keeps an even subsample of every gradient tensor at each
    record (for TensorBoard: :func:`course_utils.views.tensorboard.write_monitor`).
    """

    def __init__(self, network, images, labels, learning_rate, batch_size=100, start_step=0,
                 histograms=False):
        self.network = network
        self.batch_size = valid_count("batch_size", batch_size, minimum=1)
        self.images, self.labels = valid_data(images, labels, self.batch_size)
        self.learning_rate = valid_positive("learning_rate", learning_rate)
        self.histograms = histograms
        self.steps = []
        self.records = []  # one dict per recorded step: {field: {name: value}} or {field: value}
        self.gradient_samples = []  # with histograms=True: {layer: 1-D array} per record
        self.record(start_step)

    def __call__(self, step, history=None):
        """``train``'s callback: record at ``step`` (it never stops the run)."""
        if self.steps and self.steps[-1] == step:
            return False  # the end of a run that finished on a recorded step: measured already
        self.record(step)
        return False

    def batch(self, step):
        """The images and labels that ``train`` uses at ``step``."""
        offset = batch_offset(step, self.batch_size, len(self.labels))
        rows = slice(offset, offset + self.batch_size)
        return self.images[rows], self.labels[rows]

    def record(self, step):
        """Measure the network now, on the batch of ``step``; append and return the record."""
        images, labels = self.batch(step)
        parameters = self.network.parameters
        values = _measure(parameters, tf.constant(images), tf.constant(labels),
                          tf.constant(self.learning_rate), self.network.activation,
                          self.histograms)
        values = {key: value.numpy() for key, value in values.items()}
        record = {
            "gradient_std": dict(zip(WEIGHT_SHAPES, values["gradient_std"].tolist())),
            "update_ratio": dict(zip(WEIGHT_SHAPES, values["update_ratio"].tolist())),
            "activation_std": dict(zip(CONV_WEIGHT_NAMES, values["activation_std"].tolist())),
            "dead": dict(zip(CONV_WEIGHT_NAMES, values["dead"].tolist())),
            "overconfident": float(values["overconfident"]),
            "cost": float(values["cost"]),
        }
        if self.histograms:
            self.gradient_samples.append({
                layer: even_subsample(values[f"gradient_{layer}"], MAX_HISTOGRAM_VALUES)
                for layer in WEIGHT_SHAPES
            })
        self.steps.append(int(step))
        self.records.append(record)
        return record

    def series(self, field):
        """``{name: array over self.steps}`` for a per-layer field, or one array for
        ``"overconfident"`` and ``"cost"``."""
        valid_choice("field", field, FIELDS)
        if field in ("overconfident", "cost"):
            return np.array([record[field] for record in self.records])
        names = WEIGHT_SHAPES if field in LAYER_FIELDS else CONV_WEIGHT_NAMES
        return {name: np.array([record[field][name] for record in self.records])
                for name in names}


@tf.function(reduce_retracing=True)
def _measure(parameters, images, labels, learning_rate, activation, keep_gradients):
    """Every statistic of one record, computed in one compiled call (scalars come back)."""
    weights = parameters[: len(WEIGHT_SHAPES)]
    cost, outputs, gradients = cost_outputs_and_gradients(parameters, images, labels, activation)
    seen = relu_inputs(outputs).values()  # what each ReLU receives
    values = {
        "cost": cost,
        "gradient_std": tf.stack([spread(gradient) for gradient in gradients]),
        "update_ratio": tf.stack([update_ratio(learning_rate, gradient, variable)
                                  for gradient, variable in zip(gradients, weights)]),
        "activation_std": tf.stack([spread(value) for value in seen]),
        "dead": tf.stack([dead_fraction(value, "channel") for value in seen]),
        "overconfident": _overconfident(outputs["predictions"]),
    }
    if keep_gradients:
        for layer, gradient in zip(WEIGHT_SHAPES, gradients):
            values[f"gradient_{layer}"] = gradient
    return values


def _overconfident(predictions):
    """The share of images given over OVERCONFIDENT_PROBABILITY on one class; NaN once any
    prediction is inf or NaN (a diverged network predicts nothing)."""
    share = tf.reduce_mean(tf.cast(
        tf.reduce_max(predictions, axis=1) > OVERCONFIDENT_PROBABILITY, tf.float32))
    finite = tf.reduce_all(tf.math.is_finite(predictions))
    return tf.where(finite, share, tf.constant(float("nan")))


def plot_dashboard(recorders, field="update_ratio", title=None, axes=None, reference=1e-3,
                   diverged=None, titles=True, last_step=None):
    """log10 of a per-layer ``field`` over steps, one line per layer, one panel per run.

    ``recorders`` is ``{label: Recorder}``. For the update ratio a dashed line marks CS231n's
    1e-3 (``reference=None`` for none). ``diverged`` (optional) is ``{label: step}`` for runs
    whose cost became inf or NaN: a red dotted vertical line marks that step. ``titles=False``
    leaves the panels untitled (for a second row under titled ones); ``last_step`` sets the
    right end of every x-axis (by default the largest recorded or diverged step). Returns the
    figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        fig, axes = plt.subplots(1, len(recorders), figsize=(3.6 * len(recorders), 3.2),
                                 sharey=True, layout="constrained", squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    diverged = {} if diverged is None else diverged
    labels = {"update_ratio": "log10(lr * std(grad) / std(w))",
              "gradient_std": "log10 std(gradient)",
              "activation_std": "log10 std(pre-activation)"}
    if last_step is None:
        last_step = max([max(recorder.steps) for recorder in recorders.values()]
                        + [step for step in diverged.values() if step is not None])
    for ax, (label, recorder) in zip(axes, recorders.items()):
        for name, values in recorder.series(field).items():
            with np.errstate(divide="ignore", invalid="ignore"):
                ax.plot(recorder.steps, np.log10(values), "o-", markersize=4, label=name)
        if reference is not None and field == "update_ratio":
            ax.axhline(np.log10(reference), color="black", linestyle="--", linewidth=1)
        if diverged.get(label) is not None:
            ax.axvline(diverged[label], color="red", linestyle=":", linewidth=1.5,
                       label=f"cost inf/NaN (step {diverged[label]})")
            ax.legend(fontsize=7, loc="best")
        ax.set_xlim(-0.05 * max(last_step, 1), 1.05 * max(last_step, 1))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="training step")
        if titles:
            ax.set_title(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(labels.get(field, f"log10 {field}"))
    if axes[-1].get_legend() is None:
        axes[-1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    return fig
