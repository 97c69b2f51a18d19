import math
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.lab.experiments import EXPERIMENTS
from course_utils.lab.lr_grid import (
    HALF_DECADE_RATES,
    LearningRateGrid,
    outcome_of,
    plot_grid,
    run_grid,
    stack_grids,
)


@pytest.fixture(scope="module")
def small_data(subset):
    return SimpleNamespace(train_images=subset.train_images[:1000],
                           train_labels=subset.train_labels[:1000],
                           test_images=subset.test_images[:200],
                           test_labels=subset.test_labels[:200])


def test_the_rates_step_half_a_decade_from_1e_minus_7_to_1():
    assert HALF_DECADE_RATES[0] == 1e-7 and HALF_DECADE_RATES[-1] == 1.0
    assert 1e-3 in HALF_DECADE_RATES  # the post's rates are cells of the grid
    steps = np.diff(np.log10(HALF_DECADE_RATES))
    np.testing.assert_allclose(steps, 0.5, atol=0.01)


@pytest.mark.parametrize("diverged, cost, accuracy, outcome", [
    (True, math.nan, math.nan, "diverged"),
    (False, 2.302585, 0.08, "stuck at ln 10"),
    (False, 2.30262, 0.12, "stuck at ln 10"),  # ln 10 to four decimals
    (False, 2.3024, 0.11, "at chance"),  # off ln 10, but no better than a guess
    (False, 2.43, 0.06, "at chance"),  # He at 1e-7 in notebook 4: a cost above ln 10, 6 %
    (False, 4.4e5, 0.08, "at chance"),  # N(0, 1) at 1e-7: a huge cost, 8 %
    (False, 2.19, 0.199, "at chance"),
    (False, 2.19, 0.2, "learns little"),
    (False, 0.9, 0.5, "learns"),
    (False, 5e4, 0.62, "overconfident"),  # N(0, 1) at 1e-5: accurate, but a huge cost
    (False, 2.31, 0.25, "overconfident"),  # just above ln 10 is worse than a uniform guess
    (False, 2.29, 0.25, "learns little"),
    (False, 1.9, 0.49, "learns little"),
])
def test_outcome_rules(diverged, cost, accuracy, outcome):
    assert outcome_of(diverged, cost, accuracy) == outcome


def _grid(outcomes, rates=(1e-3, 3.2e-3, 1e-2, 3.2e-2)):
    outcomes = np.array(outcomes, dtype=object)
    shape = outcomes.shape
    keys = ("large", "proper")[: shape[0]]
    accuracy = np.linspace(0.1, 0.9, outcomes.size).reshape(shape)
    return LearningRateGrid(keys, keys, rates, 10, np.ones(shape), accuracy, outcomes,
                            np.full(shape, 10), {}, {})


def test_window_in_decades():
    grid = _grid([["diverged", "learns", "learns", "learns little"],
                  ["learns little"] * 4])
    assert grid.window("large") == pytest.approx((3.2e-3, 1e-2, 2, math.log10(1e-2 / 3.2e-3)))
    assert grid.window("proper") == (None, None, 0, 0.0)
    one = _grid([["learns", "diverged", "diverged", "diverged"]])
    assert one.window("large") == (1e-3, 1e-3, 1, 0.0)


def test_best_is_the_most_accurate_run_that_did_not_diverge():
    grid = _grid([["learns", "learns", "learns little", "diverged"]])
    grid.accuracy[0] = [0.6, 0.8, 0.3, np.nan]
    assert grid.best("large") == (3.2e-3, 1.0, 0.8)
    grid.accuracy[0] = np.nan
    assert grid.best("large") is None


def test_a_run_stuck_at_ln_10_stops_early_with_the_same_outcome(small_data):
    early = run_grid(small_data, 30, keys=["small"], rates=[1e-7])  # the default: step 20
    full = run_grid(small_data, 30, keys=["small"], rates=[1e-7], stop_stuck_after=None)
    assert early.stopped_at[0, 0] == 20 and full.stopped_at[0, 0] == 30
    assert early.outcome[0, 0] == full.outcome[0, 0] == "stuck at ln 10"
    # the titles say where the stuck run stopped, and a run to the end needs no such note
    assert "after 30 steps (stuck runs stopped at step 20)" in plot_grid(early).axes[0].get_title()
    assert plot_grid(full).axes[0].get_title().startswith("Test accuracy after 30 steps (grey")
    plt.close("all")
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


