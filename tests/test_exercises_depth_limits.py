"""Notebook 6's depth check at its limits: the 2x band, the 2 % that names a known mistake, and the
numbers its feedback quotes (test_exercises_depth.py has the usual answers)."""

import functools
import math
import re

import numpy as np
import pytest

from course_utils.learner.exercises import check_deep_stack_std, run_deep_stack

HE = math.sqrt(2 / 256)  # the stack has 256 inputs per unit


@functools.cache
def _growth(std):
    spreads = run_deep_stack(std)
    return spreads[-1] / spreads[0]


def _std_for(growth):
    """The std whose run grows by ``growth`` over the stack: every layer's weights are the same
    draws times the std, so the last layer's spread over the first's goes as std**29."""
    return HE * (growth / _growth(HE)) ** (1 / 29)


def _quoted(message, before):
    return float(re.search(re.escape(before) + r" ([0-9.e+-]+[0-9])", message).group(1))


def test_the_stack_is_30_relu_layers_of_256_fed_256_normal_vectors():
    rng = np.random.default_rng(7)
    hidden = rng.standard_normal((256, 256))
    weights = [0.07 * rng.standard_normal((256, 256)) for _ in range(30)]
    expected = []
    for matrix in weights:
        pre_activation = hidden @ matrix
        expected.append(pre_activation.std())
        hidden = np.maximum(pre_activation, 0)
    np.testing.assert_allclose(run_deep_stack(0.07, seed=7), expected, rtol=1e-9)


def test_the_default_draw_keeps_the_exact_he_std_within_1_percent():
    assert _growth(HE) == pytest.approx(1, abs=0.01)


@pytest.mark.parametrize("growth, passes", [(1.98, True), (2.02, False), (1 / 1.98, True),
                                            (1 / 2.02, False), (0.6, True), (1.5, True)])
def test_the_last_layers_spread_must_stay_within_2x_of_the_first(growth, passes):
    std = _std_for(growth)
    assert _growth(std) == pytest.approx(growth, rel=1e-9)
    feedback = check_deep_stack_std(std)
    assert feedback.passed is passes, (growth, feedback)
    message = feedback.message
    assert _quoted(message, "layer 30's spread is") == pytest.approx(growth, rel=5e-3)
    assert _quoted(message, "(gain") == pytest.approx(std * 16, rel=5e-3)
    assert "std = gain / sqrt(256)" in message
    per_layer = growth ** (1 / 29)
    if passes:
        assert _quoted(message, "per-layer factor is") == pytest.approx(per_layer, abs=6e-4)
    else:
        assert _quoted(message, "multiplied by") == pytest.approx(per_layer, rel=5e-3)
        assert "(measured over 29 layers)" in message
        factor = std * math.sqrt(256 / 2)  # sqrt(fan_in * Var(w) / 2)
        assert _quoted(message, "sqrt(fan_in * Var(w) / 2) is") == pytest.approx(factor, rel=5e-3)
        assert ("too large" if growth > 1 else "too small") in message


@pytest.mark.parametrize("known, hint", [
    (math.sqrt(1 / 256), "forgot ReLU's 1/2"),
    (2 / 256, "the variance 2 / fan_in, not the std"),
    (math.sqrt(2), "That is the gain"),
])
def test_a_known_mistake_is_named_within_2_percent_only(known, hint):
    for off in (0.985, 1.015):
        assert hint in check_deep_stack_std(known * off).message, off
    for off in (0.97, 1.03):
        feedback = check_deep_stack_std(known * off)
        assert not feedback.passed and hint not in feedback.message, off
        assert "Your std is too" in feedback.message


def test_an_infinite_std_is_not_a_number_to_run():
    feedback = check_deep_stack_std(math.inf)
    assert not feedback.passed and "one positive number" in feedback.message
