import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from course_utils.core.initializers import (
    SCHEMES,
    TF1_TRUNCATION_FACTOR,
    TRUNCATED_NORMAL_STDDEV,
    draw_weights,
    expected_stddev,
    fan_in_fan_out,
    he_stddev,
    initial_weights,
    layer_weights,
    lecun_stddev,
    xavier_limit,
    xavier_stddev,
)
from course_utils.core.network import WEIGHT_SHAPES

fans = st.integers(min_value=1, max_value=100_000)


def test_fans_of_the_posts_layers():
    fans_by_layer = {layer: fan_in_fan_out(shape) for layer, shape in WEIGHT_SHAPES.items()}
    assert fans_by_layer == {
        "layer1": (9, 576),
        "layer2": (576, 576),
        "layer3": (576, 1152),
        "layer4": (1152, 1152),
        "layer5": (6272, 10),
    }


def test_fan_of_an_unsupported_shape():
    with pytest.raises(ValueError, match="expected a dense"):
        fan_in_fan_out((3, 3, 1))


@pytest.mark.parametrize("fan_in", [9, 576, 1152])  # the fan-ins of the post's conv layers
def test_he_keeps_the_variance_through_relu_and_lecun_through_a_linear_layer(fan_in):
    # 10,000 output units, each the sum of fan_in inputs times weights, all drawn afresh. The
    # inputs are pre-activations of variance 1: He's weights keep that variance after a ReLU
    # (which halves the inputs' mean square), LeCun's without one. The sample variance of
    # 10,000 sums is within 2 % (one sigma) of the true one.
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((10_000, fan_in), dtype=np.float32)
    weights = rng.standard_normal((10_000, fan_in), dtype=np.float32)
    he_outputs = (np.maximum(inputs, 0) * weights).sum(axis=1) * he_stddev(fan_in)
    lecun_outputs = (inputs * weights).sum(axis=1) * lecun_stddev(fan_in)
    assert he_outputs.var() == pytest.approx(1.0, rel=0.06)
    assert lecun_outputs.var() == pytest.approx(1.0, rel=0.06)


@given(fans, fans)
def test_xavier_uniform_has_the_xavier_variance(fan_in, fan_out):
    limit = xavier_limit(fan_in, fan_out)
    assert limit**2 / 3 == pytest.approx(xavier_stddev(fan_in, fan_out) ** 2)
    assert xavier_limit(fan_in, fan_out) == xavier_limit(fan_out, fan_in)


def test_tensorflows_truncated_draws_have_the_spread_of_the_constants():
    # A unit normal cut at +-2 has variance 1 - 4 phi(2) / (Phi(2) - Phi(-2)).
    phi_2 = math.exp(-2) / math.sqrt(2 * math.pi)
    assert TRUNCATED_NORMAL_STDDEV == pytest.approx(
        math.sqrt(1 - 4 * phi_2 / math.erf(math.sqrt(2))), rel=1e-12)
    # A million draws: their std is within 0.07 % (one sigma) of the distribution's.
    unit = tf.random.stateless_truncated_normal((1_000_000,), seed=[0, 1]).numpy()
    assert np.abs(unit).max() <= 2 and unit.std() == pytest.approx(TRUNCATED_NORMAL_STDDEV,
                                                                   rel=2e-3)
    # TF1's variance_scaling_initializer drew truncated_normal(stddev=sqrt(1.3 * 2 / fan_in)).
    tf1 = tf.random.stateless_truncated_normal(
        (1_000_000,), seed=[0, 2], stddev=math.sqrt(TF1_TRUNCATION_FACTOR * 2 / 576)).numpy()
    assert tf1.std() == pytest.approx(he_stddev(576), rel=5e-3)


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf")])
def test_formulas_refuse_bad_fans(bad):
    with pytest.raises(ValueError, match="fan_in must be a finite number > 0"):
        he_stddev(bad)
    with pytest.raises(ValueError, match="must be a finite number > 0"):
        xavier_limit(bad, 10)


def test_formulas_refuse_non_numbers():
    with pytest.raises(TypeError, match="fan_in must be a number, got '9'"):
        he_stddev("9")


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "zeros"])
@pytest.mark.parametrize("layer", ["layer3", "layer5"])
def test_drawn_weights_have_the_expected_stddev(scheme, layer):
    shape = WEIGHT_SHAPES[layer]
    weights = initial_weights(scheme, shape, scale=0.5, seed=1).numpy()
    assert weights.shape == shape and weights.dtype == np.float32
    assert weights.std() == pytest.approx(expected_stddev(scheme, shape, scale=0.5), rel=0.03)
    assert abs(weights.mean()) < 0.05 * weights.std()


def test_xavier_weights_stay_inside_the_limit():
    weights = initial_weights("xavier", WEIGHT_SHAPES["layer5"]).numpy()
    assert np.abs(weights).max() <= xavier_limit(6272, 10)


