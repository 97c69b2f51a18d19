"""The post's three experiments in one place, with the numbers the post reports.

Each experiment is a way to create the five weight tensors plus the learning rate the original
used. The notebooks create the same weights in plain sight and check that they match these
recipes; ``python -m course_utils reproduce`` and notebook 04 run them from here.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..core.arguments import valid_choice
from ..core.initializers import draw_weights
from ..core.network import WEIGHT_SHAPES, ConvNet
from ..core.stats import activation_stats
from ..core.training import evaluate, set_seed, train

ANALYSIS_BATCH = 100  # test images whose outputs are measured and plotted


@dataclass(frozen=True)
class Experiment:
    """One experiment of the post: how its weights are drawn, and what the post measured.

    ``schemes`` is the (scheme, scale) of each weight tensor, layer1 .. layer5 (schemes of
    :mod:`course_utils.core.initializers`); the weights are drawn by
    :func:`~course_utils.core.initializers.draw_weights`, the one seed rule of the course.
    """

    key: str
    label: str  # the short name every notebook, legend and table uses
    title: str
    recipe: str
    schemes: tuple
    learning_rate: float
    post_test_cost: float
    post_test_accuracy: float  # a fraction, like our accuracies

    @property
    def layers(self):
        """``{"layer1": (scheme, scale), ..., "layer5": ...}``."""
        return dict(zip(WEIGHT_SHAPES, self.schemes, strict=True))

    def create_weights(self, seed=0):
        """The five weight tensors, ``{"layer1": tf.Variable, ..., "layer5": ...}``.

        Seeds TensorFlow's global generator for the N(0, 1) draws (as the post does) and
        nothing else: op determinism for training is :func:`~course_utils.core.training.set_seed`.
        """
        weights = draw_weights(self.layers, WEIGHT_SHAPES, seed)
        return {layer: tf.Variable(values) for layer, values in weights.items()}

    def create_network(self, seed=0):
        """A :class:`~course_utils.core.network.ConvNet` on freshly drawn weights."""
        return ConvNet.from_weights(self.create_weights(seed))


# The post's three experiments: the one table that the notebooks, ``reproduce``, the
# playground's presets and the depth sweep all read.
EXPERIMENTS = {
    "large": Experiment(
        key="large",
        label="N(0, 1)",
        title="large weights, N(0, 1)",
        recipe="tf.random.normal(shape) for all five weight tensors",
        schemes=(("normal", 1.0),) * 5,
        learning_rate=1e-7,
        post_test_cost=15083.0833307,
        post_test_accuracy=0.818799999356,
    ),
    "small": Experiment(
        key="small",
        label="N(0, 1) x 0.01",
        title="small weights, N(0, 1) x 0.01",
        recipe="tf.random.normal(shape) * 0.01 for all five weight tensors",
        schemes=(("normal", 0.01),) * 5,
        learning_rate=1e-7,
        post_test_cost=2.3025865221,
        post_test_accuracy=0.0501999998465,
    ),
    "proper": Experiment(
        key="proper",
        label="He + Xavier",
        title="He (conv) + Xavier (fully connected)",
        recipe="HeNormal for layer1..layer4, GlorotUniform for layer5",
        schemes=(("he", 1.0),) * 4 + (("xavier", 1.0),),
        learning_rate=1e-3,
        post_test_cost=0.0945288215741,
        post_test_accuracy=0.972900004387,
    ),
}


@dataclass
class ExperimentResult:
    """What one run produced: the trained network, its history, test scores and statistics."""

    experiment: Experiment
    network: ConvNet
    history: object
    test_cost: float
    test_accuracy: float
    learning_rate: float
    activations: dict  # name -> summary, measured after training on the analysis batch
    outputs: dict | None  # name -> numpy array for the analysis batch (for plots), if kept
    monitor: object = None  # a course_utils.lab.monitor.Recorder, if run with monitor_every

    def as_json(self):
        """The JSON record ``reproduce`` writes for this experiment."""
        return {
            "title": self.experiment.title,
            "test_cost": _json_number(self.test_cost),
            "test_accuracy": _json_number(self.test_accuracy),
            "learning_rate": self.learning_rate,
            "post_test_cost": self.experiment.post_test_cost,
            "post_test_accuracy": self.experiment.post_test_accuracy,
            "diverged_at": self.history.diverged_at,
            "history": self.history.as_records(),
            "activations": {
                name: {field: _json_number(value) for field, value in summary.items()}
                for name, summary in self.activations.items()
            },
        }


def get_experiment(key):
    """The :class:`Experiment` called ``key`` ("large", "small" or "proper")."""
    return EXPERIMENTS[valid_choice("experiment", key, EXPERIMENTS)]


def run_experiment(key, data, steps, seed=0, learning_rate=None, record_every=100, progress=True,
                   keep_outputs=True, precision="float32", monitor_every=None):
    """Create the experiment's weights, train, test, and measure the outputs.

    ``learning_rate`` defaults to the one the original used for this experiment. The named
    outputs are measured after training on the first 100 test images; their statistics are
    always kept, the outputs themselves (60 MB, for the plots) only with ``keep_outputs``.
    ``precision`` (``"float32"`` or ``"bfloat16"``, see :func:`~course_utils.core.training.train`)
    is used for training and testing; the outputs are always measured in float32.
    ``monitor_every`` (steps) turns on a :class:`course_utils.lab.monitor.Recorder` that keeps
    gradient samples for histograms; the cost and accuracy are then recorded as often too.
    """
    experiment = get_experiment(key)
    set_seed(seed)  # deterministic training: an explicit step, not a side effect of the draw
    network = experiment.create_network(seed)
    rate = experiment.learning_rate if learning_rate is None else learning_rate
    monitor = None
    if monitor_every is not None:
        from .monitor import Recorder

        monitor = Recorder(network, data.train_images, data.train_labels, rate, histograms=True)
        record_every = monitor_every
    history = train(network, data.train_images, data.train_labels, rate, steps,
                    record_every=record_every, progress=progress, precision=precision,
                    callback=monitor)
    test_cost, test_accuracy = evaluate(network, data.test_images, data.test_labels,
                                        precision=precision)
    outputs = network.outputs(data.test_images[:ANALYSIS_BATCH])
    return ExperimentResult(
        experiment, network, history, test_cost, test_accuracy, float(rate),
        activation_stats(outputs), outputs if keep_outputs else None, monitor,
    )


def results_table(results):
    """Plain-text table: our test cost and accuracy beside the post's, one row per result."""
    header = f"{'experiment':<40}{'test cost':>12}{'accuracy':>10}{'post cost':>12}{'post acc':>10}"
    lines = [header, "-" * len(header)]
    for result in results:
        e = result.experiment
        lines.append(
            f"{e.title:<40}{result.test_cost:>12.4g}{100 * result.test_accuracy:>9.2f}%"
            f"{e.post_test_cost:>12.4g}{100 * e.post_test_accuracy:>9.2f}%"
        )
    return "\n".join(lines)


def _json_number(value):
    value = float(value)
    return value if np.isfinite(value) else None
