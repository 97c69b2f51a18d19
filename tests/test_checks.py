"""The shared argument checks: TypeError for a wrong type, ValueError for a bad value."""

import math

import numpy as np
import pytest

from course_utils.checks import check_choice, check_count, check_positive


def test_counts():
    assert check_count("n", 0) == 0 and check_count("n", np.int64(3), minimum=1) == 3
    assert type(check_count("n", np.int64(3))) is int
    assert check_count("n", 5, minimum=5, maximum=5) == 5
    for value in (1.0, "1", None, True):
        with pytest.raises(TypeError, match="n must be an integer"):
            check_count("n", value)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_count("n", 0, minimum=1)
    with pytest.raises(ValueError, match="n must be >= 0 and <= 4, got 5"):
        check_count("n", 5, maximum=4)
    with pytest.raises(ValueError, match="got -1"):
        check_count("n", -1)


def test_positive_numbers():
    assert check_positive("x", 2) == 2.0 and type(check_positive("x", np.float32(0.5))) is float
    assert check_positive("x", 1e-300) == 1e-300
    for value in ("1", None, True, [1.0]):
        with pytest.raises(TypeError, match="x must be a number"):
            check_positive("x", value)
    for value in (0, -1e-9, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="x must be a finite number > 0"):
            check_positive("x", value)


def test_choices():
    assert check_choice("colour", "red", ("red", "blue")) == "red"
    message = r"unknown colour 'green'; choose one of \('red', 'blue'\)"
    with pytest.raises(ValueError, match=message):
        check_choice("colour", "green", ("red", "blue"))
