"""Learning rate x initialization: train every initialization at every rate of a grid.

The grid steps half a decade (1e-7, 3.2e-7, 1e-6, ..., 1e0), so a "window" of working rates can
be read off it in decades. Every cell draws its weights afresh from the same seed and trains on
the same batches; only the learning rate differs along a row.

Each cell ends in one of four outcomes, decided by rules that hold on any CPU:

- ``diverged``: the training cost became inf or NaN (training stops at that step);
- ``stuck at ln 10``: the test cost equals ln 10 to four decimals (uniform predictions);
- ``learns``: test accuracy of at least :data:`LEARNS_ACCURACY`;
- ``learns little``: anything else.

To save time, a cell can stop early once it is firmly stuck: a run whose recorded training
costs (one every 10 steps, from step 0) are all still ln 10 to four decimals when it reaches step
``stop_stuck_after`` is stopped there and tested as it is (``stopped_at`` records where). With
the default 20 that reads the costs of steps 0 and 10. Pass ``stop_stuck_after=None`` to run
every cell to the end and check that the outcomes do not change.
"""

from dataclasses import dataclass
import math

import numpy as np

from .experiments import EXPERIMENTS
from .training import evaluate, train

LN_10 = math.log(10)  # the cost of uniform predictions over ten digits
HALF_DECADE_RATES = tuple(float(f"{10 ** (exponent / 2):.2g}") for exponent in range(-14, 1))
LEARNS_ACCURACY = 0.5  # test accuracy from which a run "learns"
_RECORD_EVERY = 10  # training-batch cost recorded every 10 steps (what the stop rule reads)
OUTCOMES = ("learns", "learns little", "stuck at ln 10", "diverged")


@dataclass
class LearningRateGrid:
    """Test cost, test accuracy and outcome of each (initialization, learning rate) cell."""

    keys: tuple  # experiment keys, one row each
    rates: tuple  # learning rates, one column each
    steps: int
    cost: np.ndarray  # (rows, columns); NaN where the run diverged
    accuracy: np.ndarray  # (rows, columns), fractions; NaN where the run diverged
    outcome: np.ndarray  # (rows, columns) of strings from OUTCOMES
    stopped_at: np.ndarray  # (rows, columns): the step a run ended at (== steps if it ran out)
    histories: dict  # (key, rate) -> the run's training History (cost every 10 steps)
    networks: dict  # (key, rate) -> the trained ConvNet, for the cells asked for in ``keep``

    def cell(self, key, rate):
        """``(cost, accuracy, outcome)`` of one cell."""
        row, column = self.keys.index(key), self.rates.index(rate)
        return self.cost[row, column], self.accuracy[row, column], self.outcome[row, column]

    def window(self, key):
        """The rates at which ``key`` learns: ``(lowest, highest, cells, decades)``.

        ``decades`` is ``log10(highest / lowest)``: 0 for a single cell. ``(None, None, 0, 0.0)``
        when it learns at no rate of the grid.
        """
        row = self.keys.index(key)
        working = [rate for rate, outcome in zip(self.rates, self.outcome[row])
                   if outcome == "learns"]
        if not working:
            return None, None, 0, 0.0
        return min(working), max(working), len(working), math.log10(max(working) / min(working))


def outcome_of(diverged, test_cost, test_accuracy):
    """The outcome word of one run (see the module's docstring)."""
    if diverged:
        return "diverged"
    if round(test_cost, 4) == round(LN_10, 4):
        return "stuck at ln 10"
    if test_accuracy >= LEARNS_ACCURACY:
        return "learns"
    return "learns little"


