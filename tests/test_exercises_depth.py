"""The depth exercise of notebook 06: choose the std that keeps a 30-layer ReLU stack in range."""

import math

import pytest

from course_utils.learner import exercises
from course_utils.learner.exercises import (
    check_deep_stack_std,
    depth,
    run_deep_stack,
    solution_text,
)

FAN_IN = depth.DEPTH_STACK_WIDTH


def test_he_std_passes_and_rounded_answers_too():
    for std in (math.sqrt(2 / FAN_IN), 0.088, 0.09):
        feedback = check_deep_stack_std(std)
        assert feedback.passed, feedback
        assert "within 2x" in feedback.message


@pytest.mark.parametrize("std, hint", [
    (math.sqrt(1 / FAN_IN), "forgot ReLU's 1/2"),
    (2 / FAN_IN, "the variance 2 / fan_in, not the std"),
    (1 / FAN_IN, "That is a variance"),
    (math.sqrt(2) / FAN_IN, "divide by sqrt(fan_in)"),
    (math.sqrt(2), "That is the gain"),
])
def test_known_mistakes_are_named(std, hint):
    feedback = check_deep_stack_std(std)
    assert not feedback.passed
    assert hint in feedback.message


def test_forgotten_half_reports_the_measured_shrink_per_layer():
    feedback = check_deep_stack_std(math.sqrt(1 / FAN_IN))
    assert "multiplied by 0.7" in feedback.message  # sqrt(1/2) = 0.71 per layer, measured


@pytest.mark.parametrize("std, word", [(1.0, "multiplied by 11"), (0.01, "multiplied by 0.1")])
def test_other_wrong_stds_say_how_far_off(std, word):
    feedback = check_deep_stack_std(std)
    assert not feedback.passed and word in feedback.message
    assert "its per-layer factor" in feedback.message and "must be 1" in feedback.message


@pytest.mark.parametrize("bad", ["0.09", -0.1, 0, float("nan"), None])
def test_not_a_positive_number(bad):
    feedback = check_deep_stack_std(bad)
    assert not feedback.passed and "one positive number" in feedback.message


def test_the_run_is_seeded_and_forward_only():
    first, again = run_deep_stack(0.05), run_deep_stack(0.05)
    assert (first == again).all() and first.shape == (depth.DEPTH_STACK_DEPTH,)
    # wide margin: the exact He std stays well inside 2x on this draw
    growth = run_deep_stack(math.sqrt(2 / FAN_IN))[-1] / run_deep_stack(math.sqrt(2 / FAN_IN))[0]
    assert 0.8 < growth < 1.25


def test_registered_with_a_solution_that_passes():
    assert "deep_stack_std" in exercises.RUN_SOLUTIONS
    text = solution_text("deep_stack_std")
    namespace = {"check_deep_stack_std": check_deep_stack_std}
    exec(text.replace("check_deep_stack_std(weight_std)\n", ""), namespace)
    assert check_deep_stack_std(namespace["weight_std"]).passed
