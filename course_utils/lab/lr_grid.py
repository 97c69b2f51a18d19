"""Learning rate x initialization: train every network at every rate of a grid.

The grid steps half a decade (1e-7, 3.2e-7, 1e-6, ..., 1e0), so a "window" of working rates can
be read off it in decades. A row is one way to build the network: one of the post's experiments
(by its key), or any function that returns a fresh :class:`~course_utils.core.network.ConvNet`
(BatchNorm, LSUV, ...). Every cell builds its network afresh and trains on the same batches;
only the learning rate differs along a row.

Each cell ends in one of these outcomes, decided by rules that hold on any CPU:

- ``diverged``: the training cost became inf or NaN (training stops at that step), or, with
  ``diverge_factor``, a recorded training cost rose above that many times the first one (the run
  stops there);
- ``stuck at ln 10``: the test cost equals ln 10 to four decimals (uniform predictions);
- ``at chance``: test accuracy below :data:`CHANCE_ACCURACY`, twice the 10 % of a guess, whatever
  the cost (the run did not learn: a few images either way cannot lift it to 20 %);
- ``overconfident``: better than chance, yet a test cost above ln 10, the cost of a uniform
  guess: its wrong answers are so sure that it scores worse than knowing nothing;
- ``learns``: test accuracy of at least :data:`LEARNS_ACCURACY`, at a test cost below ln 10;
- ``learns little``: in between (from 20 % up to 50 %, a test cost below ln 10);
- ``not run``: left out by ``skip_below_window`` (see :func:`run_grid`).

The thresholds are wide on purpose: a run near chance scores 6 to 13 % on 500 test images, so
float differences between CPUs (a few images) cannot move it across 20 %.

To save time, a cell can stop early once it is firmly stuck: a run whose recorded training
costs (one every ``record_every`` steps, from step 0) are all still ln 10 to four decimals when it
reaches step ``stop_stuck_after`` is stopped there and tested as it is (``stopped_at`` records
where). With the defaults (every 10 steps, 20) that reads the costs of steps 0 and 10. Pass
``stop_stuck_after=None`` to run every cell to the end and check that the outcomes do not change.
"""

from dataclasses import dataclass
import math
import time

import numpy as np

from ..core.arguments import valid_count, valid_positive, valid_rates
from ..core.training import cost_blew_up, evaluate, progress_bar, train
from .experiments import EXPERIMENTS, get_experiment

LN_10 = math.log(10)  # the cost of uniform predictions over ten digits
HALF_DECADE_RATES = tuple(float(f"{10 ** (exponent / 2):.2g}") for exponent in range(-14, 1))
LEARNS_ACCURACY = 0.5  # test accuracy from which a run "learns"
CHANCE_ACCURACY = 0.2  # below it a run is "at chance": twice a guess's 10 %
OUTCOMES = ("learns", "learns little", "overconfident", "at chance", "stuck at ln 10", "diverged",
            "not run")


@dataclass
class LearningRateGrid:
    """Test cost, test accuracy and outcome of each (network, learning rate) cell."""

    keys: tuple  # one per row: an experiment key, or the label of a network builder
    titles: tuple  # one per row: what the figures call it
    rates: tuple  # learning rates, one column each
    steps: int
    cost: np.ndarray  # (rows, columns); NaN where the run diverged or was not run
    accuracy: np.ndarray  # (rows, columns), fractions; NaN where diverged or not run
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

    def best(self, key):
        """``(rate, cost, accuracy)`` of the most accurate run of ``key`` that did not diverge
        (the lowest such rate on a tie), or None if every run diverged or none ran."""
        row = self.keys.index(key)
        accuracies = self.accuracy[row]
        if np.isnan(accuracies).all():
            return None
        column = int(np.nanargmax(accuracies))
        return self.rates[column], float(self.cost[row, column]), float(accuracies[column])


def outcome_of(diverged, test_cost, test_accuracy):
    """The outcome word of one run (see the module's docstring)."""
    if diverged:
        return "diverged"
    if round(test_cost, 4) == round(LN_10, 4):
        return "stuck at ln 10"
    if test_accuracy < CHANCE_ACCURACY:
        return "at chance"
    if test_cost > LN_10:
        return "overconfident"
    if test_accuracy >= LEARNS_ACCURACY:
        return "learns"
    return "learns little"


