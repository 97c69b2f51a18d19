import numpy as np

from course_utils.core.network import WEIGHT_SHAPES, ConvNet
from course_utils.lab.lsuv import OUTPUTS, lsuv_weights


def test_lsuv_gives_every_layer_unit_output_std_on_its_batch(digits):
    weights = lsuv_weights(digits, seed=0)
    outputs = ConvNet.from_weights(weights).outputs(digits)
    for output in OUTPUTS.values():
        assert abs(np.std(outputs[output]) - 1) < 0.01, output


def test_lsuv_starts_from_orthogonal_draws_rescaled(digits):
    weights = lsuv_weights(digits, seed=0)
    for layer, shape in WEIGHT_SHAPES.items():
        matrix = weights[layer].numpy().reshape(-1, shape[-1])
        gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
        scale = gram[0, 0]
        np.testing.assert_allclose(gram / scale, np.eye(len(gram)), atol=1e-4)


def test_lsuv_is_deterministic_and_its_seed_picks_the_draws(digits):
    first, second = lsuv_weights(digits, seed=3), lsuv_weights(digits, seed=3)
    other = lsuv_weights(digits, seed=4)
    for layer in WEIGHT_SHAPES:
        np.testing.assert_array_equal(first[layer].numpy(), second[layer].numpy())
        assert not np.array_equal(first[layer].numpy(), other[layer].numpy()), layer


def test_lsuv_default_seed_is_0(digits):
    first, second = lsuv_weights(digits), lsuv_weights(digits, seed=0)
    for layer in WEIGHT_SHAPES:
        np.testing.assert_array_equal(first[layer].numpy(), second[layer].numpy())


def test_lsuv_leaves_a_layer_already_within_the_tolerance(digits):
    # with a huge tolerance no layer is rescaled: the plain orthogonal draws
    drawn = lsuv_weights(digits, tolerance=1e9)
    spread = np.std(ConvNet.from_weights(drawn).outputs(digits)["layer1_conv"])
    images = digits * (1.2 / spread)  # layer1's output std is now 1.2 (zero bias: linear)
    weights = lsuv_weights(images, tolerance=0.5)  # 1.2 is within 0.5 of 1: left alone
    np.testing.assert_array_equal(weights["layer1"].numpy(), drawn["layer1"].numpy())
    outputs = ConvNet.from_weights(weights).outputs(images)
    assert abs(np.std(outputs["layer1_conv"]) - 1.2) < 0.01
    assert abs(np.std(outputs["logits"]) - 1) < 0.5


def test_lsuv_divides_each_tensor_at_most_max_rounds_times(digits):
    # ReLU with zero biases is homogeneous: one division brings an output's std to 1, so a
    # second round measures 1 and changes nothing; with no round the draws stay as they are
    drawn = lsuv_weights(digits, max_rounds=0)
    once = lsuv_weights(digits, max_rounds=1)
    default = lsuv_weights(digits)
    outputs = ConvNet.from_weights(drawn).outputs(digits)
    assert abs(np.std(outputs["layer1_conv"]) - 1) > 0.1  # the orthogonal draw is not unit std
    for layer in once:
        np.testing.assert_array_equal(once[layer].numpy(), default[layer].numpy())
    outputs = ConvNet.from_weights(once).outputs(digits)
    for name in ("layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv", "logits"):
        assert abs(np.std(outputs[name]) - 1) < 1e-3, name
