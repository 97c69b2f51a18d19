"""The shared argument validation: TypeError for a wrong type, ValueError for a bad value."""

import math

import numpy as np
import pytest

from course_utils.core.arguments import (
    valid_choice,
    valid_count,
    valid_data,
    valid_fraction,
    valid_images,
    valid_positive,
    valid_rates,
)


def test_counts():
    assert valid_count("n", 0) == 0 and valid_count("n", np.int64(3), minimum=1) == 3
    assert type(valid_count("n", np.int64(3))) is int
    assert valid_count("n", 5, minimum=5, maximum=5) == 5
    for value in (1.0, "1", None, True):
        with pytest.raises(TypeError, match="n must be an integer"):
            valid_count("n", value)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        valid_count("n", 0, minimum=1)
    with pytest.raises(ValueError, match="n must be >= 0 and <= 4, got 5"):
        valid_count("n", 5, maximum=4)
    with pytest.raises(ValueError, match="got -1"):
        valid_count("n", -1)


def test_positive_numbers():
    assert valid_positive("x", 2) == 2.0 and type(valid_positive("x", np.float32(0.5))) is float
    assert valid_positive("x", 1e-300) == 1e-300
    for value in ("1", None, True, [1.0]):
        with pytest.raises(TypeError, match="x must be a number"):
            valid_positive("x", value)
    for value in (0, -1e-9, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="x must be a finite number > 0"):
            valid_positive("x", value)


def test_choices():
    assert valid_choice("colour", "red", ("red", "blue")) == "red"
    message = r"unknown colour 'green'; choose one of \('red', 'blue'\)"
    with pytest.raises(ValueError, match=message):
        valid_choice("colour", "green", ("red", "blue"))


def test_check_fraction_wants_a_number_strictly_between_0_and_1():
    assert valid_fraction("threshold", 0.97) == 0.97
    for bad in (0, 1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="threshold must be"):
            valid_fraction("threshold", bad)
    with pytest.raises(TypeError, match="threshold must be a number"):
        valid_fraction("threshold", "0.5")


def test_check_rates_wants_at_least_one_positive_finite_rate():
    assert valid_rates([1e-3, 1]) == (1e-3, 1.0)
    with pytest.raises(ValueError, match="at least one learning rate"):
        valid_rates([])
    with pytest.raises(ValueError, match="learning rate must be a finite number > 0, got inf"):
        valid_rates([1e-3, float("inf")])


def test_check_data_gives_float32_images_and_int32_labels_without_copying():
    images = np.zeros((3, 28, 28, 1), dtype=np.float32)
    checked, labels = valid_data(images, np.array([1, 2, 3], dtype=np.int64), batch_size=3)
    assert checked is images and labels.dtype == np.int32 and labels.tolist() == [1, 2, 3]
    assert valid_images(np.zeros((2, 28, 28, 1), dtype=np.uint8)).dtype == np.float32


@pytest.mark.parametrize("images, labels, batch_size, message", [
    (np.zeros((3, 28, 28)), [0, 1, 2], None, r"images must have shape \(N, 28, 28, 1\)"),
    (np.zeros((3, 28, 28, 1)), [0, 1], None, "labels must be 3 integer class ids"),
    (np.zeros((3, 28, 28, 1)), [0.0, 1.0, 2.0], None, "labels must be 3 integer class ids"),
    (np.zeros((3, 28, 28, 1)), [0, 1, 2], 4, "batch_size 4 is larger than the 3 images"),
])
def test_check_data_names_what_is_wrong(images, labels, batch_size, message):
    with pytest.raises(ValueError, match=message):
        valid_data(images, labels, batch_size)


def test_images_with_the_wrong_number_of_channels_are_refused():
    with pytest.raises(ValueError, match=r"images must have shape \(N, 28, 28, 1\), got "
                                         r"\(2, 28, 28, 3\)"):
        valid_images(np.zeros((2, 28, 28, 3)))