def stack_grids(*grids):
    """One grid with the rows of ``grids`` one after the other (same rates and steps)."""
    first = grids[0]
    if any(grid.rates != first.rates or grid.steps != first.steps for grid in grids):
        raise ValueError("only grids with the same rates and steps can be stacked")
    merged = {}
    for grid in grids:
        for field in ("histories", "networks"):
            merged.setdefault(field, {}).update(getattr(grid, field))
    return LearningRateGrid(
        sum((grid.keys for grid in grids), ()), sum((grid.titles for grid in grids), ()),
        first.rates, first.steps,
        *(np.concatenate([getattr(grid, field) for grid in grids])
          for field in ("cost", "accuracy", "outcome", "stopped_at")),
        merged["histories"], merged["networks"])


def run_grid(data, steps, keys=tuple(EXPERIMENTS), rates=HALF_DECADE_RATES, seed=0,
             test_images=None, stop_stuck_after=20, keep=(), record_every=10,
             diverge_factor=None, skip_below_window=False, progress=True, live=False):
    """Train each row's network for ``steps`` steps at each rate; test each run.

    ``keys`` lists the rows: experiment keys (their weights drawn from ``seed``), or a dict
    ``{label: build}`` whose ``build()`` returns a fresh network. ``test_images`` limits the
    test to the first N test images (None: all of them). ``keep`` lists ``(key, rate)`` cells
    whose trained networks are kept in ``grid.networks``. ``diverge_factor`` (None: off) stops
    a run as diverged once a recorded training cost exceeds that many times its first one.
    ``skip_below_window`` runs each row from its largest rate down and stops the row once a
    rate below a learning one no longer learns: a smaller step does less in the same number of
    steps, so the rates below are left out as too slow (outcome ``not run``).
    ``progress`` shows one bar for the whole grid, a run per tick. ``live`` (in a notebook)
    draws :func:`plot_grid`'s heat maps at once and redraws them as the runs come in; the
    finished picture stays as the cell's output.
    """
    builders = _row_builders(keys, seed)
    rates = valid_rates(rates)
    steps = valid_count("steps", steps, minimum=0)
    record_every = valid_count("record_every", record_every, minimum=1)
    if stop_stuck_after is not None:
        stop_stuck_after = valid_count("stop_stuck_after", stop_stuck_after, minimum=1)
    if diverge_factor is not None:
        diverge_factor = valid_positive("diverge_factor", diverge_factor)
    count = len(data.test_labels) if test_images is None else test_images
    test = data.test_images[:count], data.test_labels[:count]
    shape = (len(builders), len(rates))
    grid = LearningRateGrid(tuple(builders), tuple(title for title, _ in builders.values()),
                            rates, steps, np.full(shape, np.nan), np.full(shape, np.nan),
                            np.full(shape, "not run", dtype=object), np.full(shape, 0), {}, {})
    keep = {(key, float(rate)) for key, rate in keep}
    order = sorted(range(len(rates)), key=lambda column: rates[column],
                   reverse=skip_below_window)
    bar = progress_bar(grid.outcome.size, progress, unit="run")
    heat_map = _LiveHeatMap(grid) if live else None
    for row, (key, (_title, build)) in enumerate(builders.items()):
        learned = False
        for done, column in enumerate(order, start=1):
            rate = rates[column]
            network = build()
            ended = [steps]
            stop_early = _stop_early(ended, diverge_factor, stop_stuck_after)
            history = train(network, data.train_images, data.train_labels, rate, steps,
                            record_every=record_every, progress=False, callback=stop_early)
            costs = history.costs
            diverged = history.diverged_at is not None or (
                diverge_factor is not None and cost_blew_up(costs[-1], diverge_factor * costs[0]))
            if history.diverged_at is not None:
                ended[0] = history.diverged_at
            if not diverged:
                grid.cost[row, column], grid.accuracy[row, column] = evaluate(network, *test)
            grid.stopped_at[row, column] = ended[0]
            grid.histories[key, rate] = history
            if (key, rate) in keep:
                grid.networks[key, rate] = network
            outcome = outcome_of(diverged, grid.cost[row, column], grid.accuracy[row, column])
            grid.outcome[row, column] = outcome
            bar.update(1)
            if heat_map:
                heat_map.redraw(grid)
            if skip_below_window and learned and outcome != "learns":
                bar.update(len(order) - done)  # the rest of the row is not run
                break
            learned = learned or outcome == "learns"
    bar.close()
    if heat_map:
        heat_map.redraw(grid, final=True)
    return grid


