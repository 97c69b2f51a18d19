import numpy as np
import pytest
import tensorflow as tf

from course_utils.core.network import OUTPUT_NAMES, WEIGHT_SHAPES, ConvNet
from course_utils.core.stats import activation_stats, std_ratio
from course_utils.core.training import set_seed

EPS32 = float(np.finfo(np.float32).eps)  # 2**-23, the spacing of float32 numbers at 1


def reordering_tolerances(outputs):
    """How far two float32 runs of one network may be apart, per named output: an atol.

    A conv output or logit is a sum of fan_in float32 products; another batch size or another
    CPU can make oneDNN pick an algorithm that adds them in another order. Each addition rounds
    by at most eps/2 of its partial sum, and the partial sums have about the size of the layer's
    values, so two orders differ by at most about fan_in * eps * max|value| (taken with k = 1).
    A layer passes its inputs' differences on through the same weights as the values, so
    relative to the values' scale the differences of the layers add up: so do the fan-ins (9,
    585, 1161, 2313, then 8585 at the logits). The softmax moves by at most half the largest
    change of the logits (each row of its Jacobian sums to 2p(1 - p) <= 1/2 in absolute value),
    plus its own rounding.
    Measured: batches of 1 against 32 on an Intel Xeon, at most 13 eps * max|value| apart;
    batches of 5 against 32 on an AVX2-only AMD EPYC, 1.3. The bound is 9 (layer1) to 660 times
    wider. A misplaced, dropped or swapped image moves values by about their scale, a thousand
    times the widest bound (8585 eps = 1e-3 of the scale, at the logits).
    """
    tolerances, fan_ins = {}, 0
    for name, shape in zip(OUTPUT_NAMES[:5], WEIGHT_SHAPES.values(), strict=True):
        fan_ins += int(np.prod(shape[:-1]))
        tolerances[name] = fan_ins * EPS32 * float(np.abs(outputs[name]).max())
    tolerances["predictions"] = tolerances["logits"] / 2 + 4 * EPS32
    return tolerances


def assert_close_to_float32_reordering(actual, expected, names=OUTPUT_NAMES):
    tolerances = reordering_tolerances(expected)
    for name in names:
        np.testing.assert_allclose(actual[name], expected[name], rtol=0, atol=tolerances[name],
                                   err_msg=name)


def normal_weights(scale=1.0, seed=0):
    set_seed(seed)
    return {
        layer: tf.Variable(tf.random.normal(shape) * scale)
        for layer, shape in WEIGHT_SHAPES.items()
    }


def test_every_named_output_has_the_shape_of_the_post(digits):
    outputs = ConvNet.from_weights(normal_weights()).outputs(digits[:3])
    assert list(outputs) == list(OUTPUT_NAMES)
    assert outputs["layer1_conv"].shape == (3, 28, 28, 64)
    assert outputs["layer2_conv"].shape == (3, 28, 28, 64)
    assert outputs["layer3_conv"].shape == (3, 14, 14, 128)
    assert outputs["layer4_conv"].shape == (3, 14, 14, 128)
    assert outputs["logits"].shape == (3, 10)
    np.testing.assert_allclose(outputs["predictions"].sum(axis=1), 1.0, rtol=1e-5)


def test_forward_pass_matches_keras_layers(digits):
    weights = normal_weights(scale=0.1)
    outputs = ConvNet.from_weights(weights).outputs(digits[:4])
    pool = tf.keras.layers.MaxPooling2D(2)
    hidden = tf.convert_to_tensor(digits[:4])
    keras = {}
    for number in range(1, 5):  # a chain of Keras layers, independent of our outputs
        layer = tf.keras.layers.Conv2D(WEIGHT_SHAPES[f"layer{number}"][-1], 3, padding="same",
                                       use_bias=False)
        layer.build(hidden.shape)
        layer.kernel.assign(weights[f"layer{number}"])
        keras[f"layer{number}_conv"] = layer(hidden).numpy()
        hidden = tf.nn.relu(keras[f"layer{number}_conv"])
        if number in (2, 4):
            hidden = pool(hidden)
    keras["logits"] = (tf.keras.layers.Flatten()(hidden) @ weights["layer5"]).numpy()
    keras["predictions"] = tf.nn.softmax(keras["logits"]).numpy()
    assert_close_to_float32_reordering(outputs, keras)


def test_predict_in_batches_matches_one_batch(digits):
    network = ConvNet.from_weights(normal_weights(scale=0.1))
    predictions = network.predict(digits[:7], batch_size=3)
    assert predictions.shape == (7, 10)
    assert_close_to_float32_reordering({"predictions": predictions},
                                       network.outputs(digits[:7]), names=["predictions"])


# N(0, 1) weights, whose values grow to 1e6 at the logits (so the predictions' bound says
# nothing there), and N(0, 1) * 0.1, whose logits stay near 10.
@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_outputs_in_chunks_match_one_forward_pass(digits, scale):
    network = ConvNet.from_weights(normal_weights(scale))
    whole = {name: value.numpy() for name, value in network.forward(digits).items()}
    chunked = network.outputs(digits, batch_size=5)  # 32 images: six chunks of 5, then 2
    assert set(chunked) == set(whole)
    for name, value in whole.items():
        assert chunked[name].shape == value.shape and chunked[name].dtype == np.float32
    assert_close_to_float32_reordering(chunked, whole)


