"""The mystery-dashboard exercise of notebook 8: the right names pass, a wrong one is told what
in its dashboard gives the cause away."""

import numpy as np
import pytest

from course_utils.learner import exercises
from course_utils.learner.exercises import (
    DASHBOARD_CAUSES,
    DASHBOARD_CLUES,
    MYSTERY_CAUSES,
    check_dashboards,
)

RIGHT = dict(MYSTERY_CAUSES)


def test_names_are_read_loosely():
    loose = {letter: f"  {cause.upper()} " for letter, cause in RIGHT.items()}
    assert check_dashboards(loose).passed
    typed = {letter: cause.replace("-", "\u2013").replace(" ", "  ")
             for letter, cause in RIGHT.items()}
    assert any("\u2013" in name for name in typed.values())  # "pixels 0–255", as typed
    assert check_dashboards(typed).passed


def test_every_cause_is_shown_once_and_has_a_clue():
    assert sorted(MYSTERY_CAUSES.values()) == sorted(DASHBOARD_CAUSES)
    assert set(DASHBOARD_CLUES) == set(DASHBOARD_CAUSES)


@pytest.mark.parametrize("letter", sorted(MYSTERY_CAUSES))
def test_a_wrong_name_gets_the_clue_of_its_dashboard(letter):
    true = MYSTERY_CAUSES[letter]
    said = next(cause for cause in DASHBOARD_CAUSES if cause != true)
    feedback = check_dashboards({**RIGHT, letter: said})
    assert not feedback.passed
    assert f"{letter} is not {said!r}" in feedback.message
    assert DASHBOARD_CLUES[true] in feedback.message
    assert "4 of 5 right" in feedback.message
    for other in MYSTERY_CAUSES:  # the right ones are not mentioned
        if other != letter:
            assert f"{other} is not" not in feedback.message


def test_the_dead_layer_clue_points_at_the_zero_update_ratio():
    feedback = check_dashboards({**RIGHT, "C": "x0.01 everywhere"})
    assert "exactly 0" in feedback.message and "100 % dead" in feedback.message


def test_confusing_the_two_small_scales_says_what_tells_them_apart():
    feedback = check_dashboards({**RIGHT, "A": "x0.01 everywhere", "D": "x0.01 last layer"})
    assert "0 of 5" not in feedback.message and "3 of 5 right" in feedback.message
    assert "conv spreads are about 0.5" in feedback.message  # A's contrast
    assert "shrink to 1e-4" in feedback.message  # D's contrast


def test_missing_and_unknown_names_are_explained():
    feedback = check_dashboards({"A": "bad luck"})
    assert not feedback.passed
    assert "No answer for B, C, D, E" in feedback.message
    assert "'bad luck' is not one of the causes" in feedback.message
    assert "'dead layer1'" in feedback.message
    assert "Pass a dict" in check_dashboards(["rate too high"]).message


def test_the_solution_is_registered_and_passes():
    text = exercises.solution_text("dashboards")
    namespace = {"check_dashboards": check_dashboards}
    assert eval(text, namespace).passed  # the solution is one call of the check


def test_confusing_the_rate_with_the_pixels_says_the_pixels_run_does_not_blow_up():
    # dashboard E (pixels 0-255) starts with huge update ratios but its cost falls: the contrast
    # must not tell the learner that both runs blow up
    feedback = check_dashboards({**RIGHT, "E": "rate too high", "B": "pixels 0-255"})
    assert "over-confident at step 0" in feedback.message and "its cost falls" in feedback.message
    assert "the trouble starts with the first steps" in feedback.message
    assert "Both blow up" not in feedback.message


@pytest.fixture(scope="module")
def mystery_runs(subset):
    """The five hidden runs, trained as notebook 8 trains them (8 steps, recorded every 2)."""
    recorders, diverged = exercises.mystery_dashboards(subset)
    by_cause = {MYSTERY_CAUSES[letter]: recorder for letter, recorder in recorders.items()}
    return by_cause, {MYSTERY_CAUSES[letter]: step for letter, step in diverged.items()}


def _first(recorder, field):
    return recorder.records[0][field]


