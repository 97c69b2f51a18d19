import numpy as np
import pytest
import tensorflow as tf

from course_utils.network import OUTPUT_NAMES, WEIGHT_SHAPES, ConvNet
from course_utils.stats import activation_stats, std_ratio
from course_utils.training import set_seed


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
    for number in range(1, 5):  # a chain of Keras layers, independent of our outputs
        layer = tf.keras.layers.Conv2D(WEIGHT_SHAPES[f"layer{number}"][-1], 3, padding="same",
                                       use_bias=False)
        layer.build(hidden.shape)
        layer.kernel.assign(weights[f"layer{number}"])
        conv = layer(hidden)
        ours = outputs[f"layer{number}_conv"]
        np.testing.assert_allclose(conv, ours, rtol=1e-4, atol=1e-4 * float(np.abs(ours).max()))
        hidden = tf.nn.relu(conv)
        if number in (2, 4):
            hidden = pool(hidden)
    logits = tf.keras.layers.Flatten()(hidden) @ weights["layer5"]
    np.testing.assert_allclose(logits, outputs["logits"], rtol=1e-4,
                               atol=1e-4 * float(np.abs(logits).max()))
    np.testing.assert_allclose(tf.nn.softmax(logits), outputs["predictions"], atol=1e-5)


def test_predict_in_batches_matches_one_batch(digits):
    network = ConvNet.from_weights(normal_weights(scale=0.1))
    predictions = network.predict(digits[:7], batch_size=3)
    assert predictions.shape == (7, 10)
    np.testing.assert_allclose(predictions, network.outputs(digits[:7])["predictions"],
                               rtol=1e-5, atol=1e-7)


def test_outputs_in_chunks_match_one_forward_pass(digits):
    network = ConvNet.from_weights(normal_weights())
    whole = network.forward(digits)
    chunked = network.outputs(digits, batch_size=5)  # 32 images: six chunks of 5, then 2
    assert set(chunked) == set(whole)
    for name, value in whole.items():
        assert chunked[name].shape == tuple(value.shape) and chunked[name].dtype == np.float32
        np.testing.assert_allclose(chunked[name], value.numpy(), rtol=1e-5, atol=1e-5)


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
    with pytest.raises(ValueError, match="activation must be one of"):
        ConvNet.from_weights(normal_weights(), activation=activation)