def test_biases_start_at_zero_and_variables_are_shared():
    weights = normal_weights()
    network = ConvNet.from_weights(weights)
    assert network.weights["layer3"] is weights["layer3"]
    assert all(not np.any(bias.numpy()) for bias in network.biases.values())
    assert len(network.parameters) == 10
    # The post's network: 640 + 36,928 + 73,856 + 147,584 + 62,730 numbers.
    assert sum(int(np.prod(v.shape)) for v in network.parameters) == 321_738


def test_plain_tensors_are_wrapped_in_variables():
    tensors = {layer: np.zeros(shape, np.float32) for layer, shape in WEIGHT_SHAPES.items()}
    network = ConvNet.from_weights(tensors)
    assert isinstance(network.weights["layer5"], tf.Variable)


def test_unit_normal_weights_explode_with_depth(digits):
    stats = activation_stats(ConvNet.from_weights(normal_weights()).outputs(digits))
    assert 0.3 < stats["layer1_conv"]["std"] < 3  # the post: about [-1, 1]
    assert std_ratio(stats) > 100
    assert max(abs(stats["logits"]["min"]), stats["logits"]["max"]) > 1000


def test_small_weights_vanish_with_depth(digits):
    stats = activation_stats(ConvNet.from_weights(normal_weights(scale=0.01)).outputs(digits))
    assert std_ratio(stats) < 0.02
    assert max(abs(stats["logits"]["min"]), stats["logits"]["max"]) < 0.01
    np.testing.assert_allclose(stats["predictions"]["mean"], 0.1, atol=1e-6)
    assert stats["predictions"]["std"] < 1e-3


def test_wrong_weight_shape_names_the_layer():
    weights = normal_weights()
    weights["layer2"] = tf.zeros((3, 3, 32, 64))
    with pytest.raises(ValueError, match=r"layer2_weights must have shape \(3, 3, 64, 64\)"):
        ConvNet.from_weights(weights)


def test_wrong_dtype_is_refused():
    weights = normal_weights()
    weights["layer1"] = tf.Variable(tf.zeros((3, 3, 1, 64), dtype=tf.float64))
    with pytest.raises(TypeError, match="layer1_weights must be float32"):
        ConvNet.from_weights(weights)


def test_missing_or_extra_layers_are_named():
    weights = normal_weights()
    weights["layer6"] = weights.pop("layer5")
    with pytest.raises(ValueError, match=r"missing \['layer5'\], unexpected \['layer6'\]"):
        ConvNet.from_weights(weights)


def test_images_of_the_wrong_shape_are_refused():
    network = ConvNet.from_weights(normal_weights())
    message = r"images must have shape \(N, 28, 28, 1\), got \(2, 28, 28\)"
    with pytest.raises(ValueError, match=message):
        network.outputs(np.zeros((2, 28, 28), np.float32))


def test_tanh_activation_puts_tanh_after_every_conv_layer(digits):
    weights = normal_weights(scale=0.1)
    relu_outputs = ConvNet.from_weights(weights).outputs(digits[:2])
    tanh_net = ConvNet.from_weights(weights, activation="tanh")
    assert tanh_net.activation == "tanh"
    outputs = tanh_net.outputs(digits[:2])
    # layer1 sees the images, so it is the same; layer2 sees tanh(layer1_conv), not its ReLU
    np.testing.assert_allclose(outputs["layer1_conv"], relu_outputs["layer1_conv"], rtol=1e-6)
    expected = tf.nn.conv2d(tf.tanh(outputs["layer1_conv"]), weights["layer2"], 1, "SAME")
    np.testing.assert_allclose(outputs["layer2_conv"], expected, rtol=1e-4, atol=1e-5)
    pooled = tf.nn.max_pool2d(tf.tanh(outputs["layer4_conv"]), 2, 2, "SAME")
    expected_logits = tf.reshape(pooled, (2, -1)) @ weights["layer5"]
    np.testing.assert_allclose(outputs["logits"], expected_logits, rtol=1e-4, atol=1e-5)
    assert not np.allclose(outputs["layer2_conv"], relu_outputs["layer2_conv"])


def test_relu_is_the_default_activation(digits):
    weights = normal_weights(scale=0.1)
    network = ConvNet.from_weights(weights)
    assert network.activation == "relu"
    explicit = ConvNet.from_weights(weights, activation="relu").outputs(digits[:2])
    np.testing.assert_array_equal(network.outputs(digits[:2])["logits"], explicit["logits"])


@pytest.mark.parametrize("activation", ["sigmoid", "ReLU", None, 1])
def test_unknown_activation_is_refused(activation):
    with pytest.raises(ValueError, match=r"activation.*one of \('relu', 'tanh'\)"):
        ConvNet.from_weights(normal_weights(), activation=activation)


def test_relu_inputs_are_the_normalized_outputs_with_batchnorm_and_the_conv_outputs_without(
        digits):
    from course_utils.core.network import relu_inputs
    from course_utils.lab.experiments import EXPERIMENTS

    weights = EXPERIMENTS["proper"].create_weights(0)
    for batch_norm, suffix in ((False, "_conv"), (True, "_bn")):
        outputs = ConvNet.from_weights(weights, batch_norm=batch_norm).forward(digits)
        seen = relu_inputs(outputs)
        assert list(seen) == ["layer1", "layer2", "layer3", "layer4"]
        for layer, values in seen.items():
            assert values is outputs[layer + suffix]
