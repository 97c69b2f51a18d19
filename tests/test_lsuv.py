import numpy as np

from course_utils.lsuv import OUTPUTS, lsuv_weights
from course_utils.network import WEIGHT_SHAPES, ConvNet


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


def test_lsuv_is_deterministic(digits):
    first, second = lsuv_weights(digits, seed=3), lsuv_weights(digits, seed=3)
    for layer in WEIGHT_SHAPES:
        np.testing.assert_array_equal(first[layer].numpy(), second[layer].numpy())
