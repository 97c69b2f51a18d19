"""The post's 4-layer ConvNet, run on weights that the notebook creates.

    images (28x28x1)
    layer1_conv: 3x3 conv,   1 ->  64, + bias        -> ReLU
    layer2_conv: 3x3 conv,  64 ->  64, + bias        -> ReLU -> 2x2 max pool (28 -> 14)
    layer3_conv: 3x3 conv,  64 -> 128, + bias        -> ReLU
    layer4_conv: 3x3 conv, 128 -> 128, + bias        -> ReLU -> 2x2 max pool (14 -> 7)
    logits:      flatten 7*7*128 = 6272 -> 10, fully connected
    predictions: softmax(logits)

The lesson is in how the five weight tensors are *created*, so the notebooks create them
(``tf.Variable(tf.random.normal(shape))``, as in the post) and hand them to :class:`ConvNet`.
The biases start at zero. ``layerN_conv`` is the output of a convolution plus its bias, *before*
the ReLU: the values the post plots as histograms.

BatchNorm (``ConvNet(..., batch_norm=True)``, not in the post): after each conv layer,
``layerN_bn = gamma * (layerN_conv - mean) / sqrt(var + eps) + beta``, with ``mean`` and ``var``
taken per channel over the batch, height and width (:func:`batch_norm`); ``gamma`` (ones) and
``beta`` (zeros) are trained with the rest, and the ReLU then acts on ``layerN_bn``. At test
time too the statistics are the current batch's (no running averages: see :func:`batch_norm`).
"""

import numpy as np
import tensorflow as tf

from .arguments import valid_choice, valid_images

WEIGHT_SHAPES = {
    "layer1": (3, 3, 1, 64),
    "layer2": (3, 3, 64, 64),
    "layer3": (3, 3, 64, 128),
    "layer4": (3, 3, 128, 128),
    "layer5": (7 * 7 * 128, 10),
}
CONV_LAYERS = ("layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv")
CONV_WEIGHT_NAMES = ("layer1", "layer2", "layer3", "layer4")  # the conv layers' weight tensors
OUTPUT_NAMES = CONV_LAYERS + ("logits", "predictions")
# The nonlinearity after each conv layer: the post's ReLU, or tanh (notebook 7: the activation
# decides which initialization keeps the spread).
ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.nn.tanh}


class ConvNet(tf.Module):
    """The 4-layer ConvNet of the post, holding five weight tensors and five zero biases.

    Pass the weights by name (``layer1_weights=...`` .. ``layer5_weights=...``), each a
    ``tf.Variable`` (trained in place) or anything convertible to a float32 tensor of the shape
    in :data:`WEIGHT_SHAPES` (wrapped in a new variable). ``activation`` is the nonlinearity
    after each conv layer, one of :data:`ACTIVATIONS` (the post's ``"relu"`` by default).
    """

    def __init__(
        self, layer1_weights, layer2_weights, layer3_weights, layer4_weights, layer5_weights,
        batch_norm=False,
        activation="relu",
    ):
        super().__init__(name="convnet")
        self.activation = valid_choice("activation", activation, ACTIVATIONS)
        given = (layer1_weights, layer2_weights, layer3_weights, layer4_weights, layer5_weights)
        self.weights = {}
        self.biases = {}
        for (layer, shape), weights in zip(WEIGHT_SHAPES.items(), given):
            self.weights[layer] = _as_weight_variable(layer, weights, shape)
            self.biases[layer] = tf.Variable(tf.zeros(shape[-1]), name=f"{layer}_biases")
        # BatchNorm's scale gamma and shift beta per channel of each conv layer (None: no BN)
        self.norms = None
        if batch_norm:
            self.norms = {
                layer: (tf.Variable(tf.ones(WEIGHT_SHAPES[layer][-1]), name=f"{layer}_gamma"),
                        tf.Variable(tf.zeros(WEIGHT_SHAPES[layer][-1]), name=f"{layer}_beta"))
                for layer in CONV_WEIGHT_NAMES
            }

    @classmethod
    def from_weights(cls, weights, batch_norm=False, activation="relu"):
        """Build from a dict ``{"layer1": tensor, ..., "layer5": tensor}``."""
        missing = sorted(set(WEIGHT_SHAPES) - set(weights))
        extra = sorted(set(weights) - set(WEIGHT_SHAPES))
        if missing or extra:
            raise ValueError(
                f"weights need exactly the keys {list(WEIGHT_SHAPES)}; "
                f"missing {missing}, unexpected {extra}"
            )
        return cls(*(weights[layer] for layer in WEIGHT_SHAPES), batch_norm=batch_norm,
                   activation=activation)

    @property
    def batch_norm(self):
        """True if a BatchNorm follows each conv layer."""
        return self.norms is not None

    @property
    def parameters(self):
        """The variables gradient descent updates: five weights, then five biases (then, with
        BatchNorm, gamma and beta of layer1..layer4: see :func:`split_parameters`)."""
        parameters = list(self.weights.values()) + list(self.biases.values())
        if self.norms is not None:
            parameters += [variable for pair in self.norms.values() for variable in pair]
        return parameters

    def forward(self, images):
        """Every named output, as a dict of tensors (see :data:`OUTPUT_NAMES`; with BatchNorm
        also ``layer1_bn`` .. ``layer4_bn``)."""
        return forward_pass(self.weights, self.biases, images, activation=self.activation,
                            norms=self.norms)

    def logits(self, images):
        """Only the logits (what the loss needs)."""
        return self.forward(images)["logits"]

    def outputs(self, images, batch_size=25):
        """Every named output for a batch of images, as numpy arrays (for statistics and plots).

        Meant for a batch: the conv outputs of 100 images take 60 MB. They are computed
        ``batch_size`` images at a time into arrays of the full size, which keeps the
        convolutions' scratch memory small; with BatchNorm, whose statistics are the batch's,
        all the images go through at once. For the predictions of many images use
        :meth:`predict`.
        """
        images = valid_images(images)
        count = int(images.shape[0])
        if self.batch_norm or count <= batch_size:
            return {name: value.numpy() for name, value in self.forward(images).items()}
        outputs = {}
        for start in range(0, count, batch_size):
            chunk = self.forward(images[start : start + batch_size])
            for name, value in chunk.items():
                if name not in outputs:
                    outputs[name] = np.empty((count,) + tuple(value.shape[1:]),
                                             value.dtype.as_numpy_dtype)
                outputs[name][start : start + batch_size] = value.numpy()
        return outputs

    def predict(self, images, batch_size=100):
        """Softmax predictions, shape (N, 10), computed ``batch_size`` images at a time."""
        images = valid_images(images)
        return np.concatenate([
            tf.nn.softmax(self.logits(images[start : start + batch_size])).numpy()
            for start in range(0, int(images.shape[0]), batch_size)
        ])


