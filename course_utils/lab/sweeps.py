"""The course's seed sweeps: the evidence behind the comparisons of notebooks 6, 7 and 8.

Each entry of :data:`SWEEPS` asks one question and names the recipes, learning rates and steps
that answer it over :data:`SEEDS`. ``python -m course_utils sweep NAME`` runs one and saves it
where :func:`load_sweep` finds it (``course_utils/lab/sweep_data/NAME.json``, installed with the
package, so Colab has it too). The four take under an hour on a 2-core laptop CPU.
"""

from dataclasses import dataclass, field, replace
import json
from pathlib import Path

import tensorflow as tf

from ..core.initializers import draw_weights, fan_in_fan_out
from ..core.network import WEIGHT_SHAPES, ConvNet
from ..core.stats import activation_stats, std_ratio
from .diagnostics import dead_fractions
from .experiments import ANALYSIS_BATCH, EXPERIMENTS
from .lr_grid import HALF_DECADE_RATES
from .lsuv import lsuv_weights
from .seeds import SeedSweep, run_seed_sweep

SEEDS = (0, 1, 2)
DATA_DIR = Path(__file__).with_name("sweep_data")


@dataclass(frozen=True)
class Sweep:
    """One question, and the runs that answer it (see :func:`run_seed_sweep` for ``rows``)."""

    question: str
    rows: dict
    rates: tuple
    steps: int
    settings: dict = field(default_factory=dict)  # for run_grid
    measure: object = None  # measure(network, data) -> {name: number}


def _recipe(layers, batch_norm=False):
    """A row that draws ``layers`` (``{layer: (scheme, scale)}``) from the row's seed."""
    def build(data, seed):
        return (lambda: ConvNet.from_weights(draw_weights(layers, WEIGHT_SHAPES, seed),
                                             batch_norm=batch_norm)), data
    return build


def _constant(data, seed):
    """Every weight of a layer 1 / fan_in: each unit averages its inputs (notebook 7)."""
    weights = {layer: tf.fill(shape, 1.0 / fan_in_fan_out(shape)[0])
               for layer, shape in WEIGHT_SHAPES.items()}
    return (lambda: ConvNet.from_weights(weights)), data


def _global_scale(data, seed):
    """N(0, 1) weights times the one s that makes layer4_conv's spread equal layer1_conv's."""
    normal = draw_weights(EXPERIMENTS["large"].layers, WEIGHT_SHAPES, seed)
    ratio = std_ratio(activation_stats(ConvNet.from_weights(normal).outputs(
        data.test_images[:ANALYSIS_BATCH])))
    scaled = {layer: weights * ratio ** (-1 / 3) for layer, weights in normal.items()}
    return (lambda: ConvNet.from_weights(scaled)), data


def _standardized(data, seed):
    """He + Xavier on pixels standardized with the training images' mean and std."""
    mean, std = float(data.train_images.mean()), float(data.train_images.std())
    standardized = replace(data, train_images=(data.train_images - mean) / std,
                           test_images=(data.test_images - mean) / std)
    return _recipe(EXPERIMENTS["proper"].layers)(standardized, seed)[0], standardized


def _lsuv(data, seed):
    weights = {layer: tf.convert_to_tensor(values) for layer, values in
               lsuv_weights(data.train_images[:100], seed=seed).items()}
    return (lambda: ConvNet.from_weights(weights)), data


def _dead_filters(network, data):
    fractions = dead_fractions(network.outputs(data.test_images[:ANALYSIS_BATCH]))
    return {f"dead {layer}": value for layer, value in fractions.items()}


HE_XAVIER, SMALL, LARGE = (EXPERIMENTS[key].layers for key in ("proper", "small", "large"))
NORMAL_CONV_XAVIER_LAST = {**LARGE, "layer5": ("xavier", 1.0)}

SWEEPS = {
    "defaults": Sweep(
        "Do Keras's and PyTorch's defaults trail He + Xavier, each at its best rate?",
        {"He + Xavier": _recipe(HE_XAVIER),
         "Keras default": _recipe({layer: ("xavier", 1.0) for layer in WEIGHT_SHAPES}),
         "PyTorch default": _recipe({layer: ("torch_default", 1.0) for layer in WEIGHT_SHAPES})},
        rates=HALF_DECADE_RATES[-7:], steps=20,
        settings={"stop_stuck_after": None}),
    "dead_filters": Sweep(
        "Which learning rates leave dead filters after 40 steps?",
        {"He + Xavier": _recipe(HE_XAVIER), "N(0, 1) x 0.01": _recipe(SMALL)},
        rates=(1e-3, 1e-2, 1e-1), steps=40, settings={"stop_stuck_after": None},
        measure=_dead_filters),
    "starts": Sweep(
        "Constant, global-scale or He + Xavier start; raw or standardized pixels?",
        {"constant": _constant, "global scale": _global_scale, "He + Xavier": _recipe(HE_XAVIER),
         "He + Xavier, standardized pixels": _standardized},
        rates=(1e-3, 1e-2, 1e-1), steps=40, settings={"stop_stuck_after": None}),
    "batchnorm": Sweep(
        "Does BatchNorm make the initialization unnecessary?",
        {"N(0, 1)": _recipe(LARGE), "N(0, 1) x 0.01": _recipe(SMALL),
         "He + Xavier": _recipe(HE_XAVIER), "N(0, 1) + BN": _recipe(LARGE, True),
         "N(0, 1) x 0.01 + BN": _recipe(SMALL, True), "He + Xavier + BN": _recipe(HE_XAVIER, True),
         "N(0, 1) conv, Xavier last + BN": _recipe(NORMAL_CONV_XAVIER_LAST, True),
         "LSUV": _lsuv},
        rates=HALF_DECADE_RATES[-11:], steps=16,
        settings={"test_images": 500, "record_every": 4, "stop_stuck_after": 12,
                  "diverge_factor": 10}),  # every cell runs: a row's window can have gaps
}


def run_sweep(name, seeds=SEEDS, rows=None, rates=None, progress=True):
    """Run the sweep ``name`` of :data:`SWEEPS` (or only some of its ``rows`` and ``rates``)."""
    if name not in SWEEPS:
        raise ValueError(f"no sweep called {name!r}; the sweeps are {', '.join(SWEEPS)}")
    sweep = SWEEPS[name]
    chosen = {label: build for label, build in sweep.rows.items() if rows is None or label in rows}
    return run_seed_sweep(name, sweep.question, chosen, tuple(rates or sweep.rates), tuple(seeds),
                          sweep.steps, measure=sweep.measure, progress=progress,
                          **sweep.settings)


def load_sweep(name):
    """The saved :class:`~course_utils.lab.seeds.SeedSweep` called ``name``."""
    path = DATA_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python -m course_utils sweep {name}")
    return SeedSweep.from_json(json.loads(path.read_text()))