@pytest.mark.slow  # trains five short runs
def test_each_clue_is_what_its_dashboard_shows(mystery_runs):
    """Every number a clue in DASHBOARD_CLUES quotes holds for the run it describes."""
    import math

    runs, diverged = mystery_runs
    he_like = ("rate too high", "x0.01 last layer")
    for cause in he_like:  # "its spreads are He's (0.4 to 0.6)"
        spreads = _first(runs[cause], "activation_std").values()
        assert all(0.3 < spread < 0.8 for spread in spreads), (cause, spreads)
    high = runs["rate too high"]
    assert max(_first(high, "update_ratio").values()) > 1e-1
    assert diverged["rate too high"] is not None  # the cost overflows
    assert 2.0 < _first(high, "cost") < 3.0  # "its cost about 2.5"

    dead = runs["dead layer1"]
    assert all(record["dead"]["layer1"] == 1.0 for record in dead.records)
    assert all(ratio == 0 for record in dead.records for ratio in record["update_ratio"].values())
    assert _first(dead, "cost") == pytest.approx(math.log(10), abs=1e-3)

    pixels = runs["pixels 0-255"]
    spreads = list(_first(pixels, "activation_std").values())
    assert all(50 < spread < 300 for spread in spreads)  # "about 100", flat
    assert max(spreads) / min(spreads) < 3
    assert _first(pixels, "overconfident") > 0.5  # "most predictions are over-confident"
    assert pixels.records[-1]["cost"] < _first(pixels, "cost")  # its cost falls
    assert diverged["pixels 0-255"] is None

    small = runs["x0.01 everywhere"]
    spreads = list(_first(small, "activation_std").values())
    assert spreads == sorted(spreads, reverse=True) and spreads[0] < 0.1 and spreads[-1] < 1e-3
    assert max(_first(small, "update_ratio").values()) < 1e-4
    assert all(record["cost"] == pytest.approx(math.log(10), abs=1e-3)
               for record in small.records)

    last = runs["x0.01 last layer"]
    ratios = _first(last, "update_ratio")
    assert max(ratios, key=ratios.get) == "layer5"
    assert all(1e-7 < ratios[layer] < 1e-5 for layer in ("layer1", "layer2", "layer3", "layer4"))
    assert _first(last, "cost") == pytest.approx(math.log(10), abs=0.01)
    assert last.records[-1]["cost"] < _first(last, "cost")  # it trains


def test_extra_letters_are_ignored():
    assert check_dashboards({**RIGHT, "F": "no such cause"}).passed


class _Recorded:
    """What plot_mystery_dashboards reads of a Recorder (steps, series), without training."""

    def __init__(self, ratios, spreads, costs):
        self.steps = list(range(0, 2 * len(costs), 2))
        self.fields = {"update_ratio": ratios, "activation_std": spreads}
        self.costs = costs

    def series(self, field):
        if field == "cost":
            return np.asarray(self.costs, dtype=float)
        return {name: np.asarray(values, dtype=float)
                for name, values in self.fields[field].items()}


def _dashboards():
    healthy = _Recorded({"layer1": [1e-3, 1e-2, 1e-1], "layer5": [0.0, 1e-9, 1e-4]},
                        {"layer1": [0.5, 0.5, 0.6]}, [2.3, 1.9, 1.2])
    flat = _Recorded({"layer1": [1e-6, 1e-6, 1e-6], "layer5": [1e-6, 1e-6, 1e-6]},
                     {"layer1": [1e-2, 1e-2, 1e-2]}, [2.302585, 2.302586, 2.302585])
    overflowed = _Recorded({"layer1": [1.0, 10.0, 100.0], "layer5": [1.0, 1.0, 1.0]},
                           {"layer1": [0.5, 50.0, 5e4]}, [2.5, 40.0, float("inf")])
    return {"A": healthy, "B": flat, "C": overflowed}


@pytest.fixture
def dashboard_figure():
    import matplotlib.pyplot as plt

    fig = exercises.plot_mystery_dashboards(_dashboards(), diverged={"C": 4})
    fig.canvas.draw()
    yield fig, np.array(fig.axes).reshape(3, 3)
    plt.close(fig)


def test_dashboards_have_three_rows_and_one_column_per_run(dashboard_figure):
    fig, axes = dashboard_figure
    assert [ax.get_title() for ax in axes[0]] == ["dashboard A", "dashboard B", "dashboard C"]
    assert all(ax.get_title() == "" for ax in axes[1:].ravel())
    assert [ax.get_ylabel() for ax in axes[:, 0]] == [
        "log10 update ratio", "log10 spread", "log10 cost (own scale)"]
    assert [ax.get_ylabel() for ax in axes[2]] == ["log10 cost (own scale)"] * 3
    assert all(ax.get_ylabel() == "" for ax in axes[:2, 1:].ravel())
    assert [ax.get_xlabel() for ax in axes[2]] == ["training step"] * 3
    assert all(ax.get_xlabel() == "" for ax in axes[:2].ravel())
    assert all(ax.xaxis.get_gridlines()[0].get_visible() for ax in axes.ravel())
    assert "zero" in fig.get_suptitle()