def test_he_weights_are_truncated_at_two_sigma():
    weights = initial_weights("he", WEIGHT_SHAPES["layer4"]).numpy()
    untruncated = he_stddev(1152) / TRUNCATED_NORMAL_STDDEV
    assert np.abs(weights).max() <= 2 * untruncated + 1e-6


def test_same_seed_same_weights_other_seed_other_weights():
    for scheme in SCHEMES[:-1]:
        first = initial_weights(scheme, (3, 3, 8, 8), seed=5).numpy()
        np.testing.assert_array_equal(first, initial_weights(scheme, (3, 3, 8, 8), seed=5).numpy())
        assert not np.array_equal(first, initial_weights(scheme, (3, 3, 8, 8), seed=6).numpy())


def test_zeros_scheme():
    assert not np.any(initial_weights("zeros", (4, 3)).numpy())


@pytest.mark.parametrize(
    "scale, error, message",
    [
        (0, ValueError, "scale must be a finite number > 0, got 0"),
        (-1.0, ValueError, "got -1.0"),
        (float("nan"), ValueError, "got nan"),
        (float("inf"), ValueError, "got inf"),
        ("big", TypeError, "scale must be a number, got 'big'"),
        (None, TypeError, "scale must be a number"),
        (True, TypeError, "scale must be a number"),
    ],
)
def test_bad_scales_are_refused(scale, error, message):
    with pytest.raises(error, match=message):
        initial_weights("he", (3, 3, 1, 64), scale=scale)


@pytest.mark.parametrize(
    "seed, error, message",
    [
        (-1, ValueError, "seed must be >= 0, got -1"),
        (1.5, TypeError, "seed must be an integer, got 1.5"),
        ("0", TypeError, "seed must be an integer"),
        (None, TypeError, "seed must be an integer"),
        (True, TypeError, "seed must be an integer"),
    ],
)
def test_bad_seeds_are_refused(seed, error, message):
    with pytest.raises(error, match=message):
        initial_weights("normal", (3, 3, 1, 64), seed=seed)


def test_unknown_scheme_lists_the_choices():
    with pytest.raises(ValueError, match="unknown initialization scheme 'kaiming'.*'he'"):
        initial_weights("kaiming", (3, 3, 1, 64))


@settings(deadline=None, max_examples=25)
@given(st.sampled_from(SCHEMES[:-1]), st.floats(min_value=1e-3, max_value=1e2))
def test_a_scale_multiplies_the_same_draw_and_its_expected_stddev(scheme, scale):
    shape = (3, 3, 16, 32)
    unit = initial_weights(scheme, shape, 1.0, seed=3).numpy()
    scaled = initial_weights(scheme, shape, scale, seed=3).numpy()
    np.testing.assert_allclose(scaled, scale * unit, rtol=1e-6, atol=0)
    assert expected_stddev(scheme, shape, scale) == pytest.approx(
        scale * expected_stddev(scheme, shape, 1.0), rel=1e-12)


SHAPES = list(WEIGHT_SHAPES.values())


def test_normal_layer_weights_are_the_posts_sequence_of_draws():
    tf.random.set_seed(4)
    recipe = [tf.random.normal(shape) for shape in SHAPES]
    for index in (0, 2, 4):
        np.testing.assert_array_equal(layer_weights("normal", SHAPES, index, seed=4).numpy(),
                                      recipe[index].numpy())
    np.testing.assert_array_equal(layer_weights("normal", SHAPES, 1, seed=4, scale=0.01).numpy(),
                                  (recipe[1] * 0.01).numpy())


def test_other_schemes_take_the_keras_initializer_seeded_by_layer_number():
    he = tf.keras.initializers.HeNormal(seed=4 + 2)(SHAPES[1])  # layer2: seed + 2
    np.testing.assert_array_equal(layer_weights("he", SHAPES, 1, seed=4).numpy(), he.numpy())
    glorot = tf.keras.initializers.GlorotUniform(seed=4 + 5)(SHAPES[4])
    np.testing.assert_array_equal(layer_weights("xavier", SHAPES, 4, seed=4, scale=3.0).numpy(),
                                  (glorot * 3.0).numpy())


def test_draw_weights_is_layer_weights_for_each_layer_in_order():
    specs = {"layer1": ("normal", 1.0), "layer2": ("he", 2.0), "layer3": ("lecun", 1.0),
             "layer4": ("normal", 0.5), "layer5": ("zeros", 1.0)}
    drawn = draw_weights(specs, WEIGHT_SHAPES, seed=1)
    assert list(drawn) == list(WEIGHT_SHAPES)
    for index, (layer, (scheme, scale)) in enumerate(specs.items()):
        np.testing.assert_array_equal(drawn[layer].numpy(),
                                      layer_weights(scheme, SHAPES, index, 1, scale).numpy())
    with pytest.raises(ValueError, match="specs must name the layers"):
        draw_weights(dict(reversed(specs.items())), WEIGHT_SHAPES)


