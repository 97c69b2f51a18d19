"""Argument validation shared by the modules: one rule, one exception type per kind of mistake.

A value of the wrong type raises ``TypeError``; a value of the right type that is out of range
or of the wrong shape raises ``ValueError``. Each validator returns the value in the plain
Python (or NumPy) type it stands for. (The learner's exercise checks, ``check_*``, live in
:mod:`course_utils.learner.exercises`.) NumPy only: no TensorFlow import, so the command line
stays quick.
"""

import math

import numpy as np

IMAGE_SHAPE = (28, 28, 1)


def valid_count(name, value, minimum=0, maximum=None):
    """An integer (not a bool) in ``minimum .. maximum``, returned as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"{name} must be >= {minimum}{upper}, got {value}")
    return int(value)


def valid_positive(name, value):
    """A finite real number > 0 (not a bool), returned as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def valid_fraction(name, value):
    """A number strictly between 0 and 1, returned as ``float``."""
    if valid_positive(name, value) >= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def valid_choice(name, value, choices):
    """One of ``choices`` (a ``ValueError`` that lists them otherwise)."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {tuple(choices)}")
    return value


def valid_rates(rates):
    """A non-empty sequence of learning rates, each a finite number > 0, as a tuple of floats."""
    rates = tuple(valid_positive("learning rate", rate) for rate in rates)
    if not rates:
        raise ValueError("rates must hold at least one learning rate")
    return rates


def valid_images(images):
    """Images as a float32 NumPy array of shape (N, 28, 28, 1) (no copy for such an array)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"images must have shape (N, 28, 28, 1), got {images.shape}")
    return images


def valid_data(images, labels, batch_size=None):
    """Checked ``(images, labels)``: :func:`valid_images`, and one int32 class id per image.

    With a ``batch_size``, there must be at least that many images.
    """
    images = valid_images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(images)} integer class ids (one per image), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if batch_size is not None and valid_count("batch_size", batch_size, 1) > len(labels):
        raise ValueError(f"batch_size {batch_size} is larger than the {len(labels)} images given")
    return images, labels.astype(np.int32, copy=False)
