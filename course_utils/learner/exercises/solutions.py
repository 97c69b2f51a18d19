"""The solutions, folded until the learner opens one: a formula exercise's from its
:data:`~.formulas.EXERCISES` entry, an exercise that runs an experiment's from its module."""

from ...core.arguments import valid_choice
from . import dashboards, depth, one_tensor
from .formulas import EXERCISES

# Exercises that run an experiment: name -> the solution shown on request. Each has its own
# check_<name>, which runs the learner's change and explains the outcome.
RUN_SOLUTIONS = {
    "one_tensor_scale": one_tensor.SOLUTION,
    "deep_stack_std": depth.SOLUTION,
    "dashboards": dashboards.SOLUTION,
}


def solution_text(name):
    """The solution of exercise ``name`` (a formula or an experiment exercise), as text."""
    valid_choice("exercise", name, {**EXERCISES, **RUN_SOLUTIONS})
    return EXERCISES[name].solution if name in EXERCISES else RUN_SOLUTIONS[name]


def show_solution(name):
    """Print the solution of exercise ``name`` (for a terminal; notebooks use :func:`solution`)."""
    print(solution_text(name))


def solution(name):
    """The solution of exercise ``name``, folded away: one click on its title opens it."""
    import html

    import ipywidgets as widgets

    text = solution_text(name)
    body = widgets.HTML()  # filled when opened, so a saved notebook does not give it away
    folded = widgets.Accordion(children=[body], selected_index=None)
    folded.set_title(0, f"Solution: {name} (click to open)")

    def opened(change):
        if change["new"] == 0:
            body.value = f"<pre>{html.escape(text)}</pre>"

    folded.observe(opened, names="selected_index")
    return folded
