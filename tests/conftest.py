"""Fixtures shared by the unit tests."""

import numpy as np
import pytest

from course_utils.core.data import load_mnist


@pytest.fixture(scope="session")
def subset():
    """The offline 5000-digit subset, split with seed 0."""
    return load_mnist("subset", seed=0)


@pytest.fixture(scope="session")
def digits(subset):
    """A fixed batch of 32 real test digits."""
    return subset.test_images[:32]


def write_mnist_npz(path, num_train=5300, num_test=200, seed=0, **overrides):
    """Write a small mnist.npz in Keras's format (uint8 images, integer labels); return its path."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, num_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, num_test).astype(np.uint8),
    }
    arrays.update(overrides)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    np.savez_compressed(path, **arrays)
    return path
