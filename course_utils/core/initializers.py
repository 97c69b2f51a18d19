"""Initialization recipes, and the fan-in / fan-out arithmetic behind them.

A weight tensor's *fan-in* is how many inputs feed one output unit, its *fan-out* how many outputs
one input feeds. For a conv kernel of shape (height, width, in_channels, out_channels):
fan_in = height * width * in_channels and fan_out = height * width * out_channels. For a dense
matrix of shape (inputs, outputs): fan_in = inputs and fan_out = outputs.

- N(0, 1): stddev 1 whatever the fan-in, so each layer multiplies the spread of its input by
  about sqrt(fan_in / 2) under ReLU: the outputs explode.
- He / variance scaling (He et al. 2015): stddev sqrt(2 / fan_in), which keeps the variance of
  pre-activations constant through ReLU layers.
- Xavier / Glorot (Glorot and Bengio 2010): variance 2 / (fan_in + fan_out), for layers without
  ReLU (tanh, softmax); the uniform form draws from +-sqrt(6 / (fan_in + fan_out)).
- LeCun: stddev sqrt(1 / fan_in) (the right choice for linear or SELU layers).
- PyTorch's default for ``Conv2d`` and ``Linear`` (``torch_default``): ``kaiming_uniform_`` with
  ``a = sqrt(5)``, i.e. uniform on +-sqrt(1 / fan_in), variance 1 / (3 * fan_in). (Keras's default
  for ``Conv2D`` and ``Dense`` is GlorotUniform, the ``xavier`` scheme.)
"""

import math

import tensorflow as tf

from .arguments import valid_choice, valid_count, valid_positive

# TF1's variance_scaling_initializer(truncated normal) used stddev sqrt(1.3 * factor / fan_in): the
# 1.3 roughly makes up for the spread lost by cutting the normal at two standard deviations.
# TF2 and Keras divide by the exact stddev of a normal truncated at +-2 instead.
TF1_TRUNCATION_FACTOR = 1.3
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978

SCHEMES = ("normal", "he", "xavier", "lecun", "orthogonal", "zeros")
# Recipes that initial_weights and expected_stddev know besides SCHEMES (the playground's list).
EXTRA_SCHEMES = ("torch_default",)
SCHEME_LABELS = {
    "normal": "N(0, 1)",
    "he": "He / variance scaling",
    "xavier": "Xavier / Glorot",
    "lecun": "LeCun",
    "orthogonal": "orthogonal",
    "zeros": "zeros",
    "torch_default": "PyTorch default",
}


