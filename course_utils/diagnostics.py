"""Two health checks of a network: how large its gradients are, and how many ReLUs never fire.

Gradients. Gradient descent moves each weight tensor by ``learning_rate * gradient``. What matters
is that step measured against the weights themselves: the *relative update*
``learning_rate * |gradient| / |weights|`` (|.| the L2 norm of the whole tensor). Around 1e-3 per
step a layer learns; far below it the layer is frozen; far above it the step overshoots.

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

from .checks import check_choice
from .network import CONV_LAYERS, WEIGHT_SHAPES, forward_pass

UNITS = ("channel", "neuron")


def weight_gradients(network, images, labels):
    """``{"layer1": gradient, ..., "layer5": gradient}`` of the mean cross-entropy on one batch."""
    labels = tf.convert_to_tensor(np.asarray(labels), dtype=tf.int32)
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    return dict(_weight_gradients(network.weights, network.biases, network.norms, images, labels,
                                  network.activation))


# Compiled, for memory: on 100 images the eager version raised a process's peak by 0.23 GB, this
# one by 0.12 GB (a graph drops outputs nothing needs, such as the softmax, and frees each tensor
# after its last use). The variables are arguments, so one trace serves every network.
@tf.function(reduce_retracing=True)
def _weight_gradients(weights, biases, norms, images, labels, activation):
    with tf.GradientTape() as tape:
        logits = forward_pass(weights, biases, images, activation=activation, norms=norms)["logits"]
        cost = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    return tape.gradient(cost, weights)


def gradient_report(network, images, labels, learning_rate):
    """Per weight tensor: the gradient's norm, the weights' norm and the relative update.

    Returns ``{layer: {"gradient": |g|, "weights": |w|, "relative_update": lr * |g| / |w|}}``
    for layer1..layer5 (norms are L2 norms of the whole tensor, as floats).
    """
    report = {}
    for layer, gradient in weight_gradients(network, images, labels).items():
        gradient_norm = float(tf.norm(gradient))
        weight_norm = float(tf.norm(network.weights[layer]))
        report[layer] = {
            "gradient": gradient_norm,
            "weights": weight_norm,
            "relative_update": learning_rate * gradient_norm / weight_norm,
        }
    return report


def dead_fractions(outputs, unit="channel"):
    """``{layerN_conv: fraction of dead units}`` for the four conv layers (see module docstring).

    ``outputs`` holds the pre-ReLU outputs for a batch, as ``ConvNet.outputs`` returns them.
    A layer with inf or NaN outputs (a diverged network) gets NaN: "dead" would be misleading.
    """
    check_choice("unit", unit, UNITS)
    fractions = {}
    for name in CONV_LAYERS:
        values = np.asarray(outputs[name])
        if values.ndim != 4:
            raise ValueError(f"{name} must have shape (images, height, width, channels), "
                             f"got {values.shape}")
        if not np.isfinite(values).all():
            fractions[name] = float("nan")
            continue
        fires = values > 0
        axes = (0, 1, 2) if unit == "channel" else 0
        fractions[name] = float(1.0 - fires.any(axis=axes).mean())
    return fractions


def plot_gradient_report(reports, field="relative_update", title=None):
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
