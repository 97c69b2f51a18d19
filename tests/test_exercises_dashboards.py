"""The mystery-dashboard exercise of notebook 8: the right names pass, a wrong one is told what
in its dashboard gives the cause away."""

import pytest

from course_utils import exercises
from course_utils.exercises import (
    DASHBOARD_CAUSES,
    DASHBOARD_CLUES,
    MYSTERY_CAUSES,
    check_dashboards,
)

RIGHT = dict(MYSTERY_CAUSES)


def test_the_right_names_pass():
    feedback = check_dashboards(RIGHT)
    assert feedback.passed and repr(feedback).startswith("Correct!")


def test_names_are_read_loosely():
    loose = {letter: f"  {cause.upper()} " for letter, cause in RIGHT.items()}
    assert check_dashboards(loose).passed


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
    assert "saturated at step 0" in feedback.message and "its cost falls" in feedback.message
    assert "the trouble starts with the first steps" in feedback.message
    assert "Both blow up" not in feedback.message
