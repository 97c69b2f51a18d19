import math
from types import SimpleNamespace

import numpy as np
import pytest

from course_utils.lr_grid import (
    HALF_DECADE_RATES,
    LearningRateGrid,
    outcome_of,
    plot_grid,
    run_grid,
)


@pytest.fixture(scope="module")
def small_data(subset):
    return SimpleNamespace(train_images=subset.train_images[:1000],
                           train_labels=subset.train_labels[:1000],
                           test_images=subset.test_images[:200],
                           test_labels=subset.test_labels[:200])


def test_the_rates_step_half_a_decade_from_1e_minus_7_to_1():
    assert len(HALF_DECADE_RATES) == 15
    assert HALF_DECADE_RATES[0] == 1e-7 and HALF_DECADE_RATES[-1] == 1.0
    assert 1e-3 in HALF_DECADE_RATES  # the post's rates are cells of the grid
    steps = np.diff(np.log10(HALF_DECADE_RATES))
    np.testing.assert_allclose(steps, 0.5, atol=0.01)


@pytest.mark.parametrize("diverged, cost, accuracy, outcome", [
    (True, math.nan, math.nan, "diverged"),
    (False, 2.302585, 0.08, "stuck at ln 10"),
    (False, 2.30262, 0.12, "stuck at ln 10"),  # ln 10 to four decimals
    (False, 2.3024, 0.11, "learns little"),
    (False, 0.9, 0.5, "learns"),
    (False, 5e4, 0.62, "learns"),  # a huge cost does not stop accuracy from counting
    (False, 1.9, 0.49, "learns little"),
])
def test_outcome_rules(diverged, cost, accuracy, outcome):
    assert outcome_of(diverged, cost, accuracy) == outcome


def _grid(outcomes, rates=(1e-3, 3.2e-3, 1e-2, 3.2e-2)):
    outcomes = np.array(outcomes, dtype=object)
    shape = outcomes.shape
    return LearningRateGrid(("large", "proper")[: shape[0]], rates, 10, np.ones(shape),
                            np.ones(shape), outcomes, np.full(shape, 10), {}, {})


def test_window_in_decades():
    grid = _grid([["diverged", "learns", "learns", "learns little"],
                  ["learns little"] * 4])
    assert grid.window("large") == pytest.approx((3.2e-3, 1e-2, 2, math.log10(1e-2 / 3.2e-3)))
    assert grid.window("proper") == (None, None, 0, 0.0)
    one = _grid([["learns", "diverged", "diverged", "diverged"]])
    assert one.window("large") == (1e-3, 1e-3, 1, 0.0)


def test_a_run_stuck_at_ln_10_stops_early_with_the_same_outcome(small_data):
    early = run_grid(small_data, 30, keys=["small"], rates=[1e-7])  # the default: step 20
    full = run_grid(small_data, 30, keys=["small"], rates=[1e-7], stop_stuck_after=None)
    assert early.stopped_at[0, 0] == 20 and full.stopped_at[0, 0] == 30
    assert early.outcome[0, 0] == full.outcome[0, 0] == "stuck at ln 10"
    # the rule read a cost after training had started, not only the one before the first step
    assert early.histories["small", 1e-7].steps == [0, 10]


def test_a_learning_run_is_not_stopped_and_diverged_runs_say_where(small_data):
    grid = run_grid(small_data, 20, keys=["proper", "large"], rates=[1e-2, 1.0],
                    stop_stuck_after=10, keep=[("proper", 1e-2)])
    assert grid.stopped_at[0, 0] == 20  # He at 1e-2 moves off ln 10 at once
    assert grid.accuracy[0, 0] > 0.3 and grid.cost[0, 0] < math.log(10)
    assert grid.outcome[1, 1] == "diverged" and np.isnan(grid.cost[1, 1])
    assert grid.stopped_at[1, 1] < 20
    assert set(grid.networks) == {("proper", 1e-2)}
    assert set(grid.histories) == {(k, r) for k in ("proper", "large") for r in (1e-2, 1.0)}
    fig = plot_grid(grid)
    assert len(fig.axes) == 4  # two heat maps, two colourbars


@pytest.mark.parametrize("kwargs, message", [
    ({"keys": ["huge"]}, "unknown experiment 'huge'"),
    ({"rates": [1e-3, 0.0]}, "rates must be finite numbers > 0"),
    ({"rates": []}, "rates must be finite numbers > 0"),
    ({"stop_stuck_after": 0}, "stop_stuck_after must be >= 1 or None"),
])
def test_bad_grid_arguments(small_data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_grid(small_data, 10, **kwargs)