def test_rows_can_be_any_network_builders(small_data):
    # a BatchNorm network as a row, beside one built like the experiment: the same cell as
    # the experiment's key gives the same result
    proper = EXPERIMENTS["proper"]
    builders = {"He": lambda: proper.create_network(0),
                "He + BN": lambda: type(proper.create_network(0)).from_weights(
                    proper.create_weights(0), batch_norm=True)}
    grid = run_grid(small_data, 10, keys=builders, rates=[1e-2])
    by_key = run_grid(small_data, 10, keys=["proper"], rates=[1e-2])
    assert grid.keys == grid.titles == ("He", "He + BN")
    assert grid.cost[0, 0] == by_key.cost[0, 0] and grid.accuracy[0, 0] == by_key.accuracy[0, 0]
    assert grid.cost[1, 0] != grid.cost[0, 0]
    assert by_key.titles == (proper.label,)


def test_diverge_factor_stops_a_run_whose_cost_climbs(small_data):
    # N(0, 1) at 1e-4: its cost climbs far above the first one for several steps before it
    # overflows (NaN at step 7 here); with the factor the run stops at the first climb
    plain = run_grid(small_data, 12, keys=["large"], rates=[1e-4], record_every=1)
    early = run_grid(small_data, 12, keys=["large"], rates=[1e-4], record_every=1,
                     diverge_factor=10)
    costs = plain.histories["large", 1e-4].costs
    first_climb = next(step for step, cost in enumerate(costs) if cost > 10 * costs[0])
    assert first_climb < plain.stopped_at[0, 0] - 1
    assert early.outcome[0, 0] == "diverged" and np.isnan(early.cost[0, 0])
    assert early.stopped_at[0, 0] == first_climb


def test_skip_below_window_leaves_out_the_rates_under_a_working_one(small_data):
    rates = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    full = run_grid(small_data, 10, keys=["proper"], rates=rates)
    skipped = run_grid(small_data, 10, keys=["proper"], rates=rates, skip_below_window=True)
    learns = [rate for rate, outcome in zip(rates, full.outcome[0]) if outcome == "learns"]
    assert learns  # He learns at some rate of this grid in 10 steps
    lowest = min(learns)
    first_below = max(rate for rate in rates if rate < lowest)
    for column, rate in enumerate(rates):
        if rate >= first_below:  # run, from the largest down, until the first that fails
            assert skipped.outcome[0, column] == full.outcome[0, column]
            assert skipped.accuracy[0, column] == full.accuracy[0, column]
        else:
            assert skipped.outcome[0, column] == "not run" and np.isnan(skipped.cost[0, column])
    fig = plot_grid(skipped)
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert "-" in texts and "not run" in fig.axes[0].get_title()


def test_stacked_grids_keep_each_rows_cells():
    top = _grid([["learns", "diverged", "learns", "learns little"]])
    bottom = _grid([["learns little", "learns", "not run", "learns"]])
    bottom.keys = bottom.titles = ("other",)
    both = stack_grids(top, bottom)
    assert both.keys == ("large", "other")
    assert both.window("other") == pytest.approx((3.2e-3, 3.2e-2, 2, 1.0), rel=1e-6)
    np.testing.assert_array_equal(both.accuracy[1], bottom.accuracy[0])
    with pytest.raises(ValueError, match="same rates"):
        stack_grids(top, _grid([["learns"] * 3], rates=(1e-3, 1e-2, 1e-1)))