class _LiveHeatMap:
    """:func:`plot_grid`'s figure, shown once and replaced in place (IPython's display handle),
    at most every ``every_s`` seconds and once at the end."""

    def __init__(self, grid, every_s=2.0):
        from IPython.display import display

        self.every_s, self.last = every_s, time.monotonic()
        self.handle = display(self._picture(grid), display_id=True)

    def redraw(self, grid, final=False):
        if final or time.monotonic() - self.last >= self.every_s:
            self.handle.update(self._picture(grid))
            self.last = time.monotonic()

    @staticmethod
    def _picture(grid):
        import matplotlib.pyplot as plt

        # Drawn with interactive mode off and closed at once: shown through the handle only. In
        # interactive mode Jupyter's inline backend would keep every figure until the cell ends
        # (to show it then), 9 MB a redraw in a cell that runs for minutes.
        with plt.ioff():
            figure = plot_grid(grid)
        plt.close(figure)
        return figure


def _stop_early(ended, diverge_factor, stop_stuck_after):
    """``train``'s callback for one grid run: stop once the cost blew up past ``diverge_factor``
    times the first one, or once every cost is ln 10 from step ``stop_stuck_after`` on; the
    step it stopped at goes into ``ended[0]``."""
    def stop(step, history):
        costs = history.costs
        if diverge_factor is not None and cost_blew_up(costs[-1], diverge_factor * costs[0]):
            ended[0] = history.steps[-1]
            return True
        if stop_stuck_after is None or step < stop_stuck_after:
            return False
        if all(round(cost, 4) == round(LN_10, 4) for cost in costs):
            ended[0] = step
            return True
        return False

    return stop


def _row_builders(keys, seed):
    """``{key: (title, build)}`` for experiment keys or a ``{label: build}`` dict."""
    if isinstance(keys, dict):
        if not keys or not all(callable(build) for build in keys.values()):
            raise ValueError("keys must be experiment keys or a non-empty dict "
                             "{label: function that returns a fresh network}")
        return {label: (str(label), build) for label, build in keys.items()}
    keys = tuple(keys)
    if not keys:
        raise ValueError("keys must name at least one experiment")
    return {key: (get_experiment(key).label,
                  lambda key=key: EXPERIMENTS[key].create_network(seed)) for key in keys}


def plot_grid(grid, title=None):
    """Two heat maps, one above the other: test accuracy and test cost (log10) of every cell.

    Rows are networks, columns learning rates; diverged cells are grey and say so, cells that
    were not run are grey with a dash.
    """
    import matplotlib.pyplot as plt

    fig, (accuracy_ax, cost_ax) = plt.subplots(2, 1, figsize=(13, 5.6), layout="constrained")
    diverged, not_run = grid.outcome == "diverged", grid.outcome == "not run"
    panels = (
        (accuracy_ax, 100 * grid.accuracy, "viridis", 0, 100, "test accuracy (%)",
         lambda value: f"{value:.0f}"),
        (cost_ax, np.log10(grid.cost), "magma_r", -1, 6, "log10(test cost)",
         _cost_label),
    )
    for ax, values, cmap, vmin, vmax, label, text in panels:
        colours = plt.get_cmap(cmap).with_extremes(bad="lightgray")
        image = ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=vmin, vmax=vmax,
                          aspect="auto")
        for (row, column), value in np.ndenumerate(values):
            if diverged[row, column] or not_run[row, column]:
                words, colour = ("div." if diverged[row, column] else "-"), "black"
            else:
                position = (value - vmin) / (vmax - vmin)
                words = text(value)
                colour = "black" if (position > 0.6) == (cmap == "viridis") else "white"
            ax.text(column, row, words, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(grid.rates)), [f"{rate:.1e}".replace("e-0", "e-").replace(
            "e+00", "") for rate in grid.rates], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(grid.keys)), grid.titles, fontsize=9)
        ax.set_xlabel("learning rate (half-decade steps)")
        fig.colorbar(image, ax=ax, label=label)
    grey = "grey: diverged" + (", -: not run" if not_run.any() else "")
    tested = ~diverged & ~not_run
    early = sorted({int(step) for step in grid.stopped_at[tested] if step < grid.steps})
    ran = f"after {grid.steps} steps" + (
        f" (stuck runs stopped at step {', '.join(map(str, early))})" if early else "")
    accuracy_ax.set_title(f"Test accuracy {ran} ({grey})", fontsize=10)
    cost_ax.set_title(f"Test cost {ran} (colour: log10 of the cost)", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _cost_label(log_cost):
    """A cell's cost from its log10, to two significant figures: 0.48, 2.3, 15, 6.7e2, 4.4e5."""
    cost = 10**log_cost
    if cost < 100:
        return f"{cost:.2g}"
    mantissa, exponent = f"{cost:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"