def forward_pass(weights, biases, images, activation="relu", norms=None):
    """The forward pass on ``{"layer1": ..., "layer5": ...}`` weights and biases.

    A plain function of its inputs, so that one compiled version serves every network.
    ``activation`` names the nonlinearity after each conv layer (see :data:`ACTIVATIONS`);
    ``norms`` (``{"layer1": (gamma, beta), ...}``) puts a :func:`batch_norm` after each conv layer.
    """
    w, b = weights, biases
    act = ACTIVATIONS[valid_choice("activation", activation, ACTIVATIONS)]
    outputs = {}
    outputs["layer1_conv"] = _conv(images, w["layer1"]) + b["layer1"]
    hidden = act(_normalized(outputs, "layer1", norms))
    outputs["layer2_conv"] = _conv(hidden, w["layer2"]) + b["layer2"]
    hidden = _pool(act(_normalized(outputs, "layer2", norms)))
    outputs["layer3_conv"] = _conv(hidden, w["layer3"]) + b["layer3"]
    hidden = act(_normalized(outputs, "layer3", norms))
    outputs["layer4_conv"] = _conv(hidden, w["layer4"]) + b["layer4"]
    hidden = _pool(act(_normalized(outputs, "layer4", norms)))
    flat = tf.reshape(hidden, (-1, WEIGHT_SHAPES["layer5"][0]))
    outputs["logits"] = tf.matmul(flat, w["layer5"]) + b["layer5"]
    outputs["predictions"] = tf.nn.softmax(outputs["logits"])
    return outputs


BN_EPSILON = 1e-5


def batch_norm(values, gamma, beta, epsilon=BN_EPSILON):
    """BatchNorm of conv outputs ``(images, height, width, channels)``, per channel.

    Each channel is shifted and scaled to mean 0 and std 1 over the batch, height and width (the
    axes 0, 1, 2), then multiplied by ``gamma`` and shifted by ``beta``. The statistics are the
    batch's own, in training and at test time alike: the course keeps no running averages
    (Keras's ``BatchNormalization`` does, for test time), so a test prediction depends a little on
    the other images of its batch of 100.
    """
    mean, variance = tf.nn.moments(values, axes=(0, 1, 2))
    scale = gamma / tf.sqrt(variance + epsilon)  # one number per channel
    return (values - mean) * scale + beta


