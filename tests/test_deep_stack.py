"""The deep stack of dense layers: its measured spreads against TensorFlow's autodiff, and the
depth sweeps of the course's schemes against the one-line theory."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from course_utils.lab.deep_stack import (
    DEPTH_SCHEMES,
    depth_sweep,
    plot_depth_sweep,
    relu_layer_factor,
    stack_spreads,
)


def gaussian_weights(widths, variance, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n_in, n_out)) * math.sqrt(variance(n_in, n_out))
            for n_in, n_out in zip(widths[:-1], widths[1:])]


def tape_spreads(weights, inputs, activation, top_gradient):
    """The same quantities with TensorFlow's autodiff, as a reference."""
    act = {"relu": tf.nn.relu, "tanh": tf.tanh}[activation]
    hidden = tf.constant(inputs)
    pre_activations = []
    with tf.GradientTape() as tape:
        for matrix in weights:
            z = hidden @ tf.constant(matrix)
            tape.watch(z)
            pre_activations.append(z)
            hidden = act(z)
        loss = tf.reduce_sum(pre_activations[-1] * top_gradient)
    gradients = tape.gradient(loss, pre_activations)
    return [float(tf.math.reduce_std(z)) for z in pre_activations], [
        float(tf.math.reduce_std(g)) for g in gradients]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_forward_and_backward_match_autodiff(activation):
    widths = [32, 16, 48, 8]
    weights = gaussian_weights(widths, lambda n_in, n_out: 1.5 / n_in)
    inputs = np.random.default_rng(1).standard_normal((20, 32))
    spreads = stack_spreads(weights, inputs, activation, seed=7)
    top_gradient = np.random.default_rng(7).standard_normal((20, 8))
    forward, backward = tape_spreads(weights, inputs, activation, top_gradient)
    np.testing.assert_allclose(spreads.forward_std, forward, rtol=1e-10)
    np.testing.assert_allclose(spreads.backward_std, backward, rtol=1e-10)
    assert spreads.forward_std.shape == spreads.backward_std.shape == (3,)
    assert spreads.saturation.shape == (3,)


def test_he_fan_in_keeps_the_forward_spread_and_fan_out_the_backward():
    widths = [512, 128] * 4 + [512]
    inputs = np.random.default_rng(0).standard_normal((400, 512))
    fan_in = stack_spreads(gaussian_weights(widths, lambda n_in, n_out: 2 / n_in), inputs)
    fan_out = stack_spreads(gaussian_weights(widths, lambda n_in, n_out: 2 / n_out), inputs)
    # fan_in: forward factor 1 per layer; backward factor sqrt(n_out / n_in): the top layer
    # maps 128 to 512 units, so the gradient below it is twice as wide
    assert np.all(np.abs(np.log(fan_in.forward_std / math.sqrt(2))) < math.log(1.3))
    assert fan_in.backward_std[-2] / fan_in.backward_std[-1] == pytest.approx(2, rel=0.2)
    assert np.all(np.abs(np.log(fan_out.backward_std)) < math.log(1.3))
    # fan_out: forward factor sqrt(n_in / n_out): layer 2 maps 128 to 512 units, so 1/2
    assert fan_out.forward_std[1] / fan_out.forward_std[0] == pytest.approx(0.5, rel=0.2)


def test_saturation_is_measured_on_the_pre_activations():
    weights = [np.eye(4) * 3.0, np.eye(4) * 0.01]
    inputs = np.ones((2, 4))
    spreads = stack_spreads(weights, inputs, "tanh")
    # layer 1: z = 3 -> |tanh| = 0.995 saturated; layer 2: z = 0.01 * tanh(3) -> not
    np.testing.assert_array_equal(spreads.saturation, [1.0, 0.0])


