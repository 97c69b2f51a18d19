"""Comparisons over seeds: every recipe at a few learning rates, trained from several seeds.

"A trains better than B" is a claim about one run when it rests on one seed at one rate. A seed
sweep runs :func:`~course_utils.lab.lr_grid.run_grid` once per seed. A seed draws the weights
and picks the subset's 4000 training and 1000 test images, so the batches and the test differ
too. Every recipe is trained at every rate of the sweep, and each run keeps its test cost, test
accuracy and outcome (:func:`~course_utils.lab.lr_grid.outcome_of`).

:meth:`SeedSweep.best_rate` gives each recipe its own best rate, and :meth:`SeedSweep.spread_at`
the range over seeds there: the evidence a comparison can rest on.

The course's sweeps (:mod:`course_utils.lab.sweeps`) take longer than a notebook should, so they
are run once by ``python -m course_utils sweep NAME`` and saved as JSON; the notebooks load them
with :func:`~course_utils.lab.sweeps.load_sweep`.
"""

from dataclasses import dataclass, field
import json

import numpy as np

from ..core.data import load_mnist
from ..core.training import progress_bar, set_seed
from .lr_grid import run_grid

ARRAYS = ("accuracy", "cost", "outcome")  # (rows, rates, seeds) each


@dataclass
class SeedSweep:
    """Test accuracy, test cost and outcome of every (recipe, rate, seed) run.

    ``measures`` holds what ``measure`` returned for each run (see :func:`run_seed_sweep`),
    ``{name: array (rows, rates, seeds)}``.
    """

    name: str
    question: str
    rows: tuple  # recipe labels
    rates: tuple
    seeds: tuple
    steps: int
    accuracy: np.ndarray  # fractions; NaN where the run diverged or was not run
    cost: np.ndarray  # NaN where the run diverged or was not run
    outcome: np.ndarray  # strings of lr_grid.OUTCOMES
    measures: dict = field(default_factory=dict)

    def values(self, what, row, rate):
        """The seeds' values of ``what`` ("accuracy", "cost", "outcome" or a measure's name)
        for one recipe at one rate, in the order of ``seeds``."""
        table = self.measures[what] if what in self.measures else getattr(self, what)
        return table[self.rows.index(row), self.rates.index(rate)]

    def best_rate(self, row):
        """The rate with the highest median test accuracy over the seeds, among the rates at
        which every seed ran to a test (none diverged); the lowest on a tie. None if no rate
        qualifies."""
        best, best_median = None, -np.inf
        for rate in self.rates:
            accuracies = self.values("accuracy", row, rate)
            if np.isnan(accuracies).any():
                continue
            if np.median(accuracies) > best_median:
                best, best_median = rate, np.median(accuracies)
        return best

    def spread_at(self, row, rate=None, what="accuracy"):
        """``(lowest, highest)`` of ``what`` over the seeds, at ``rate`` (default: the row's
        :meth:`best_rate`)."""
        rate = self.best_rate(row) if rate is None else rate
        values = self.values(what, row, rate).astype(float)
        return float(np.min(values)), float(np.max(values))

    def learning_rates(self, row, seed):
        """The rates at which ``row`` learns from ``seed`` (outcome ``"learns"``, see
        :func:`~course_utils.lab.lr_grid.outcome_of`), in order; empty if none. Listed one by
        one: a row can learn at rates with a failing one between them."""
        return tuple(rate for rate in self.rates
                     if self.values("outcome", row, rate)[self.seeds.index(seed)] == "learns")

    def summary(self, rows=None):
        """A text table: each recipe's best rate, and its accuracy and cost ranges there
        (``rows``: only these recipes)."""
        lines = [f"{self.question}",
                 f"{len(self.seeds)} seeds, {self.steps} steps, rates "
                 + ", ".join(f"{rate:g}" for rate in self.rates),
                 f"{'recipe':<34}{'best rate':>10}{'test accuracy':>16}{'test cost':>22}"]
        for row in rows or self.rows:
            rate = self.best_rate(row)
            if rate is None:
                lines.append(f"{row:<34}{'none':>10}  (a seed diverged at every rate)")
                continue
            low, high = self.spread_at(row, rate)
            cost_low, cost_high = self.spread_at(row, rate, "cost")
            lines.append(f"{row:<34}{rate:>10g}{f'{100 * low:.0f} .. {100 * high:.0f} %':>16}"
                         f"{f'{cost_low:.3g} .. {cost_high:.3g}':>22}")
        return "\n".join(lines)

    def as_json(self):
        """A JSON-ready dict (NaN as None); :meth:`from_json` reads it back."""
        def listed(array):
            return [[[None if isinstance(v, float) and np.isnan(v) else v for v in seeds]
                     for seeds in rates] for rates in array.tolist()]

        return {"name": self.name, "question": self.question, "rows": list(self.rows),
                "rates": list(self.rates), "seeds": list(self.seeds), "steps": self.steps,
                **{what: listed(getattr(self, what)) for what in ARRAYS},
                "measures": {name: listed(array) for name, array in self.measures.items()}}

    @classmethod
    def from_json(cls, record):
        def array(values, dtype=float):
            return np.array([[[np.nan if v is None else v for v in seeds] for seeds in rates]
                             for rates in values], dtype=dtype)

        return cls(record["name"], record["question"], tuple(record["rows"]),
                   tuple(record["rates"]), tuple(record["seeds"]), record["steps"],
                   array(record["accuracy"]), array(record["cost"]),
                   np.array(record["outcome"], dtype=object),
                   {name: array(values) for name, values in record["measures"].items()})

    def save(self, path):
        path.write_text(json.dumps(self.as_json(), indent=1) + "\n")