def cost_and_outputs(parameters, images, labels, activation="relu"):
    """``(cost, outputs)``: the mean softmax cross-entropy of the logits, and every named output.

    ``parameters`` is a list ordered like :attr:`ConvNet.parameters` (so a compiled caller can
    take any network's variables); ``labels`` are class ids. The one place where the course
    computes its cost: training, evaluation, gradients and the dashboard all call it. The logits
    go to float32 before the cost, whatever precision the forward pass ran in.
    """
    weights, biases, norms = split_parameters(parameters)
    outputs = forward_pass(weights, biases, images, activation=activation, norms=norms)
    logits = tf.cast(outputs["logits"], tf.float32)
    cost = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return cost, outputs


def cost_outputs_and_gradients(parameters, images, labels, activation="relu"):
    """``(cost, outputs, gradients)``: :func:`cost_and_outputs`, and the cost's gradient for each
    weight tensor layer1..layer5, in that order. The one place the course differentiates the
    cost for a measurement (the diagnostics and the dashboard); training differentiates every
    parameter, biases too, in :mod:`course_utils.core.training`.
    """
    with tf.GradientTape() as tape:
        cost, outputs = cost_and_outputs(parameters, images, labels, activation)
    return cost, outputs, tape.gradient(cost, parameters[: len(WEIGHT_SHAPES)])


def relu_inputs(outputs):
    """``{"layer1": values, ..., "layer4": values}``: what each conv layer's activation receives,
    from a forward pass's named outputs: ``layerN_bn`` with BatchNorm, else ``layerN_conv``."""
    return {layer: outputs[f"{layer}_bn"] if f"{layer}_bn" in outputs else outputs[f"{layer}_conv"]
            for layer in CONV_WEIGHT_NAMES}


def split_parameters(parameters):
    """``(weights, biases, norms)`` from a list ordered like :attr:`ConvNet.parameters`."""
    count = len(WEIGHT_SHAPES)
    weights = dict(zip(WEIGHT_SHAPES, parameters[:count]))
    biases = dict(zip(WEIGHT_SHAPES, parameters[count : 2 * count]))
    rest = parameters[2 * count :]
    if not rest:
        return weights, biases, None
    norms = {layer: (rest[2 * i], rest[2 * i + 1]) for i, layer in enumerate(CONV_WEIGHT_NAMES)}
    return weights, biases, norms


def keras_convnet(network, learning_rate):
    """The same network as a Keras Sequential model holding a copy of ``network``'s weights,
    compiled as a Keras user would: plain SGD at ``learning_rate``, sparse categorical
    cross-entropy on the logits (the course's cost), accuracy metric.

    Its layers are named like the course's weights: ``layer1`` .. ``layer4`` (Conv2D, 3x3,
    ``"same"``, no activation: their outputs are ``layerN_conv``), each followed by its own
    activation layer ``layerN_relu`` (or ``layerN_tanh``), and ``layer5`` (Dense, the logits).
    Plain networks only (no BatchNorm).
    """
    if network.batch_norm:
        raise ValueError("keras_convnet copies plain networks only, not BatchNorm ones")
    layers = tf.keras.layers
    stack = [tf.keras.Input((28, 28, 1))]
    for number, layer in enumerate(CONV_WEIGHT_NAMES, start=1):
        stack += [layers.Conv2D(WEIGHT_SHAPES[layer][-1], 3, padding="same", name=layer),
                  layers.Activation(network.activation, name=f"{layer}_{network.activation}")]
        if number % 2 == 0:
            stack.append(layers.MaxPooling2D(2, padding="same"))
    stack += [layers.Flatten(), layers.Dense(10, name="layer5")]
    model = tf.keras.Sequential(stack, name="convnet")
    model.set_weights([variable.numpy() for layer in WEIGHT_SHAPES
                       for variable in (network.weights[layer], network.biases[layer])])
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _normalized(outputs, layer, norms):
    """``layerN_conv``, or with BatchNorm its normalized version (kept as ``layerN_bn``)."""
    values = outputs[f"{layer}_conv"]
    if norms is None:
        return values
    outputs[f"{layer}_bn"] = batch_norm(values, *norms[layer])
    return outputs[f"{layer}_bn"]


def _as_weight_variable(layer, weights, shape):
    if not isinstance(weights, tf.Variable):
        weights = tf.Variable(tf.convert_to_tensor(weights, dtype=tf.float32))
    if weights.dtype != tf.float32:
        raise TypeError(f"{layer}_weights must be float32, got {weights.dtype.name}")
    if tuple(weights.shape) != shape:
        raise ValueError(f"{layer}_weights must have shape {shape}, got {tuple(weights.shape)}")
    return weights


def _conv(inputs, weights):
    return tf.nn.conv2d(inputs, weights, strides=1, padding="SAME")


def _pool(inputs):
    return tf.nn.max_pool2d(inputs, ksize=2, strides=2, padding="SAME")
