import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.depth import DEPTH_SCHEMES, depth_sweep, plot_depth_sweep, relu_gain
from course_utils.experiments import EXPERIMENTS


def test_relu_gain_follows_the_formula():
    assert relu_gain("normal", 256) == pytest.approx(math.sqrt(128))
    assert relu_gain("small", 256) == pytest.approx(0.01 * math.sqrt(128))
    assert relu_gain("xavier", 256) == pytest.approx(math.sqrt(0.5))
    assert relu_gain("he", 256) == pytest.approx(1.0)
    assert relu_gain("he", 10) == pytest.approx(1.0)  # He holds at every width


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


def test_schemes_are_the_experiments_relu_layers():
    assert DEPTH_SCHEMES["normal"][1:] == EXPERIMENTS["large"].layers["layer1"] == ("normal", 1.0)
    assert DEPTH_SCHEMES["small"][1:] == EXPERIMENTS["small"].layers["layer4"]
    assert DEPTH_SCHEMES["he"][1:] == EXPERIMENTS["proper"].layers["layer2"] == ("he", 1.0)
    assert DEPTH_SCHEMES["xavier"][1:] == ("xavier", 1.0)


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
    plt.close(fig)
