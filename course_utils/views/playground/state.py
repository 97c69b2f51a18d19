"""The playground's state: plain Python that tests drive without a widget.

:class:`PlaygroundState` holds the settings (a scheme and a scale per weight tensor, the
learning rate), a cache of unit-scale weight draws, the network those weights make, and the
outputs, statistics and verdict of a fixed batch of test digits. It trains a copy of its weights
through :func:`course_utils.core.training.train`.
:class:`course_utils.views.playground.Playground` is the view that builds the controls and
pictures on top of it.

Weights follow the course's one seed rule
(:func:`course_utils.core.initializers.layer_weights`), so a preset shows exactly the weights
``EXPERIMENTS[key].create_weights(seed)`` gives.

Every setter validates its arguments before it changes anything: a bad value raises ``TypeError``
or ``ValueError`` and leaves the state as it was. A new setting (an activation, say) is one
attribute, its check in a setter, and a call of :meth:`PlaygroundState._refresh`.
"""

import numpy as np
import tensorflow as tf

from ...core.arguments import valid_choice, valid_count, valid_positive
from ...core.initializers import SCHEMES, layer_weights
from ...core.network import ACTIVATIONS, CONV_LAYERS, WEIGHT_SHAPES, ConvNet
from ...core.stats import activation_stats, diagnosis_line, finite_values, spread
from ...core.training import train
from ...lab.experiments import EXPERIMENTS
from ..plots import symmetric_limit

LAYERS = tuple(WEIGHT_SHAPES)
PRESETS = {key: experiment.layers for key, experiment in EXPERIMENTS.items()}
DEFAULT_BATCH = 32
TRAIN_BATCH = 100  # images per gradient-descent step, as in the original


