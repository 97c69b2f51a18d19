"""A plain stack of dense layers, to measure how the spread travels forward and backward.

Layer ``l`` computes ``z_l = h_{l-1} @ W_l`` (zero biases) and ``h_l = act(z_l)``; ``h_0`` is the
input batch. The notebook creates the weight matrices (their shapes set the widths, which may
change from layer to layer); this module only runs them and measures, in float64:

- forward: the standard deviation of each layer's pre-activations ``z_l``;
- backward: the standard deviation of the gradient ``dL/dz_l`` of each layer's pre-activations,
  for a loss whose gradient at the top is a seeded batch of N(0, 1) numbers (so the top layer's
  gradient has std 1 and every layer below shows what backpropagation makes of it);
- saturation: the fraction of units with ``|tanh(z_l)| > 0.97`` (see
  :func:`course_utils.stats.saturation_fraction`), whatever the activation.

The backward pass is written out: ``dL/dh_{l-1} = dL/dz_l @ W_l.T`` and
``dL/dz_{l-1} = dL/dh_{l-1} * act'(z_{l-1})``, with ``relu'(z) = 1 if z > 0 else 0`` and
``tanh'(z) = 1 - tanh(z)**2``.
"""

from dataclasses import dataclass

import numpy as np

from .network import check_activation
from .stats import saturation_fraction

_FORWARD = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}
_DERIVATIVE = {"relu": lambda z: (z > 0).astype(z.dtype), "tanh": lambda z: 1.0 - np.tanh(z) ** 2}


@dataclass
class StackSpreads:
    """Per layer (index 0 is layer 1): std of pre-activations, std of their gradients, and the
    fraction of saturated units."""

    forward_std: np.ndarray
    backward_std: np.ndarray
    saturation: np.ndarray


def stack_spreads(weights, inputs, activation="relu", seed=0):
    """Run ``inputs`` (batch, width_0) through dense ``weights`` [(width_0, width_1), ...]."""
    check_activation(activation)
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
    backward = [gradient.std()]
    for matrix, below in zip(matrices[:0:-1], pre_activations[-2::-1]):
        gradient = (gradient @ matrix.T) * derivative(below)
        backward.append(gradient.std())
    return StackSpreads(
        forward_std=np.array([z.std() for z in pre_activations]),
        backward_std=np.array(backward[::-1]),
        saturation=np.array([saturation_fraction(z) for z in pre_activations]),
    )