def test_bad_shapes_and_activation_are_refused():
    inputs = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"layer 2's weights must have shape \(5, n\)"):
        stack_spreads([np.zeros((4, 5)), np.zeros((4, 2))], inputs)
    with pytest.raises(ValueError, match="inputs must have shape"):
        stack_spreads([np.zeros((4, 5))], np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        stack_spreads([], inputs)
    with pytest.raises(ValueError, match="unknown activation 'sigmoid'; choose one of"):
        stack_spreads([np.zeros((4, 5))], inputs, activation="sigmoid")


def test_relu_layer_factor_follows_the_formula():
    assert relu_layer_factor("normal", 256) == pytest.approx(math.sqrt(128))
    assert relu_layer_factor("small", 256) == pytest.approx(0.01 * math.sqrt(128))
    assert relu_layer_factor("xavier", 256) == pytest.approx(math.sqrt(0.5))
    assert relu_layer_factor("he", 256) == pytest.approx(1.0)
    assert relu_layer_factor("he", 10) == pytest.approx(1.0)  # He holds at every width


@pytest.fixture(scope="module")
def sweeps():
    return {key: depth_sweep(key, depth=30, width=128, batch_size=64) for key in DEPTH_SCHEMES}


def test_sweep_has_one_measurement_and_prediction_per_layer(sweeps):
    for sweep in sweeps.values():
        assert sweep.measured_std.shape == sweep.predicted_std.shape == (30,)
        assert np.all(np.isfinite(sweep.measured_std)) and np.all(sweep.measured_std > 0)


def test_first_layer_matches_the_prediction(sweeps):
    for sweep in sweeps.values():
        assert sweep.measured_std[0] == pytest.approx(sweep.predicted_std[0], rel=0.1)


def test_measurement_follows_the_theory_within_a_small_factor(sweeps):
    # The prediction spans from 1e-28 to 1e+30: a factor 3 either way is a tight fit.
    for sweep in sweeps.values():
        ratio = sweep.measured_std / sweep.predicted_std
        assert np.all((ratio > 1 / 3) & (ratio < 3)), sweep.key


def test_the_lessons_verdicts(sweeps):
    assert sweeps["normal"].growth > 1e10  # explodes
    assert sweeps["small"].growth < 1e-10  # vanishes
    assert 1e-7 < sweeps["xavier"].growth < 1e-2  # fades slowly: about 0.707**29 = 4e-5
    assert 0.5 < sweeps["he"].growth < 2  # holds
    assert 1e-14 < sweeps["torch_default"].growth < 1e-8  # vanishes: sqrt(1/6)**29 = 5e-12


def test_same_seed_same_sweep():
    first, again = depth_sweep("he", depth=3, width=16, seed=5), depth_sweep("he", depth=3,
                                                                             width=16, seed=5)
    np.testing.assert_array_equal(first.measured_std, again.measured_std)
    other = depth_sweep("he", depth=3, width=16, seed=6)
    assert not np.array_equal(first.measured_std, other.measured_std)


def test_schemes_share_inputs_and_draws():
    # N(0, 1) x 0.01 is the same draws as N(0, 1) times 0.01, on the same inputs: layer l's
    # pre-activations are exactly 0.01**l times as spread (zero biases, ReLU commutes).
    normal, small = (depth_sweep(key, depth=5, width=32, seed=2) for key in ("normal", "small"))
    np.testing.assert_allclose(small.measured_std / normal.measured_std,
                               0.01 ** np.arange(1, 6), rtol=1e-6)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown scheme 'lecun'"):
        depth_sweep("lecun")
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        depth_sweep("he", depth=0)
    with pytest.raises(TypeError, match="width must be an integer"):
        depth_sweep("he", width=2.5)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        depth_sweep("he", seed=-1)


def test_plot_draws_measurement_and_prediction_per_scheme(sweeps):
    fig = plot_depth_sweep(list(sweeps.values()))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2 * len(sweeps)
    assert len(ax.get_legend().get_texts()) == len(sweeps)
    assert ax.yaxis.get_gridlines()[0].get_visible()  # decades are easy to read off
    plt.close(fig)


def test_a_relu_unit_at_exactly_zero_passes_no_gradient():
    # as TensorFlow's relu: the derivative at 0 is 0, so a layer of all-zero weights (all its
    # pre-activations exactly 0) sends no gradient down
    rng = np.random.default_rng(0)
    weights = [np.zeros((8, 6)), rng.standard_normal((6, 4))]
    inputs = rng.standard_normal((16, 8))
    spreads = stack_spreads(weights, inputs)
    assert spreads.backward_std[0] == 0.0 and spreads.backward_std[1] > 0.5
    top = np.random.default_rng(0).standard_normal((16, 4))
    _, backward = tape_spreads(weights, inputs, "relu", top)
    assert backward[0] == 0.0


def test_the_defaults_are_30_layers_of_256_units_on_a_batch_of_256_from_seed_0():
    default = depth_sweep("he")
    stated = depth_sweep("he", depth=30, width=256, batch_size=256, seed=0)
    assert default.width == 256 and len(default.measured_std) == 30
    np.testing.assert_array_equal(default.measured_std, stated.measured_std)


def test_growth_is_the_last_layers_spread_over_the_first():
    sweep = depth_sweep("xavier", depth=5, width=64, batch_size=64)
    assert sweep.growth == pytest.approx(sweep.measured_std[-1] / sweep.measured_std[0])
    assert sweep.growth != pytest.approx(sweep.measured_std[-1])