class PlaygroundState:
    """Settings -> weights -> outputs, statistics and verdict of a fixed batch of digits.

    ``data`` is an :class:`~course_utils.core.data.MnistData` (default: the offline subset); its
    first ``batch_size`` test digits are the batch, its training digits what :meth:`train` uses.
    ``layers`` is ``{layer: (scheme, scale)}``; ``activation`` the nonlinearity after each conv
    layer ("relu", the post's, or "tanh"); ``version`` counts the changes applied.
    """

    def __init__(self, data=None, seed=0, batch_size=DEFAULT_BATCH, preset="proper"):
        if data is None:
            from ...core.data import load_mnist

            data = load_mnist("subset")
        valid_choice("preset", preset, PRESETS)
        self.data, self.seed = data, valid_count("seed", seed, minimum=0)
        batch_size = valid_count("batch_size", batch_size, 1, maximum=len(data.test_images))
        self.images = tf.constant(data.test_images[:batch_size])
        self.layers = dict(PRESETS[preset])
        self.learning_rate = EXPERIMENTS[preset].learning_rate
        self.version = 0
        self._unit_weights = {}  # (layer, scheme) -> unit-scale tensor for self.seed
        self.network = ConvNet.from_weights({layer: self._weights(layer) for layer in LAYERS})
        self._forwards = {}  # activation -> compiled forward pass of self.network
        self._refresh(())

    def __repr__(self):
        return f"PlaygroundState(seed={self.seed}, batch={int(self.images.shape[0])} digits)"

    # ------------------------------------------------------------------------------- setters

    def set_layer(self, layer, scheme=None, scale=None):
        """Give ``layer`` a new scheme and/or scale (None keeps the current one)."""
        valid_choice("layer", layer, LAYERS)
        old_scheme, old_scale = self.layers[layer]
        self.set_layers({layer: (old_scheme if scheme is None else scheme,
                                 old_scale if scale is None else scale)})

    def set_layers(self, settings):
        """Apply ``{layer: (scheme, scale)}`` at once: all checked first, one forward pass."""
        for layer, (scheme, scale) in settings.items():
            valid_choice("layer", layer, LAYERS)
            valid_choice("initialization scheme", scheme, SCHEMES)
            valid_positive("scale", scale)
        changed = [layer for layer, value in settings.items() if self.layers[layer] != value]
        self.layers.update(settings)
        self._refresh(changed)

    def apply_preset(self, key):
        """Load one of the post's experiments ("large", "small", "proper") and its learning rate."""
        valid_choice("preset", key, PRESETS)
        self.set_layers(PRESETS[key])
        self.learning_rate = EXPERIMENTS[key].learning_rate

    @property
    def activation(self):
        """The nonlinearity after each conv layer: "relu" or "tanh"."""
        return self.network.activation

    def set_activation(self, activation):
        """Put ``activation`` ("relu" or "tanh") after every conv layer; the weights stay."""
        activation = valid_choice("activation", activation, ACTIVATIONS)
        if activation != self.network.activation:
            self.network.activation = activation
            self._refresh(())

    def set_learning_rate(self, rate):
        """The learning rate :meth:`train` uses by default (a finite number > 0)."""
        self.learning_rate = valid_positive("learning_rate", rate)

    # ------------------------------------------------------------------------------- readers

    def weights(self):
        """The five weight tensors as numpy arrays."""
        return {layer: self.network.weights[layer].numpy() for layer in LAYERS}

    def outputs(self):
        """The named outputs (numpy arrays) of the batch for the current weights."""
        return dict(self._outputs)

    def stats(self):
        """:func:`~course_utils.core.stats.activation_stats` of the current outputs (cached)."""
        if self._stats is None:
            self._stats = activation_stats(self._outputs)
        return self._stats

    def conv_values(self):
        """Per conv layer: its finite values, their std, half-width of their range, dropped."""
        return dict(self._conv_values)

    def verdict(self):
        """:func:`~course_utils.core.stats.diagnosis_line` (from the two stds it needs, cheaply)."""
        return diagnosis_line({name: {"std": self._conv_values[name]["std"]}
                        for name in ("layer1_conv", "layer4_conv")})

    def nonfinite_count(self):
        """How many outputs overflowed to inf or NaN."""
        return sum(int(np.size(v) - np.count_nonzero(np.isfinite(v)))
                   for v in self._outputs.values())

    # ------------------------------------------------------------------------------ training

    def check_training(self, steps, learning_rate=None):
        """``(steps, learning_rate)`` checked: an integer >= 1 and a finite number > 0."""
        rate = self.learning_rate if learning_rate is None else learning_rate
        return valid_count("steps", steps, minimum=1), valid_positive("learning_rate", rate)

    def train(self, steps, learning_rate=None, on_step=None):
        """Train a copy of the current weights for ``steps`` steps; return its History.

        The batches are the original's (100 training digits per step, in order), the cost and
        accuracy are recorded at every step, and the state's own weights do not change.
        ``on_step(step, history)`` is :func:`~course_utils.core.training.train`'s callback: called
        after every step with the number of the next one; returning True stops training.
        """
        steps, rate = self.check_training(steps, learning_rate)
        network = ConvNet.from_weights({layer: tf.identity(self.network.weights[layer])
                                        for layer in LAYERS}, activation=self.activation)
        return train(network, self.data.train_images, self.data.train_labels, rate, steps,
                     batch_size=TRAIN_BATCH, record_every=1, progress=False, callback=on_step)

    # ------------------------------------------------------------------------------ internals

    def _weights(self, layer):
        """The layer's weights: a cached unit-scale draw times the layer's scale."""
        scheme, scale = self.layers[layer]
        key = (layer, scheme)
        if key not in self._unit_weights:
            self._unit_weights[key] = layer_weights(
                scheme, WEIGHT_SHAPES.values(), LAYERS.index(layer), self.seed
            )
        return self._unit_weights[key] * scale

    def _refresh(self, layers):
        """Reassign the weights of ``layers``, then rerun the batch and its summaries."""
        for layer in layers:
            self.network.weights[layer].assign(self._weights(layer))
        activation = self.network.activation
        if activation not in self._forwards:  # the activation is fixed when a function is traced
            self._forwards[activation] = tf.function(self.network.forward)
        forward = self._forwards[activation]
        self._outputs = {name: value.numpy() for name, value in forward(self.images).items()}
        self._stats = None
        self._conv_values = {name: _summary(self._outputs[name]) for name in CONV_LAYERS}
        self.version += 1


def _summary(values):
    finite = finite_values(values)
    return {
        "values": finite,
        "std": spread(finite),
        "limit": symmetric_limit(finite),
        "dropped": int(np.size(values) - finite.size),
    }
