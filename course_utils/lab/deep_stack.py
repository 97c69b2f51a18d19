"""A deep stack of dense layers: how the spread travels through depth, measured and predicted.

The post's ConvNet has four ReLU layers: enough to see the trend, too few to see where it leads.
Here a plain stack of dense layers is fed a batch of inputs.

Measuring a stack, :func:`stack_spreads`. Layer ``l`` computes ``z_l = h_{l-1} @ W_l`` (zero
biases) and ``h_l = act(z_l)``; ``h_0`` is the input batch. The notebook creates the weight
matrices (their shapes set the widths, which may change from layer to layer); this module only
runs them and measures, in float64:

- forward: the standard deviation of each layer's pre-activations ``z_l``;
- backward: the standard deviation of the gradient ``dL/dz_l`` of each layer's pre-activations,
  for a loss whose gradient at the top is a seeded batch of N(0, 1) numbers (so the top layer's
  gradient has std 1 and every layer below shows what backpropagation makes of it);
- saturation: the fraction of units with ``|tanh(z_l)| > 0.97`` (see
  :func:`course_utils.core.stats.saturation_fraction`), whatever the activation.

The backward pass is written out: ``dL/dh_{l-1} = dL/dz_l @ W_l.T`` and
``dL/dz_{l-1} = dL/dh_{l-1} * act'(z_{l-1})``, with ``relu'(z) = 1 if z > 0 else 0`` and
``tanh'(z) = 1 - tanh(z)**2``.

Depth sweeps of the course's schemes, :func:`depth_sweep`: a stack of ``depth`` dense ReLU
layers, each ``width`` units wide and with zero biases, is fed a batch of N(0, 1) inputs, and the
standard deviation of every layer's pre-activations (before the ReLU) is measured.

The theory fits in one line. A pre-activation sums ``n = fan_in`` products ``w * x``. With weights
of variance ``Var(w)`` and inputs of mean square ``E[x**2]``, its variance is
``n * Var(w) * E[x**2]``. After a ReLU, half of a symmetric input is zeroed, so
``E[relu(z)**2] = Var(z) / 2``. Hence from one layer to the next the stddev is multiplied by

    per-layer factor = sqrt(n * Var(w) / 2)

- N(0, 1):          sqrt(n / 2)          (16 on 512 units: explodes)
- N(0, 1) x 0.01:   0.01 * sqrt(n / 2)   (0.16 on 512 units: vanishes)
- Xavier, in = out: sqrt(1 / 2)          (fades slowly: halves every two layers)
- He:               1                    (holds, however deep)
- PyTorch default:  sqrt(1 / 6) = 0.41   (Var(w) = 1 / (3 n): vanishes)

The products are computed in float64: in float32 (largest value about 3.4e38) the N(0, 1) stack
would overflow to inf after about 30 layers of 256 units, and the picture would stop there.
"""

from dataclasses import dataclass
import math

import matplotlib.pyplot as plt
import numpy as np

from ..core.arguments import valid_choice, valid_count
from ..core.initializers import initial_weights, weight_variance
from ..core.stats import saturation_fraction, spread
from .experiments import EXPERIMENTS

_FORWARD = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}
_DERIVATIVE = {"relu": lambda z: (z > 0).astype(z.dtype), "tanh": lambda z: 1.0 - np.tanh(z) ** 2}


@dataclass
class StackSpreads:
    """Per layer (index 0 is layer 1): the spread (:func:`course_utils.core.stats.spread`) of the
    pre-activations and of their gradients, and the fraction of saturated units."""

    forward_std: np.ndarray
    backward_std: np.ndarray
    saturation: np.ndarray


def stack_spreads(weights, inputs, activation="relu", seed=0):
    """Run ``inputs`` (batch, width_0) through dense ``weights`` [(width_0, width_1), ...]."""
    valid_choice("activation", activation, _FORWARD)
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim != 2:
        raise ValueError(f"inputs must have shape (batch, width), got {inputs.shape}")
    matrices = [np.asarray(w, dtype=np.float64) for w in weights]
    if not matrices:
        raise ValueError("weights must hold at least one matrix")
    width = inputs.shape[1]
    for index, matrix in enumerate(matrices, start=1):
        if matrix.ndim != 2 or matrix.shape[0] != width:
            raise ValueError(f"layer {index}'s weights must have shape ({width}, n), "
                             f"got {matrix.shape}")
        width = matrix.shape[1]
    forward, derivative = _FORWARD[activation], _DERIVATIVE[activation]
    pre_activations, hidden = [], inputs
    for matrix in matrices:
        pre_activations.append(hidden @ matrix)
        hidden = forward(pre_activations[-1])
    gradient = np.random.default_rng(seed).standard_normal(pre_activations[-1].shape)
    backward = [spread(gradient)]
    for matrix, below in zip(matrices[:0:-1], pre_activations[-2::-1]):
        gradient = (gradient @ matrix.T) * derivative(below)
        backward.append(spread(gradient))
    return StackSpreads(
        forward_std=np.array([spread(z) for z in pre_activations]),
        backward_std=np.array(backward[::-1]),
        saturation=np.array([saturation_fraction(z) for z in pre_activations]),
    )


