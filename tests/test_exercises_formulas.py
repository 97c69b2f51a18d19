"""The formula checks' hints, case by case: which call a hint quotes, what factor it names, and
how a Feedback reads (test_exercises.py has the known mistakes)."""

import math

import numpy as np
import pytest

from course_utils.learner.exercises import EXERCISES, Feedback, check, check_uniform_cost
from course_utils.learner.exercises.feedback import as_number

# Every call the checks make, with the right value from the textbook formula:
# ln k; target * weight_std / gradient_std; sqrt(2 / ((1 + a**2) * fan_in)).
CALLS = {
    "uniform_cost": [((10,), math.log(10)), ((3,), math.log(3)), ((2,), math.log(2)),
                     ((1000,), math.log(1000))],
    "rate_for_update_ratio": [((2.0, 0.05), 2.5e-5), ((1e5, 1.0), 1e-8),
                              ((7e-4, 0.01), 1e-3 * 0.01 / 7e-4), ((3.0, 0.02, 1e-2), 0.02 / 300)],
    "leaky_he_stddev": [((9, 0.0), math.sqrt(2 / 9)), ((576, 0.01), math.sqrt(2 / 576.0576)),
                        ((1152, 0.2), math.sqrt(2 / (1.04 * 1152))),
                        ((576, 0.5), math.sqrt(2 / (1.25 * 576)))],
}
WRONG_AT = [(name, index) for name, calls in CALLS.items() for index in range(len(calls))]


def _call(name, args):
    return f"{name}({', '.join(map(repr, args))})"


@pytest.mark.parametrize("name, index", WRONG_AT)
def test_a_function_wrong_at_one_input_is_told_that_call_and_its_value(name, index):
    calls = dict(CALLS[name])
    wrong_args, want = CALLS[name][index]

    def answer(*args):
        return calls[args] * (1.01 if args == wrong_args else 1)

    feedback = check(name, answer)
    assert not feedback.passed
    assert feedback.message.startswith(f"{_call(name, wrong_args)} should be {want:.4g}, got "
                                       f"{1.01 * want:.4g}.")
    assert check(name, lambda *args: calls[args]).passed  # and right everywhere: it passes
    assert check(name, lambda *args: calls[args]).message.endswith(
        f"right value on all {len(calls)} test cases.")


@pytest.mark.parametrize("factor, name", [(math.sqrt(2), "sqrt(2)"), (2.0, "2"),
                                          (math.sqrt(3), "sqrt(3)"), (3.0, "3"), (5.0, "5"),
                                          (2.003, "2.003"), (2.0005, "2")])
@pytest.mark.parametrize("size", ["too large", "too small"])
def test_a_constant_factor_off_is_named(factor, name, size):
    scale = factor if size == "too large" else 1 / factor
    feedback = check_uniform_cost(lambda k: scale * math.log(k))
    assert not feedback.passed
    assert feedback.message.endswith(f"Every answer is {size} by the same factor, {name}."), (
        feedback.message)


@pytest.mark.parametrize("spread, same", [(0.0002, True), (0.0005, False), (0.01, False)])
def test_a_factor_counts_as_the_same_to_a_tenth_of_a_percent(spread, same):
    # 2 ln k times 1, 1 + spread, 1 + 2 spread, 1 + 3 spread: the last is 3 spread off
    cases = [args[0] for args, _ in CALLS["uniform_cost"]]
    feedback = check_uniform_cost(lambda k: 2 * math.log(k) * (1 + spread * cases.index(k)))
    assert ("too large by the same factor, 2." in feedback.message) is same, feedback.message
    if not same:
        assert feedback.message.endswith("It changes with the arguments differently from the "
                                         "formula.")


def test_a_constant_answer_is_told_it_ignores_the_arguments():
    for name, calls in CALLS.items():
        feedback = check(name, lambda *args: 0.25)
        first_args, want = calls[0]
        assert feedback.message == (f"{_call(name, first_args)} should be {want:.4g}, got 0.25. "
                                    "Your answer is the same for every input: it should depend "
                                    "on the arguments.")


def test_feedback_reads_as_correct_or_not_yet_then_the_message():
    assert repr(Feedback(True, "ln 10 = 2.3026.")) == "Correct! ln 10 = 2.3026."
    assert repr(Feedback(False, "Take the log.")) == "Not yet. Take the log."
    assert bool(Feedback(True, "")) and not Feedback(False, "")


def test_only_one_real_number_is_a_number():
    assert as_number(np.array(2.5)) == 2.5 and as_number(np.float32(0.5)) == 0.5
    for value in (np.array([2.5]), np.ones((1, 1)), [2.5], "2.5", True, 1j):
        assert as_number(value) is None, value


def test_the_exercises_are_fixed_once_defined():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        EXERCISES["uniform_cost"].cases = ((10,),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Feedback(True, "").passed = False
