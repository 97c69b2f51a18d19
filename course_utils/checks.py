"""Argument checks shared by the modules: one rule, one exception type per kind of mistake.

A value of the wrong type raises ``TypeError``; a value of the right type that is out of range
raises ``ValueError``. Each check returns the value in the plain Python type it stands for.
"""

import math

import numpy as np


def check_count(name, value, minimum=0, maximum=None):
    """An integer (not a bool) in ``minimum .. maximum``, returned as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"{name} must be >= {minimum}{upper}, got {value}")
    return int(value)


def check_positive(name, value):
    """A finite real number > 0 (not a bool), returned as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_choice(name, value, choices):
    """One of ``choices`` (a ``ValueError`` that lists them otherwise)."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {tuple(choices)}")
    return value