def test_cost_labels_keep_two_significant_figures():
    grid = _grid([["learns"] * 5], rates=(1e-3, 3.2e-3, 1e-2, 3.2e-2, 1e-1))
    grid.cost[0] = [0.48, 2.3, 15.0, 670.0, 4.4e5]
    fig = plot_grid(grid)
    labels = [text.get_text() for text in fig.axes[1].texts]
    assert labels == ["0.48", "2.3", "15", "6.7e2", "4.4e5"]
    grid.cost[0, :2] = [99.0, 100.0]  # from 100 on: mantissa e exponent
    assert [text.get_text() for text in plot_grid(grid).axes[1].texts][:2] == ["99", "1.0e2"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"keys": ["huge"]}, ValueError, "unknown experiment 'huge'"),
    ({"keys": []}, ValueError, "at least one"),
    ({"keys": {"a": "not callable"}}, ValueError, "function that returns a fresh network"),
    ({"rates": [1e-3, 0.0]}, ValueError, "learning rate must be a finite number > 0"),
    ({"rates": [1e-3, float("nan")]}, ValueError, "learning rate must be a finite number > 0"),
    ({"rates": []}, ValueError, "at least one learning rate"),
    ({"stop_stuck_after": 0}, ValueError, "stop_stuck_after must be >= 1"),
    ({"diverge_factor": -1}, ValueError, "diverge_factor must be a finite number > 0"),
    ({"record_every": 1.5}, TypeError, "record_every must be an integer"),
])
def test_bad_grid_arguments(small_data, kwargs, error, message):
    with pytest.raises(error, match=message):
        run_grid(small_data, 10, **kwargs)


def test_cell_text_is_dark_on_light_cells_and_light_on_dark_ones():
    grid = _grid([["learns"] * 2], rates=(1e-3, 1e-2))
    grid.accuracy[0] = [0.95, 0.1]  # viridis: bright yellow, dark purple
    grid.cost[0] = [0.2, 1e5]  # magma_r: pale, dark
    fig = plot_grid(grid)
    colours = [[text.get_color() for text in ax.texts] for ax in fig.axes[:2]]
    assert colours == [["black", "white"], ["black", "white"]]


def test_a_diverge_factor_of_1_lets_a_run_whose_cost_never_climbs_go_on(small_data):
    # the cost at step 0 is the first cost itself: not above 1 x the first
    grid = run_grid(small_data, 10, keys=["proper"], rates=[1e-3], diverge_factor=1.0)
    costs = grid.histories["proper", 1e-3].costs
    assert all(cost <= costs[0] for cost in costs)
    assert grid.stopped_at[0, 0] == 10 and grid.outcome[0, 0] != "diverged"


def test_one_progress_bar_counts_every_cell_of_the_grid(small_data, capfd):
    # He learns at 1e-2 and 1e-1 in 10 steps, so skip_below_window leaves out the lowest rates:
    # the one bar still counts rows x rates, and no run draws a bar of its own
    rates = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    grid = run_grid(small_data, 10, keys=["proper"], rates=rates, skip_below_window=True)
    assert "not run" in grid.outcome[0]
    shown = capfd.readouterr().err
    assert shown.count("0/5 [") == 1  # one bar, started once, over the 5 cells
    assert "run/s" in shown and "step/s" not in shown
    run_grid(small_data, 10, keys=["proper"], rates=[1e-2], progress=False)
    assert capfd.readouterr().err == ""


def test_live_heat_map_is_shown_at_once_and_replaced_by_the_finished_grid(small_data,
                                                                        monkeypatch):
    import IPython.display

    import course_utils.lab.lr_grid

    shown = []

    class Handle:
        def update(self, figure):
            shown.append(figure)

    def display(figure, display_id=False):
        assert display_id  # a handle, so that later pictures replace this one
        shown.append(figure)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    # a clock that never moves: no redraw between runs, so the finished picture must come from
    # the redraw at the end
    monkeypatch.setattr(course_utils.lab.lr_grid, "time", SimpleNamespace(monotonic=lambda: 0.0))
    grid = run_grid(small_data, 10, keys=["proper"], rates=[1e-2, 1e-1], live=True,
                    progress=False)
    first, last = [[text.get_text() for text in figure.axes[0].texts]
                   for figure in (shown[0], shown[-1])]
    assert first == ["-", "-"]  # nothing run yet
    assert last == [f"{100 * accuracy:.0f}" for accuracy in grid.accuracy[0]]
    assert len(shown) == 2