def test_layer_weights_checks_its_index():
    with pytest.raises(TypeError, match="index must be an integer"):
        layer_weights("he", SHAPES, 1.0)
    with pytest.raises(TypeError, match="index must be an integer"):
        layer_weights("he", SHAPES, True)
    for index in (-1, 5):
        with pytest.raises(ValueError, match=r"index must be .*0 .*4"):
            layer_weights("he", SHAPES, index)


def test_the_normal_draw_of_initial_weights_is_stateless_and_seeded():
    expected = tf.random.stateless_normal((4, 3), seed=[7, 0]) * 2.0
    np.testing.assert_array_equal(initial_weights("normal", (4, 3), 2.0, seed=7).numpy(),
                                  expected.numpy())


def test_weight_variance_is_the_stddev_squared():
    from course_utils.core.initializers import weight_variance

    assert weight_variance("he", (3, 3, 1, 64)) == pytest.approx(2 / 9)  # 2 / fan_in
    assert weight_variance("normal", (5, 7), scale=3.0) == pytest.approx(9.0)
    assert weight_variance("lecun", (100, 10), scale=0.5) == pytest.approx(0.25 / 100)


@pytest.mark.parametrize("layer", ["layer1", "layer3", "layer5"])
def test_torch_default_has_variance_one_third_over_fan_in(layer):
    # PyTorch's Conv2d / Linear default, kaiming_uniform_(a=sqrt(5)): Var(w) = 1 / (3 fan_in)
    shape = WEIGHT_SHAPES[layer]
    fan_in = fan_in_fan_out(shape)[0]
    assert expected_stddev("torch_default", shape) ** 2 == pytest.approx(1 / (3 * fan_in))
    weights = initial_weights("torch_default", shape, seed=3).numpy()
    assert weights.shape == shape and weights.dtype == np.float32
    assert np.abs(weights).max() <= math.sqrt(1 / fan_in)
    assert weights.var() == pytest.approx(1 / (3 * fan_in), rel=0.1)
    np.testing.assert_array_equal(weights, initial_weights("torch_default", shape, seed=3).numpy())


def test_the_extra_schemes_draw_for_a_layer_too():
    # PyTorch's default is not a recipe of the post, but notebook 6 draws it layer by layer
    shapes = list(WEIGHT_SHAPES.values())
    weights = layer_weights("torch_default", shapes, 1, seed=0).numpy()
    assert weights.shape == shapes[1]
    assert weights.std() == pytest.approx(expected_stddev("torch_default", shapes[1], 1.0),
                                          rel=0.05)


def test_orthogonal_rows_of_a_wide_kernel_have_the_spread_of_its_outputs():
    # layer1 maps 9 inputs to 64 outputs: 9 orthonormal rows of 64, each weight of variance 1/64
    shape = WEIGHT_SHAPES["layer1"]
    assert expected_stddev("orthogonal", shape) == pytest.approx(1 / 8)
    weights = initial_weights("orthogonal", shape, seed=2).numpy().reshape(9, 64)
    np.testing.assert_allclose(weights @ weights.T, np.eye(9), atol=1e-5)
    assert np.sqrt(np.mean(weights**2)) == pytest.approx(1 / 8, rel=1e-5)
    # a tall kernel (more inputs than outputs): 1 / fan_in
    assert expected_stddev("orthogonal", (100, 10)) == pytest.approx(0.1)


def test_the_zeros_scheme_aims_for_no_spread_and_normal_for_one():
    assert expected_stddev("zeros", (3, 3, 1, 64)) == 0.0
    assert expected_stddev("normal", (3, 3, 1, 64), scale=0.01) == pytest.approx(0.01)


def test_the_default_seed_is_0_and_the_default_scale_1():
    shape = (3, 3, 4, 8)
    for scheme in ("normal", "he", "torch_default"):
        np.testing.assert_array_equal(initial_weights(scheme, shape).numpy(),
                                      initial_weights(scheme, shape, 1.0, seed=0).numpy())
        np.testing.assert_array_equal(layer_weights(scheme, SHAPES, 2).numpy(),
                                      layer_weights(scheme, SHAPES, 2, seed=0, scale=1.0).numpy())
    assert expected_stddev("he", shape) == he_stddev(36)
    specs = {layer: ("he", 1.0) for layer in WEIGHT_SHAPES}
    drawn = draw_weights(specs, WEIGHT_SHAPES)
    np.testing.assert_array_equal(drawn["layer2"].numpy(),
                                  layer_weights("he", SHAPES, 1, seed=0).numpy())
