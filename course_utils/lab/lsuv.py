"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas, 2015, "All you need is a
good init").

Instead of a formula for the right scale, measure it: draw every weight tensor orthogonal, then,
from the first layer to the last, divide each layer's weights by the std its output has on one
batch of real images, until that std is 1. With zero biases and ReLU, a layer's output scales
exactly with its weights, so one pass already hits 1; the loop is there for activations where it
does not. Notebook 08 writes the same ten lines in plain sight and checks them against these.
"""

import tensorflow as tf

from ..core.network import CONV_LAYERS, WEIGHT_SHAPES, ConvNet
from ..core.stats import spread
from ..core.training import set_seed

OUTPUTS = dict(zip(WEIGHT_SHAPES, CONV_LAYERS + ("logits",)))  # the output each tensor scales


def lsuv_weights(images, seed=0, tolerance=0.01, max_rounds=10):
    """``{"layer1": tf.Variable, ..., "layer5": ...}``: orthogonal, then unit output std on
    ``images`` for ``layer1_conv`` .. ``layer4_conv`` and the logits, layer by layer."""
    set_seed(seed)
    weights = {layer: tf.Variable(tf.keras.initializers.Orthogonal(seed=seed + i)(shape))
               for i, (layer, shape) in enumerate(WEIGHT_SHAPES.items(), start=1)}
    network = ConvNet.from_weights(weights)
    for layer, output in OUTPUTS.items():
        for _ in range(max_rounds):
            std = spread(network.forward(images)[output].numpy())
            if abs(std - 1) < tolerance:
                break
            weights[layer].assign(weights[layer] / std)
    return weights