def run_grid(data, steps, keys=tuple(EXPERIMENTS), rates=HALF_DECADE_RATES, seed=0,
             test_images=None, stop_stuck_after=20, keep=()):
    """Train each experiment's weights for ``steps`` steps at each rate; test each run.

    ``test_images`` limits the test to the first N test images (None: all of them). ``keep``
    lists ``(key, rate)`` cells whose trained networks are kept in ``grid.networks``.
    """
    keys, rates = tuple(keys), tuple(float(rate) for rate in rates)
    for key in keys:
        if key not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {key!r}; choose from {tuple(EXPERIMENTS)}")
    if not rates or any(not math.isfinite(rate) or rate <= 0 for rate in rates):
        raise ValueError(f"rates must be finite numbers > 0, got {rates}")
    if stop_stuck_after is not None and stop_stuck_after < 1:
        raise ValueError(f"stop_stuck_after must be >= 1 or None, got {stop_stuck_after}")
    count = len(data.test_labels) if test_images is None else test_images
    test = data.test_images[:count], data.test_labels[:count]
    shape = (len(keys), len(rates))
    grid = LearningRateGrid(keys, rates, steps, np.full(shape, np.nan), np.full(shape, np.nan),
                            np.full(shape, "", dtype=object), np.full(shape, steps), {}, {})
    keep = {(key, float(rate)) for key, rate in keep}
    for row, key in enumerate(keys):
        for column, rate in enumerate(rates):
            network = EXPERIMENTS[key].create_network(seed)
            ended = [steps]

            def stop_if_stuck(step, history, ended=ended):
                if stop_stuck_after is None or step < stop_stuck_after:
                    return False
                if all(round(cost, 4) == round(LN_10, 4) for cost in history.costs):
                    ended[0] = step
                    return True
                return False

            history = train(network, data.train_images, data.train_labels, rate, steps,
                            record_every=_RECORD_EVERY, progress=False, callback=stop_if_stuck)
            diverged = history.diverged_at is not None
            if diverged:
                ended[0] = history.diverged_at
            else:
                grid.cost[row, column], grid.accuracy[row, column] = evaluate(network, *test)
            grid.stopped_at[row, column] = ended[0]
            grid.histories[key, rate] = history
            if (key, rate) in keep:
                grid.networks[key, rate] = network
            grid.outcome[row, column] = outcome_of(
                diverged, grid.cost[row, column], grid.accuracy[row, column])
    return grid


def plot_grid(grid, title=None):
    """Two heat maps side by side: test accuracy and test cost (log10) of every cell.

    Rows are initializations, columns learning rates; diverged cells are grey and say so.
    """
    import matplotlib.pyplot as plt

    from .experiments import EXPERIMENTS

    fig, (accuracy_ax, cost_ax) = plt.subplots(2, 1, figsize=(13, 5.6), layout="constrained")
    diverged = grid.outcome == "diverged"
    panels = (
        (accuracy_ax, 100 * grid.accuracy, "viridis", 0, 100, "test accuracy (%)",
         lambda value: f"{value:.0f}"),
        (cost_ax, np.log10(grid.cost), "magma_r", -1, 6, "log10(test cost)",
         lambda value: f"{10 ** value:.2g}" if value < 3 else f"1e{value:.0f}"),
    )
    for ax, values, cmap, vmin, vmax, label, text in panels:
        colours = plt.get_cmap(cmap).with_extremes(bad="lightgray")
        image = ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=vmin, vmax=vmax,
                          aspect="auto")
        for (row, column), value in np.ndenumerate(values):
            if diverged[row, column]:
                words, colour = "div.", "black"
            else:
                position = (value - vmin) / (vmax - vmin)
                words = text(value)
                colour = "black" if (position > 0.6) == (cmap == "viridis") else "white"
            ax.text(column, row, words, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(grid.rates)), [f"{rate:.1e}".replace("e-0", "e-").replace(
            "e+00", "") for rate in grid.rates], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(grid.keys)), [EXPERIMENTS[key].title for key in grid.keys],
                      fontsize=9)
        ax.set_xlabel("learning rate (half-decade steps)")
        fig.colorbar(image, ax=ax, label=label)
    accuracy_ax.set_title(f"Test accuracy after {grid.steps} steps (grey: diverged)", fontsize=10)
    cost_ax.set_title(f"Test cost after {grid.steps} steps (colour: log10 of the cost)",
                      fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