def fan_in_fan_out(shape):
    """(fan_in, fan_out) of a conv kernel (h, w, in, out) or a dense matrix (in, out)."""
    shape = tuple(int(size) for size in shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        receptive_field = shape[0] * shape[1]
        return receptive_field * shape[2], receptive_field * shape[3]
    raise ValueError(f"expected a dense (in, out) or conv (h, w, in, out) shape, got {shape}")


def he_stddev(fan_in, factor=2.0):
    """He / variance-scaling stddev: sqrt(factor / fan_in) (factor 2 for ReLU)."""
    valid_positive("fan_in", fan_in)
    valid_positive("factor", factor)
    return math.sqrt(factor / fan_in)


def xavier_stddev(fan_in, fan_out):
    """Xavier / Glorot stddev: sqrt(2 / (fan_in + fan_out))."""
    valid_positive("fan_in", fan_in)
    valid_positive("fan_out", fan_out)
    return math.sqrt(2.0 / (fan_in + fan_out))


def xavier_limit(fan_in, fan_out):
    """Bound of Xavier / Glorot *uniform*: weights in [-limit, limit], limit = sqrt(6 / (in + out)).

    A uniform distribution on [-a, a] has variance a**2 / 3, so this has the variance of
    :func:`xavier_stddev` squared.
    """
    valid_positive("fan_in", fan_in)
    valid_positive("fan_out", fan_out)
    return math.sqrt(6.0 / (fan_in + fan_out))


def lecun_stddev(fan_in):
    """LeCun stddev: sqrt(1 / fan_in)."""
    return he_stddev(fan_in, factor=1.0)


def torch_default_limit(fan_in):
    """Bound of PyTorch's default weights: ``kaiming_uniform_(a=sqrt(5))`` draws from
    [-limit, limit] with limit = gain * sqrt(3 / fan_in) and gain = sqrt(2 / (1 + a**2)) =
    sqrt(1 / 3), so limit = sqrt(1 / fan_in) and the variance is limit**2 / 3 = 1 / (3 * fan_in).
    """
    valid_positive("fan_in", fan_in)
    return math.sqrt(1.0 / fan_in)


def expected_stddev(scheme, shape, scale=1.0):
    """The stddev a scheme aims for on a tensor of ``shape``, times ``scale``."""
    valid_choice("initialization scheme", scheme, SCHEMES + EXTRA_SCHEMES)
    valid_positive("scale", scale)
    fan_in, fan_out = fan_in_fan_out(shape)
    base = {
        "normal": 1.0,
        "he": he_stddev(fan_in),
        "xavier": xavier_stddev(fan_in, fan_out),
        "lecun": lecun_stddev(fan_in),
        "orthogonal": math.sqrt(1.0 / max(fan_in, shape[-1])),
        "zeros": 0.0,
        "torch_default": torch_default_limit(fan_in) / math.sqrt(3.0),
    }[scheme]
    return scale * base


def initial_weights(scheme, shape, scale=1.0, seed=0):
    """A float32 tensor of ``shape`` drawn by ``scheme`` (one of :data:`SCHEMES`), times ``scale``.

    ``normal`` is ``tf.random.normal`` (the post's recipe); ``he``, ``xavier``, ``lecun`` and
    ``orthogonal`` are Keras's HeNormal, GlorotUniform, LeCunNormal and Orthogonal initializers;
    ``torch_default`` is PyTorch's default for ``Conv2d`` / ``Linear``, uniform on
    +-:func:`torch_default_limit`. The same ``seed`` always gives the same tensor.
    """
    valid_choice("initialization scheme", scheme, SCHEMES + EXTRA_SCHEMES)
    valid_positive("scale", scale)
    seed = valid_count("seed", seed, minimum=0)
    shape = tuple(int(size) for size in shape)
    fan_in_fan_out(shape)
    if scheme == "normal":
        values = tf.random.stateless_normal(shape, seed=[seed, 0])
    elif scheme == "zeros":
        values = tf.zeros(shape)
    elif scheme == "torch_default":
        limit = torch_default_limit(fan_in_fan_out(shape)[0])
        values = tf.random.stateless_uniform(shape, seed=[seed, 1], minval=-limit, maxval=limit)
    else:
        initializer = {
            "he": tf.keras.initializers.HeNormal,
            "xavier": tf.keras.initializers.GlorotUniform,
            "lecun": tf.keras.initializers.LecunNormal,
            "orthogonal": tf.keras.initializers.Orthogonal,
        }[scheme](seed=seed)
        values = tf.convert_to_tensor(initializer(shape, dtype="float32"))
    return values * scale


def layer_weights(scheme, shapes, index, seed=0, scale=1.0):
    """Weights of layer ``index`` (0-based) of a network whose weight shapes are ``shapes``.

    The course's one seed rule, shared by the notebooks, ``reproduce`` and the playground:

    - ``normal`` is the post's recipe: ``tf.random.set_seed(seed)``, then
      ``tf.random.normal(shape)`` for every shape in order; this layer's weights are the
      ``index``-th draw. (This seeds TensorFlow's global generator, as the post's code does; it
      switches on nothing else.)
    - every other scheme is :func:`initial_weights` with the seed ``seed + index + 1`` (the
      Keras initializer's own seed: layer1 gets ``seed + 1``).

    The result is the unit-scale draw times ``scale``, so the same (scheme, seed, layer) at
    two scales differ by exactly that factor.
    """
    valid_choice("initialization scheme", scheme, SCHEMES + EXTRA_SCHEMES)
    valid_positive("scale", scale)
    shapes = [tuple(int(size) for size in shape) for shape in shapes]
    index = valid_count("index", index, minimum=0, maximum=len(shapes) - 1)
    seed = valid_count("seed", seed, minimum=0)
    if scheme != "normal":
        return initial_weights(scheme, shapes[index], scale, seed + index + 1)
    tf.random.set_seed(seed)
    for shape in shapes[:index]:
        tf.random.normal(shape)  # the draws of the layers before this one
    return tf.random.normal(shapes[index]) * scale


def draw_weights(specs, shapes, seed=0):
    """``{layer: tensor}`` for ``specs = {layer: (scheme, scale)}`` by :func:`layer_weights`.

    ``shapes`` maps the same layers, in network order, to their weight shapes.
    """
    if list(specs) != list(shapes):
        raise ValueError(f"specs must name the layers {list(shapes)} in order, got {list(specs)}")
    ordered = list(shapes.values())
    return {
        layer: layer_weights(scheme, ordered, index, seed, scale)
        for index, (layer, (scheme, scale)) in enumerate(specs.items())
    }


def weight_variance(scheme, shape, scale=1.0):
    """Variance of one weight that ``scheme`` aims for on ``shape``: expected_stddev squared."""
    return expected_stddev(scheme, shape, scale) ** 2

