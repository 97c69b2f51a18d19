"""Exercises with feedback: the learner answers, the check says what is off.

Two kinds. A *formula* exercise (:data:`EXERCISES`): you write a function, then pass it (not its
result) to the check::

    def uniform_cost(num_classes):
        return ...

    check_uniform_cost(uniform_cost)

The check calls your function on a few inputs and compares with the right formula. When the
answer is wrong it looks for the usual mistakes (log10 instead of ln, a ratio upside down,
(1 + a) instead of (1 + a**2), ...) and says which one it recognises.

An *experiment* exercise (:data:`RUN_SOLUTIONS`): you change an experiment (a scale, a choice) and
its check runs it, then says what the run shows and, when it fails, why.

Stuck? ``solution("uniform_cost")`` shows a solution, folded away until you click it.

One module per family: :mod:`.formulas`, :mod:`.one_tensor` (notebook 1), :mod:`.depth`
(notebook 6), :mod:`.dashboards` (notebook 8); :mod:`.feedback` and :mod:`.solutions` serve
them all. This package's namespace holds what the notebooks use.
"""

from .dashboards import (
    DASHBOARD_CAUSES,
    DASHBOARD_CLUES,
    MYSTERY_CAUSES,
    check_dashboards,
    mystery_dashboards,
    plot_mystery_dashboards,
)
from .depth import check_deep_stack_std, run_deep_stack
from .feedback import Feedback
from .formulas import (
    EXERCISES,
    check,
    check_leaky_he_stddev,
    check_rate_for_update_ratio,
    check_uniform_cost,
)
from .one_tensor import check_one_tensor_scale
from .solutions import RUN_SOLUTIONS, show_solution, solution, solution_text

__all__ = [
    "DASHBOARD_CAUSES", "DASHBOARD_CLUES", "EXERCISES", "MYSTERY_CAUSES", "RUN_SOLUTIONS",
    "Feedback", "check", "check_dashboards", "check_deep_stack_std", "check_leaky_he_stddev",
    "check_one_tensor_scale", "check_rate_for_update_ratio", "check_uniform_cost",
    "mystery_dashboards", "plot_mystery_dashboards", "run_deep_stack", "show_solution",
    "solution", "solution_text",
]