def test_dashboards_are_as_wide_as_their_number_of_runs():
    import matplotlib.pyplot as plt

    two = exercises.plot_mystery_dashboards(dict(list(_dashboards().items())[:2]))
    three = exercises.plot_mystery_dashboards(_dashboards())
    assert three.get_figwidth() == pytest.approx(1.5 * two.get_figwidth())
    assert three.get_figheight() == two.get_figheight()
    plt.close("all")


def test_dashboard_values_are_log10_with_zero_on_the_floor(dashboard_figure):
    _, axes = dashboard_figure
    ratios = axes[0, 0].lines
    assert ratios[0].get_ydata() == pytest.approx([-3, -2, -1])
    assert ratios[1].get_ydata() == pytest.approx([-8, -8, -4])  # 0 and 1e-9: on the floor
    assert ratios[-1].get_ydata()[0] == -3 and ratios[-1].get_linestyle() == "--"
    assert all("--" not in [line.get_linestyle() for line in ax.lines] for ax in axes[1:, 0])
    assert axes[0, 0].get_yticklabels()[0].get_text() == "zero"
    assert axes[0, 0].get_yticks()[0] == -8 and axes[1, 0].get_yticks()[0] == -8
    assert axes[0, 0].get_ylim()[0] == pytest.approx(-8.5)
    assert all(tick > -7.5 for tick in axes[0, 0].get_yticks()[1:])
    cost = axes[2, 2].lines[0].get_ydata()
    assert cost[:2] == pytest.approx(np.log10([2.5, 40.0])) and np.isnan(cost[2])  # inf: a gap
    assert axes[0, 2].get_legend() is not None and axes[1, 2].get_legend() is not None


def test_a_custom_floor():
    import matplotlib.pyplot as plt

    fig = exercises.plot_mystery_dashboards({"A": _dashboards()["A"]}, floor=-5)
    assert fig.axes[0].lines[1].get_ydata() == pytest.approx([-5, -5, -4])
    assert fig.axes[0].get_yticks()[0] == -5
    plt.close(fig)


def test_update_ratio_and_spread_rows_share_a_scale_costs_do_not(dashboard_figure):
    _, axes = dashboard_figure
    for row in (0, 1):
        assert all(ax.get_ylim() == axes[row, 0].get_ylim() for ax in axes[row])
    assert axes[2, 0].get_ylim() != axes[2, 2].get_ylim()


def test_a_flat_cost_reads_flat(dashboard_figure):
    _, axes = dashboard_figure
    low, high = axes[2, 1].get_ylim()  # B's cost moves by 1e-6 only
    assert high - low == pytest.approx(0.02)
    assert axes[2, 1].yaxis.get_offset_text().get_text() == ""  # full values, no "+0.362"
    assert (low + high) / 2 == pytest.approx(np.log10(2.302585), abs=1e-6)
    low, high = axes[2, 0].get_ylim()  # A's cost falls: its own range, not widened
    assert high - low < 0.5
    assert low <= np.log10(1.2) and high >= np.log10(2.3)


def test_the_step_the_cost_overflowed_is_marked_in_its_column_only(dashboard_figure):
    _, axes = dashboard_figure
    for ax in axes[:, 2]:
        red = [line for line in ax.lines if line.get_color() == "red"]
        assert len(red) == 1 and list(red[0].get_xdata()) == [4, 4]
    assert not any(line.get_color() == "red" for ax in axes[:, :2].ravel() for line in ax.lines)


def test_missing_names_alone_are_explained():
    feedback = check_dashboards({"A": RIGHT["A"], "B": RIGHT["B"]})
    assert not feedback.passed
    assert "No answer for C, D, E." in feedback.message and "is not one of" not in feedback.message


def test_answers_that_are_not_a_dict_fail():
    for answers in (["rate too high"] * 5, None, "A: rate too high"):
        feedback = check_dashboards(answers)
        assert not feedback.passed and "Pass a dict" in feedback.message