def test_live_heat_map_keeps_no_figure_alive_in_a_notebook(small_data, monkeypatch):
    # Jupyter's inline backend, in interactive mode as in a notebook, keeps every figure pyplot
    # makes until the cell ends; a grid cell runs for minutes and redraws every 2 s, 9 MB a
    # picture. Here every run redraws (a clock that jumps 10 s a call): none may be kept.
    import IPython.display
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib_inline import backend_inline

    import course_utils.lab.lr_grid

    class Handle:
        def update(self, figure):
            pass

    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(IPython.display, "display", lambda figure, display_id=False: Handle())
    monkeypatch.setattr(course_utils.lab.lr_grid, "time",
                        SimpleNamespace(monotonic=lambda: float(next(clock))))
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    plt.switch_backend("module://matplotlib_inline.backend_inline")
    plt.ion()
    try:
        run_grid(small_data, 2, keys=["proper"], rates=[1e-3, 1e-2, 1e-1], live=True,
                 progress=False)
        kept = len(backend_inline.show._to_draw), plt.get_fignums()
    finally:
        plt.ioff()
        plt.switch_backend(backend)
    assert kept == (0, figures)


def test_one_grid_stacked_alone_is_itself_with_its_runs():
    grid = _grid([["learns", "diverged", "learns", "learns little"]])
    grid.histories[("large", 1e-3)], grid.networks[("large", 1e-3)] = "history", "network"
    alone = stack_grids(grid)
    assert (alone.keys, alone.rates, alone.steps) == (grid.keys, grid.rates, grid.steps)
    np.testing.assert_array_equal(alone.outcome, grid.outcome)
    assert alone.histories == grid.histories and alone.networks == grid.networks


def test_the_heat_maps_say_which_cells_diverged_were_left_out_or_stopped_early():
    grid = _grid([["diverged", "not run", "learns", "at chance"]])
    grid.cost[0] = [np.nan, np.nan, 0.5, 2.3]
    grid.accuracy[0] = [np.nan, np.nan, 0.873, 0.11]
    grid.stopped_at[0] = [3, 0, 10, 4]  # the run at chance was stopped stuck at step 4
    fig = plot_grid(grid, title="A grid")
    accuracy_ax, cost_ax = fig.axes[:2]
    assert [text.get_text() for text in accuracy_ax.texts] == ["div.", "-", "87", "11"]
    assert [text.get_text() for text in cost_ax.texts] == ["div.", "-", "0.5", "2.3"]
    assert accuracy_ax.get_title() == ("Test accuracy after 10 steps (stuck runs stopped at step "
                                       "4) (grey: diverged, -: not run)")
    assert cost_ax.get_title().startswith("Test cost after 10 steps (stuck runs stopped at step 4)")
    assert fig._suptitle.get_text() == "A grid"
    assert [label.get_text() for label in accuracy_ax.get_xticklabels()] == [
        "1.0e-3", "3.2e-3", "1.0e-2", "3.2e-2"]
    # one colour scale for every grid: accuracy 0 to 100 %, cost 0.1 to 1e6 (log10 -1 to 6)
    assert accuracy_ax.images[0].get_clim() == (0, 100)
    assert cost_ax.images[0].get_clim() == (-1, 6)
    np.testing.assert_allclose(cost_ax.images[0].get_array()[0, 2:], np.log10([0.5, 2.3]))
    assert [ax.get_ylabel() for ax in fig.axes[2:]] == ["test accuracy (%)", "log10(test cost)"]
    plt.close(fig)
    grid.outcome[0, 1], grid.stopped_at[0] = "learns", 10  # nothing left out or stopped early
    grid.accuracy[0, 1], grid.cost[0, 1] = 0.6, 1.0
    title = plot_grid(grid).axes[0].get_title()
    assert title == "Test accuracy after 10 steps (grey: diverged)"
    plt.close("all")
