"""The run-check of notebook 1: make N(0, 1) learn by changing one tensor's scale.

The right answer (layer4 x 1e-6 at 1e-10) passes a 30-step run; the usual wrong ones get told
what is off. The margins were measured: the right answer ends near 0.9 against the 1.4 target,
layer4 x 1e-6 at notebook 1's 1e-7 jumps to hundreds (the spike limit is 10), layer1 x 1e-6 at
1e-10 ends near 2.0.
"""

from course_utils.learner import exercises
from course_utils.learner.exercises import check_one_tensor_scale, solution_text

ONES = {"layer1": 1, "layer2": 1, "layer3": 1, "layer4": 1, "layer5": 1}


def test_the_registered_solution_runs_and_passes(subset):
    assert "one_tensor_scale" in exercises.RUN_SOLUTIONS
    calls = []
    exec(solution_text("one_tensor_scale"),
         {"check_one_tensor_scale": lambda *args: calls.append(args)})
    (arguments,) = calls
    assert arguments == ({**ONES, "layer4": 1e-6}, 1e-10)  # the answer the docstring names
    feedback = check_one_tensor_scale(*arguments, data=subset)
    assert feedback.passed, feedback
    assert "ln 10" in feedback.message


def test_no_change_and_two_changes_are_caught_before_training(subset):
    assert "changed no tensor" in check_one_tensor_scale(ONES).message
    feedback = check_one_tensor_scale({**ONES, "layer1": 0.01, "layer5": 1e-4}, 1e-10,
                                      data=subset)
    assert not feedback.passed
    assert "changed 2 tensors (layer1, layer5)" in feedback.message


def test_bad_inputs_get_a_plain_answer():
    assert "not a weight tensor" in check_one_tensor_scale({"layer6": 1e-6}).message
    assert "positive number" in check_one_tensor_scale({"layer4": -1e-6}).message
    assert "Pass a dict" in check_one_tensor_scale(1e-6).message


def test_a_scale_too_mild_leaves_the_logits_huge(subset):
    feedback = check_one_tensor_scale({"layer5": 1e-3}, 1e-10, data=subset)
    assert not feedback.passed
    assert "first cost is still" in feedback.message and "logits are still huge" in feedback.message


def test_the_right_scale_at_the_original_rate_takes_too_large_a_step(subset):
    feedback = check_one_tensor_scale({"layer4": 1e-6}, 1e-7, data=subset)
    assert not feedback.passed
    assert "jumped to" in feedback.message and "Lower the learning rate" in feedback.message


def test_layer1_scaled_learns_too_slowly(subset):
    feedback = check_one_tensor_scale({"layer1": 1e-6}, 1e-10, data=subset)
    assert not feedback.passed
    assert "too slowly" in feedback.message


def test_an_unsteady_run_is_told_it_overshoots(subset):
    # layer5 x 1e-7 at 1e-10: the cost climbs above 5 before settling near 2.1
    feedback = check_one_tensor_scale({"layer5": 1e-7}, 1e-10, data=subset)
    assert not feedback.passed
    assert "overshoot" in feedback.message


def test_a_tensor_name_typed_loosely_is_read():
    # "Layer 4" and "layer 6" reach the same checks as "layer4" and "layer6", before any training
    feedback = check_one_tensor_scale({"Layer 1": 0.01, " layer5": 1e-4}, 1e-10)
    assert "changed 2 tensors (layer1, layer5)" in feedback.message
    assert "'layer6': not a weight tensor" in check_one_tensor_scale({"layer 6": 1e-6}).message
