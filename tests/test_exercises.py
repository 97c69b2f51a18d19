import math
import re

import numpy as np
import pytest
import tensorflow as tf

from course_utils.learner.exercises import (
    EXERCISES,
    Feedback,
    check,
    check_leaky_he_stddev,
    check_rate_for_update_ratio,
    check_uniform_cost,
    show_solution,
)


def solution(name):
    namespace = {}
    exec(EXERCISES[name].solution, namespace)
    return namespace[name]


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_shown_solution_passes(name, capsys):
    assert check(name, solution(name)).passed
    show_solution(name)
    assert f"def {name}(" in capsys.readouterr().out


def test_the_answers_are_the_textbook_values():
    # Guards the answer functions themselves: a wrong answer would pass a wrong learner.
    assert math.isclose(EXERCISES["uniform_cost"].answer(10), 2.302585, rel_tol=1e-6)
    assert math.isclose(EXERCISES["uniform_cost"].answer(2), 0.693147, rel_tol=1e-6)
    assert math.isclose(EXERCISES["rate_for_update_ratio"].answer(2.0, 0.05), 2.5e-5)
    assert math.isclose(EXERCISES["rate_for_update_ratio"].answer(3.0, 0.02, 1e-2),
                        0.02 / 300)
    # a = 0 is He's sqrt(2 / fan_in); a = 1 is linear, LeCun's sqrt(1 / fan_in)
    assert math.isclose(EXERCISES["leaky_he_stddev"].answer(9, 0.0), math.sqrt(2 / 9))
    assert math.isclose(EXERCISES["leaky_he_stddev"].answer(576, 1.0), math.sqrt(1 / 576))


@pytest.mark.parametrize("correct", [
    lambda k: math.log(k),
    lambda k: -math.log(1 / k),
    lambda k: np.log(k),
    lambda k: np.float32(np.log(k)),  # float32 precision is fine
    lambda k: tf.math.log(tf.cast(k, tf.float32)),  # so is a 0-d tensor
])
def test_correct_answers_in_any_form_pass(correct):
    feedback = check_uniform_cost(correct)
    assert feedback.passed and bool(feedback)
    assert repr(feedback).startswith("Correct!")


@pytest.mark.parametrize("wrong, hint", [
    (lambda k: math.log10(k), "natural logarithm"),
    (lambda k: math.log2(k), "in bits"),
    (lambda k: -math.log(k), "negative"),
    (lambda k: 1 / k, "prediction 1 / num_classes itself"),
    (lambda k: math.log(10), "only the 10-class answer"),
    (lambda k: 2 * math.log(k), "too large by the same factor, 2."),
    (lambda k: 0.05, "the same for every input"),
    (lambda k: k**0.5, "differently from the formula"),
    (lambda k: None, "forget the `return`"),
    (lambda k: ..., "replace the ..."),
    (lambda k: "2.3", "returned a str"),
    (lambda k: np.ones(2), "array of shape (2,)"),
    (lambda k: True, "returned a bool"),
    (lambda k: 1 / 0, "uniform_cost(10) raised ZeroDivisionError"),
    (lambda k, j: 1.0, "raised TypeError"),
])
def test_wrong_uniform_cost_answers_get_a_specific_hint(wrong, hint):
    feedback = check_uniform_cost(wrong)
    assert not feedback.passed and not feedback
    assert repr(feedback).startswith("Not yet.")
    assert hint in feedback.message


def test_passing_the_result_instead_of_the_function():
    feedback = check_uniform_cost(2.3)
    assert not feedback.passed and "Pass the function itself" in feedback.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda g, w, target=1e-3: target * g / w, "Upside down"),
    (lambda g, w, target=1e-3: w / g, "left out the target"),
    (lambda g, w, target=1e-3: 1e-3 * w / g, "ignored the `target` argument"),
    (lambda g, w, target=1e-3: target / g, "weight_std belongs in the answer"),
    (lambda g, w, target=1e-3: target * (w / g) ** 2, "squared"),
])
def test_wrong_rate_answers_get_a_specific_hint(wrong, hint):
    feedback = check_rate_for_update_ratio(wrong)
    assert not feedback.passed and hint in feedback.message


def test_a_rate_function_without_a_target_argument_is_told_where_it_fails():
    feedback = check_rate_for_update_ratio(lambda g, w: 1e-3 * w / g)
    assert not feedback.passed
    assert feedback.message.startswith("rate_for_update_ratio(3.0, 0.02, 0.01) raised TypeError")


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, a: math.sqrt(2 / n), "plain ReLU"),
    (lambda n, a: math.sqrt(2 / ((1 + a) * n)), "negative_slope squared"),
    (lambda n, a: math.sqrt(1 / ((1 + a**2) * n)), "Off by sqrt(2)"),
    (lambda n, a: 2 / ((1 + a**2) * n), "take its square root"),
    (lambda n, a: math.sqrt(2 / ((1 - a**2) * n)), "*adds* variance"),
])
def test_wrong_leaky_answers_get_a_specific_hint(wrong, hint):
    feedback = check_leaky_he_stddev(wrong)
    assert not feedback.passed and hint in feedback.message


def test_every_listed_mistake_is_recognised_as_itself():
    # Each mistake must be told apart from the answer and from the mistakes listed before it.
    for exercise in EXERCISES.values():
        for mistake, message in exercise.mistakes:
            assert check(exercise.name, mistake) == Feedback(False, message), message


def test_unknown_solution_name():
    with pytest.raises(ValueError, match="unknown exercise 'lecun'"):
        show_solution("lecun")


def test_the_error_rate_of_guessing_gets_its_own_hint():
    feedback = check_uniform_cost(lambda k: 1 - 1 / k)
    assert not feedback.passed and "error rate of guessing" in feedback.message


def test_the_generic_hint_quotes_the_first_case():
    feedback = check_uniform_cost(lambda k: k**0.5)
    assert feedback.message.startswith("uniform_cost(10) should be 2.303, got 3.162.")


def test_the_generic_hint_quotes_a_wrong_case_in_digits_that_differ():
    # right for k = 10, 0.02 % off elsewhere (over the 0.01 % tolerance): the hint names a
    # wrong case and never reads "should be 1.099, got 1.099"
    feedback = check_uniform_cost(lambda k: math.log(k) * (1 if k == 10 else 1.0002))
    assert not feedback.passed
    call, want, got = re.match(r"(\S+) should be (\S+), got (\S+?)\.(?: |$)",
                               feedback.message).groups()
    assert call == "uniform_cost(3)" and want != got
    assert float(want) == pytest.approx(math.log(3), rel=1e-4)


def test_numbers_are_shown_apart():
    from course_utils.learner.exercises.feedback import apart

    assert apart(2.302585, 3.1622777) == ("2.303", "3.162")
    assert apart(0.47140452, 0.47140001) == ("0.471405", "0.4714")
    assert apart(1.0, 1.0) == ("1", "1")  # equal: nothing to tell apart


def test_a_solution_stays_folded_until_clicked():
    from course_utils.learner.exercises import solution
    folded = solution("leaky_he_stddev")
    assert folded.selected_index is None
    assert "sqrt" not in repr(folded)  # a saved notebook does not give the answer away
    folded.selected_index = 0  # the click
    assert "def leaky_he_stddev(" in folded.children[0].value
    with pytest.raises(ValueError, match="choose one of"):
        solution("no_such_exercise")