def run_seed_sweep(name, question, rows, rates, seeds, steps, measure=None, progress=True,
                   **grid_settings):
    """Train every recipe of ``rows`` at every rate, once per seed; return a :class:`SeedSweep`.

    ``rows`` is ``{label: build}``; ``build(data, seed)`` returns ``(network_builder, data)``:
    a function that returns a fresh network, and the data to train and test it on (usually the
    ``data`` it was given). ``measure(network, data)``, if given, returns ``{name: number}``
    for each trained run (NaN for runs that diverged or did not run). ``grid_settings`` go to
    :func:`~course_utils.lab.lr_grid.run_grid` (``test_images``, ``stop_stuck_after``, ...).
    """
    shape = (len(rows), len(rates), len(seeds))
    tables = {what: np.full(shape, np.nan) for what in ("accuracy", "cost")}
    outcome = np.full(shape, "not run", dtype=object)
    measures = {}
    keep = [(label, rate) for label in rows for rate in rates] if measure else ()
    bar = progress_bar(len(seeds) * len(rows), progress, unit="row")
    for s, seed in enumerate(seeds):
        data = load_mnist("subset", seed=seed)
        for r, (label, build) in enumerate(rows.items()):
            set_seed(seed)
            network_builder, row_data = build(data, seed)
            grid = run_grid(row_data, steps, keys={label: network_builder}, rates=rates,
                            keep=keep, progress=False, **grid_settings)
            tables["accuracy"][r, :, s], tables["cost"][r, :, s] = grid.accuracy[0], grid.cost[0]
            outcome[r, :, s] = grid.outcome[0]
            for (_, rate), network in grid.networks.items():
                if grid.outcome[0, grid.rates.index(rate)] == "diverged":
                    continue
                for what, value in measure(network, row_data).items():
                    measures.setdefault(what, np.full(shape, np.nan))[r, rates.index(rate), s] \
                        = value
            bar.update(1)
    bar.close()
    return SeedSweep(name, question, tuple(rows), tuple(rates), tuple(seeds), steps,
                     tables["accuracy"], tables["cost"], outcome, measures)


def plot_seed_sweep(sweep, rows=None, title=None):
    """Test accuracy against learning rate, one line per recipe (``rows``: only these): the
    median over the seeds, a bar from the lowest to the highest seed, a ring at the recipe's
    best rate."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    rows = rows or sweep.rows
    shift = np.linspace(-0.04, 0.04, len(rows)) if len(rows) > 1 else [0.0]  # keeps bars apart
    for offset, row in zip(shift, rows):
        x = np.array(sweep.rates) * 10**offset
        accuracy = 100 * np.array([sweep.values("accuracy", row, rate) for rate in sweep.rates])
        ran = ~np.isnan(accuracy).all(axis=1)
        median = np.full(len(x), np.nan)
        median[ran] = np.nanmedian(accuracy[ran], axis=1)
        low, high = np.nanmin(accuracy[ran], axis=1), np.nanmax(accuracy[ran], axis=1)
        line, = ax.plot(x, median, "o-", markersize=4, label=row)
        ax.vlines(x[ran], low, high, color=line.get_color(), linewidth=2, alpha=0.6)
        diverged = np.array([(sweep.values("outcome", row, rate) == "diverged").any()
                             for rate in sweep.rates])
        ax.plot(x[diverged], np.full(diverged.sum(), 3), "x", color=line.get_color())
        best = sweep.best_rate(row)
        if best is not None:
            index = sweep.rates.index(best)
            ax.plot(x[index], median[index], "o", markersize=11, markerfacecolor="none",
                    color=line.get_color())
    if (sweep.outcome == "diverged").any():
        ax.plot([], [], "x", color="grey", label="x: a seed diverged")
    ax.set(xscale="log", ylim=(0, 100), xlabel="learning rate",
           ylabel="test accuracy (%)",
           title=title or f"{sweep.question}\nmedian of {len(sweep.seeds)} seeds; bars: lowest "
                          f"to highest seed; ring: best rate; {sweep.steps} steps")
    ax.axhline(10, color="grey", linestyle=":", linewidth=1, label="a guess: 10 %")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