@pytest.fixture(scope="module")
def first_records(subset):
    """The five hidden runs, one step each: their records at step 0 are what the learner sees
    first (the slow test above trains them as notebook 8 does)."""
    recorders, diverged = exercises.mystery_dashboards(subset, steps=1, record_every=1)
    return ({MYSTERY_CAUSES[letter]: recorder for letter, recorder in recorders.items()},
            {MYSTERY_CAUSES[letter]: step for letter, step in diverged.items()})


def test_reused_runs_are_shown_as_they_are(subset):
    reuse = {cause: (object(), type("History", (), {"diverged_at": step})())
             for step, cause in enumerate(DASHBOARD_CAUSES)}
    recorders, diverged = exercises.mystery_dashboards(subset, reuse=reuse)  # trains nothing
    assert list(recorders) == list(MYSTERY_CAUSES)  # A to E, in the notebook's order
    for letter, cause in MYSTERY_CAUSES.items():
        assert recorders[letter] is reuse[cause][0]
        assert diverged[letter] == reuse[cause][1].diverged_at


def test_each_hidden_run_starts_as_its_cause_says(first_records, subset):
    runs, diverged = first_records
    assert all(step is None for step in diverged.values())
    assert all(run.steps == [0, 1] for run in runs.values())
    assert runs["rate too high"].learning_rate == 1.0  # notebook 8 keeps this default
    assert max(runs["rate too high"].records[0]["update_ratio"].values()) > 1
    he_spreads = [list(runs[cause].records[0]["activation_std"].values())
                  for cause in ("rate too high", "x0.01 last layer")]
    assert he_spreads[0] == he_spreads[1]  # the same He + Xavier conv weights
    assert all(0.3 < spread < 0.8 for spread in he_spreads[0])
    dead = runs["dead layer1"].records[0]
    assert dead["dead"]["layer1"] == 1.0 and not any(dead["update_ratio"].values())
    small = list(runs["x0.01 everywhere"].records[0]["activation_std"].values())
    assert small == sorted(small, reverse=True) and small[0] < 0.1  # N(0, 1) x 0.01
    for cause, run in runs.items():  # only the pixels run sees other images: 255 times these
        factor = 255 if cause == "pixels 0-255" else 1
        np.testing.assert_array_equal(run.images, factor * subset.train_images)
    assert runs["pixels 0-255"].records[0]["overconfident"] > 0.5


def test_the_last_layer_run_is_he_xavier_with_layer5_times_0_01(first_records, subset):
    import tensorflow as tf

    from course_utils.core.network import ConvNet
    from course_utils.lab.experiments import EXPERIMENTS
    from course_utils.lab.monitor import Recorder

    weights = EXPERIMENTS["proper"].create_weights(0)
    weights["layer5"] = tf.Variable(0.01 * weights["layer5"])
    expected = Recorder(ConvNet.from_weights(weights), subset.train_images,
                        subset.train_labels, 1e-3).records[0]
    measured = first_records[0]["x0.01 last layer"].records[0]
    for layer, ratio in expected["update_ratio"].items():
        assert measured["update_ratio"][layer] == pytest.approx(ratio, rel=1e-6)
    assert measured["cost"] == pytest.approx(expected["cost"], rel=1e-6)


def test_a_cost_that_moves_a_little_keeps_every_point_in_view():
    import matplotlib.pyplot as plt

    costs = [2.3, 2.3 * 10**-0.0125, 2.3 * 10**-0.025]  # 6 % in all: log10 moves by 0.025
    run = _Recorded({"layer1": [1e-3] * 3}, {"layer1": [0.5] * 3}, costs)
    fig = exercises.plot_mystery_dashboards({"A": run})
    cost_ax = fig.axes[2]
    low, high = cost_ax.get_ylim()
    assert low < np.log10(costs[-1]) and np.log10(costs[0]) < high
    plt.close(fig)


def test_every_panel_spans_the_same_steps():
    import matplotlib.pyplot as plt

    short = _Recorded({"layer1": [1e-3] * 2}, {"layer1": [0.5] * 2}, [2.3, 2.2])
    fig = exercises.plot_mystery_dashboards({"A": _dashboards()["A"], "B": short})
    assert len({ax.get_xlim() for ax in fig.axes}) == 1
    plt.close(fig)


def test_step_ticks_are_whole_numbers(dashboard_figure):
    _, axes = dashboard_figure
    ticks = axes[2, 0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))
