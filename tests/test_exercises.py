import math

import numpy as np
import pytest
import tensorflow as tf

from course_utils.exercises import (
    EXERCISES,
    Feedback,
    check,
    check_he_stddev,
    check_kernel_he_stddev,
    check_xavier_limit,
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


@pytest.mark.parametrize("correct", [
    lambda n: math.sqrt(2 / n),
    lambda n: np.sqrt(2.0 / n),
    lambda n: np.float32(np.sqrt(2.0 / n)),  # float32 precision is fine
    lambda n: tf.sqrt(2.0 / tf.cast(n, tf.float32)),  # so is a 0-d tensor
    lambda n: (2 / n) ** 0.5,
])
def test_correct_he_answers_in_any_form_pass(correct):
    feedback = check_he_stddev(correct)
    assert feedback.passed and bool(feedback)
    assert repr(feedback).startswith("Correct!")


@pytest.mark.parametrize("wrong, hint", [
    (lambda n: 2 / n, "the variance"),
    (lambda n: math.sqrt(1 / n), "factor sqrt(2)"),
    (lambda n: math.sqrt(2) / n, "whole fraction"),
    (lambda n: math.sqrt(2 * n), "upside down"),
    (lambda n: math.sqrt(6 / n), "He uniform"),
    (lambda n: -math.sqrt(2 / n), "negative"),
    (lambda n: math.sqrt(8 / n), "too large by the same factor, 2."),
    (lambda n: math.sqrt(1 / (3 * n)), "too small by the same factor, 2.449"),
    (lambda n: 0.05, "the same for every input"),
    (lambda n: n**0.5, "differently from the formula"),
    (lambda n: None, "forget the `return`"),
    (lambda n: ..., "replace the ..."),
    (lambda n: "0.47", "returned a str"),
    (lambda n: np.ones(2), "array of shape (2,)"),
    (lambda n: True, "returned a bool"),
    (lambda n: 1 / 0, "he_stddev(9) raised ZeroDivisionError"),
    (lambda fan_in, fan_out: 1.0, "raised TypeError"),
])
def test_wrong_he_answers_get_a_specific_hint(wrong, hint):
    feedback = check_he_stddev(wrong)
    assert not feedback.passed and not feedback
    assert repr(feedback).startswith("Not yet.")
    assert hint in feedback.message


def test_passing_the_result_instead_of_the_function():
    feedback = check_he_stddev(0.47)
    assert not feedback.passed and "Pass the function itself" in feedback.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda i, o: math.sqrt(2 / (i + o)), "Xavier *stddev*"),
    (lambda i, o: 6 / (i + o), "forgot the square root"),
    (lambda i, o: math.sqrt(6 / i), "fan_in only"),
    (lambda i, o: math.sqrt(6 / o), "fan_out only"),
    (lambda i, o: math.sqrt(6 / (i * o)), "multiplied fan_in and fan_out"),
    (lambda i, o: math.sqrt(3 / (i + o)), "averages the fans"),
    (lambda i, o: math.sqrt(6) / (i + o), "whole fraction"),
])
def test_wrong_xavier_answers_get_a_specific_hint(wrong, hint):
    feedback = check_xavier_limit(wrong)
    assert not feedback.passed and hint in feedback.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda s: math.sqrt(2 / (math.prod(s[:-2]) * s[-1])), "You used fan_out"),
    (lambda s: math.sqrt(2 / s[-2]), "in_channels alone"),
    (lambda s: math.sqrt(2 / math.prod(s)), "number of weights"),
    (lambda s: 2 / (math.prod(s[:-2]) * s[-2]), "Right fan_in, but you returned the variance"),
])
def test_wrong_kernel_answers_get_a_specific_hint(wrong, hint):
    feedback = check_kernel_he_stddev(wrong)
    assert not feedback.passed and hint in feedback.message


def test_a_mistake_on_conv_kernels_is_named_even_if_dense_shapes_raise():
    def conv_only(shape):
        return math.sqrt(2 / (shape[0] * shape[1] * shape[3]))  # fan_out, and 4-D only

    feedback = check_kernel_he_stddev(conv_only)
    assert "You used fan_out" in feedback.message
    assert "kernel_he_stddev((6272, 10)) raised IndexError" in feedback.message


def test_right_on_conv_kernels_but_raises_on_dense_shapes():
    def conv_only(shape):
        return math.sqrt(2 / (shape[0] * shape[1] * shape[2]))

    feedback = check_kernel_he_stddev(conv_only)
    assert feedback.message == (
        "kernel_he_stddev((6272, 10)) raised IndexError: tuple index out of range"
    )


def test_every_listed_mistake_is_recognised_as_itself():
    # Each mistake must be told apart from the answer and from the mistakes listed before it.
    for exercise in EXERCISES.values():
        for mistake, message in exercise.mistakes:
            assert check(exercise.name, mistake) == Feedback(False, message), message


def test_unknown_solution_name():
    with pytest.raises(ValueError, match="unknown exercise 'lecun'"):
        show_solution("lecun")
