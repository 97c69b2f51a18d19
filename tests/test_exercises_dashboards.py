"""The mystery-dashboard exercise of notebook 8: the right names pass, a wrong one is told what
in its dashboard gives the cause away."""

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