# key -> (label, scheme of course_utils.core.initializers, scale): the ReLU layers' recipes of
# the post's experiments (the table in course_utils.lab.experiments), plus Xavier on ReLU layers
# (Keras's default for Dense and Conv2D) and PyTorch's default for Linear and Conv2d.
DEPTH_SCHEMES = {
    "normal": (EXPERIMENTS["large"].label, *EXPERIMENTS["large"].layers["layer1"]),
    "small": (EXPERIMENTS["small"].label, *EXPERIMENTS["small"].layers["layer1"]),
    "xavier": ("Xavier / Glorot", *EXPERIMENTS["proper"].layers["layer5"]),
    "he": ("He", *EXPERIMENTS["proper"].layers["layer1"]),
    "torch_default": ("PyTorch default", "torch_default", 1.0),
}


@dataclass
class DepthSweep:
    """The stddev of each layer's pre-activations: measured, and what the formula predicts.

    Index 0 is layer 1. ``layer_factor`` is the predicted factor from one layer to the next.
    """

    key: str
    label: str
    width: int
    measured_std: np.ndarray
    predicted_std: np.ndarray
    layer_factor: float

    @property
    def growth(self):
        """measured std of the last layer divided by that of the first."""
        return float(self.measured_std[-1] / self.measured_std[0])


def relu_layer_factor(key, width):
    """Predicted factor by which the pre-activation stddev grows per ReLU layer of ``width``."""
    valid_choice("scheme", key, DEPTH_SCHEMES)
    _label, scheme, scale = DEPTH_SCHEMES[key]
    return math.sqrt(width * weight_variance(scheme, (width, width), scale) / 2.0)


def depth_sweep(key, depth=30, width=256, batch_size=256, seed=0):
    """Measure and predict the pre-activation stddev of ``depth`` dense ReLU layers.

    ``key`` is one of :data:`DEPTH_SCHEMES`. The weights of layer ``l`` are drawn with
    :func:`~course_utils.core.initializers.initial_weights` (seed ``seed + l``); the inputs are a
    seeded batch of N(0, 1) vectors, shared by all schemes.
    """
    valid_choice("scheme", key, DEPTH_SCHEMES)
    for name, value in (("depth", depth), ("width", width), ("batch_size", batch_size)):
        valid_count(name, value, minimum=1)
    seed = valid_count("seed", seed)
    label, scheme, scale = DEPTH_SCHEMES[key]
    inputs = np.random.default_rng(seed).standard_normal((batch_size, width))
    weights = [initial_weights(scheme, (width, width), scale=scale, seed=seed + layer)
               for layer in range(1, depth + 1)]
    measured = stack_spreads(weights, inputs, "relu").forward_std
    layer_factor = relu_layer_factor(key, width)
    first = math.sqrt(width * weight_variance(scheme, (width, width), scale) * np.mean(inputs**2))
    predicted = first * layer_factor ** np.arange(depth)
    return DepthSweep(key, label, width, measured, predicted, layer_factor)


def plot_depth_sweep(sweeps, title=None):
    """Measured std per layer (dots) and predicted (dashes), log scale, one colour per scheme."""
    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    for sweep, colour in zip(sweeps, _colours(len(sweeps)), strict=True):
        layers = np.arange(1, len(sweep.measured_std) + 1)
        ax.plot(layers, sweep.measured_std, "o", color=colour, markersize=4,
                label=f"{sweep.label} (x{sweep.layer_factor:.3g} per layer)")
        ax.plot(layers, sweep.predicted_std, "--", color=colour, linewidth=1)
    ax.set_yscale("log")
    ax.set(xlabel="layer", ylabel="std of pre-activations (log scale)",
           title=title or "Dots: measured. Dashes: sqrt(fan_in * Var(w) / 2) per layer")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _colours(count):
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[index % len(cycle)] for index in range(count)]


