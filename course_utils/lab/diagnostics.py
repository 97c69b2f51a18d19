"""Two health measures of a network: how far a training step moves its weights, and how many
ReLUs never fire.

Update ratio. Gradient descent moves each weight tensor by ``learning_rate * gradient``. What
matters is that step measured against the weights themselves: the *update ratio*
``learning_rate * std(gradient) / std(weights)``, the one definition the whole course uses
(the training dashboard of :mod:`course_utils.lab.monitor` records it too). CS231n's rule of thumb:
around 1e-3 per step a layer learns; far below it the layer is frozen; far above it the step
overshoots.

Dead ReLUs. A ReLU passes ``max(0, z)`` and has gradient 0 wherever ``z <= 0``. A unit whose
pre-activation is ``<= 0`` for every image never passes anything forward and never gets a gradient
back: it is dead. Two ways to count, both on the pre-ReLU outputs ``layerN_conv``:

- ``unit="channel"``: a channel (one filter) is dead if it is ``<= 0`` at every position of every
  image of the batch. A dead filter is a wasted filter.
- ``unit="neuron"``: one channel at one position. This also counts positions that only ever see
  blank background: MNIST's borders are 0 in every image, so with zero biases the conv outputs
  there are exactly 0, whatever the weights.
"""

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from ..core.arguments import valid_choice, valid_data
from ..core.network import CONV_LAYERS, WEIGHT_SHAPES, cost_outputs_and_gradients
from ..core.stats import spread

UNITS = ("channel", "neuron")


def update_ratio(learning_rate, gradient, weights):
    """``learning_rate * std(gradient) / std(weights)`` as a float64 scalar tensor.

    How far one step of plain gradient descent moves a tensor, against the tensor's own spread
    (inf where the weights are constant). Both spreads are :func:`course_utils.core.stats.spread`.
    Takes tensors or NumPy arrays, inside a compiled function or not.
    """
    gradient_spread = spread(tf.convert_to_tensor(gradient))
    weight_spread = spread(tf.convert_to_tensor(weights))
    return tf.cast(learning_rate, tf.float64) * gradient_spread / weight_spread


def dead_fraction(values, unit="channel"):
    """The fraction of dead units of one conv layer's ``(images, height, width, channels)``
    pre-ReLU values, as a float32 scalar tensor (see the module docstring for ``unit``).

    NaN if a value is inf or NaN (a diverged network): "dead" would be misleading there.
    """
    valid_choice("unit", unit, UNITS)
    if len(values.shape) != 4:
        raise ValueError(f"values must have shape (images, height, width, channels), "
                         f"got {tuple(values.shape)}")
    fires = tf.reduce_any(values > 0, axis=(0, 1, 2) if unit == "channel" else 0)
    fraction = 1.0 - tf.reduce_mean(tf.cast(fires, tf.float32))
    return tf.where(tf.reduce_all(tf.math.is_finite(values)), fraction, float("nan"))


def weight_gradients(network, images, labels):
    """``{"layer1": gradient, ..., "layer5": gradient}`` of the mean cross-entropy on one batch."""
    images, labels = valid_data(images, labels)
    gradients = _weight_gradients(network.parameters, images, labels, network.activation)
    return dict(zip(WEIGHT_SHAPES, gradients))


# Compiled, for memory: on 100 images the eager version raised a process's peak by 0.23 GB, this
# one by 0.12 GB (a graph drops outputs nothing needs, such as the softmax, and frees each tensor
# after its last use). The variables are arguments, so one trace serves every network.
@tf.function(reduce_retracing=True)
def _weight_gradients(parameters, images, labels, activation):
    return cost_outputs_and_gradients(parameters, images, labels, activation)[2]


def gradient_report(network, images, labels, learning_rate):
    """Per weight tensor: the spread of its gradient and of its weights, and the update ratio.

    Returns ``{layer: {"gradient_std": std(g), "weight_std": std(w), "update_ratio":
    lr * std(g) / std(w)}}`` for layer1..layer5, as floats.
    """
    report = {}
    for layer, gradient in weight_gradients(network, images, labels).items():
        weights = network.weights[layer]
        report[layer] = {
            "gradient_std": spread(gradient.numpy()),
            "weight_std": spread(weights.numpy()),
            "update_ratio": float(update_ratio(learning_rate, gradient, weights)),
        }
    return report


def dead_fractions(outputs, unit="channel"):
    """``{layerN_conv: fraction of dead units}`` for the four conv layers (see module docstring).

    ``outputs`` holds the pre-ReLU outputs for a batch, as ``ConvNet.outputs`` returns them.
    A layer with inf or NaN outputs (a diverged network) gets NaN.
    """
    return {name: float(dead_fraction(outputs[name], unit)) for name in CONV_LAYERS}


def plot_gradient_report(reports, field="update_ratio", title=None):
    """One line per run across layer1..layer5, log scale; ``field`` picks what to plot."""
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    layers = list(WEIGHT_SHAPES)
    for label, report in reports.items():
        ax.plot(layers, [report[layer][field] for layer in layers], "o-", label=label)
    ax.set_yscale("log")
    ax.set(xlabel="weight tensor", ylabel=f"{field.replace('_', ' ')} (log scale)",
           title=title or field.replace("_", " "))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_dead_fractions(fractions_by_run, title=None):
    """Grouped bars: the dead fraction of each conv layer, one colour per run."""
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    width = 0.8 / max(len(fractions_by_run), 1)
    positions = np.arange(len(CONV_LAYERS))
    for index, (label, fractions) in enumerate(fractions_by_run.items()):
        heights = [100 * fractions[name] for name in CONV_LAYERS]
        ax.bar(positions + index * width, heights, width, label=label)
    ax.set_xticks(positions + width * (len(fractions_by_run) - 1) / 2, CONV_LAYERS)
    ax.set(xlabel="layer", ylabel="dead units (%)", ylim=(0, 100),
           title=title or "Units that never fire")
    ax.legend(fontsize=8)
    return fig
