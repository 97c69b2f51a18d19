"""Predict, then see: record the learner's guess before a measurement, compare it after.

A prediction has two halves, in this order in the notebook::

    ask("first_cost", "What will the first training cost be?",
        choices=["about 2.3", "about 100", "over 10,000"])
    ...                                   # the cells that measure
    reveal("first_cost", "over 10,000", measured=f"{cost:.3g}",
           why=f"the logits spread over +-{gap:.0f}, and a wrong sure answer costs its gap")

``ask`` shows a small control (buttons for a choice, a text box for a number) and keeps what
the learner picks. ``reveal`` prints the measured answer beside the guess, with one line of
feedback and, for a choice, why the answer is right. Without a guess (a notebook run from the
command line, nbval, papermill) it prints the answer alone, so the measurement never depends on
the widget.
"""

import math

from ..core.arguments import valid_choice

_questions = {}  # key -> the choices of that question (None: a number)
_guesses = {}  # key -> the learner's guess: one of the choices, or a float
_close_factors = {}  # key -> how near a number guess must be to count as close

CLOSE_FACTOR = 2.0  # by default a number guess within this factor of the answer is close


def ask(key, question, choices=None, close_factor=CLOSE_FACTOR):
    """Show ``question`` with a control that records the learner's guess under ``key``.

    With ``choices`` (a list of strings) the learner picks one; without, they type a number
    (``1e4`` works). ``close_factor``: a number guess within this factor of the answer is called
    close; make it smaller where a guess a factor of 2 off is the very misconception the question
    tests. Returns the widget. Asking again under the same key forgets the old guess.
    """
    import ipywidgets as widgets

    if choices is not None:
        choices = [str(choice) for choice in choices]
        if len(choices) < 2 or len(set(choices)) != len(choices):
            raise ValueError(f"choices must be at least two different strings, got {choices!r}")
    if not close_factor > 1:
        raise ValueError(f"close_factor must be a number > 1, got {close_factor!r}")
    _questions[key] = choices
    _close_factors[key] = float(close_factor)
    _guesses.pop(key, None)
    status = widgets.Label("No guess yet.")

    def record(guess):
        _guesses[key] = guess
        status.value = f"Your guess is recorded: {_format(guess)}. Now run the cells below."

    if choices is None:
        control = widgets.Text(placeholder="a number, e.g. 0.5 or 1e4", continuous_update=False)

        def on_change(change):
            guess = _parse_number(change["new"])
            if guess is None:
                _guesses.pop(key, None)
                status.value = f"{change['new']!r} is not a number: try 0.5, 12 or 1e4."
            else:
                record(guess)
    else:
        control = widgets.RadioButtons(options=choices, index=None,
                                       layout=widgets.Layout(width="max-content"))

        def on_change(change):
            if change["new"] is not None:
                record(change["new"])

    control.observe(on_change, names="value")
    box = widgets.VBox([widgets.HTML(f"<b>Your prediction:</b> {question}"), control, status])
    return box


def record_guess(key, guess):
    """Record ``guess`` for ``key`` without the widget (what the widget does when you pick)."""
    choices = _asked(key)
    if choices is None:
        number = _parse_number(guess)
        if number is None:
            raise ValueError(f"the guess for {key!r} must be a number, got {guess!r}")
        guess = number
    else:
        valid_choice(f"the guess for {key!r}", guess, choices)
    _guesses[key] = guess


def reveal(key, answer, measured=None, why=None):
    """Print the answer to question ``key`` beside the learner's guess, with one line of feedback.

    ``answer`` is one of the choices, or the measured number. ``measured`` is an optional text
    with the measurement behind a choice (e.g. ``"cost 1.5e4"``). ``why`` (required for a
    choice) says, from the measurement, why the answer is that choice and not another. Prints;
    returns nothing, so a cell that ends with ``reveal(...)`` shows each line once.
    """
    choices = _asked(key)
    if choices is None:
        answer = _parse_number(answer)
        if answer is None:
            raise ValueError(f"the answer to {key!r} must be a number")
    else:
        valid_choice(f"the answer to {key!r}", answer, choices)
        if not why:
            raise ValueError(f"reveal({key!r}, ...) needs why=: a sentence from the measurement "
                             "that says why the answer is right")
    shown = _format(answer) + (f" ({measured})" if measured else "")
    print(f"Measured: {shown}")
    if key not in _guesses:
        feedback = "You recorded no guess: pick one above, then run this cell again."
    else:
        guess = _guesses[key]
        feedback = f"Your guess: {_format(guess)}. " + (
            _choice_feedback(guess, answer) if choices is not None
            else _number_feedback(guess, answer, _close_factors[key]))
    print(feedback)
    if why:
        print(f"Why: {why}")


def _asked(key):
    if key not in _questions:
        raise KeyError(f"no question {key!r} was asked: run the cell with ask({key!r}, ...) first")
    return _questions[key]


def _choice_feedback(guess, answer):
    return "Right." if guess == answer else f"Not this time: the answer is {answer}."


def _number_feedback(guess, answer, close_factor):
    if guess == answer:
        return "Exactly right."
    if guess == 0 or answer == 0 or (guess > 0) != (answer > 0):
        return "Off: look at the sign and the size of the measured value."
    ratio = guess / answer
    factor = max(ratio, 1 / ratio)
    if factor <= close_factor:
        return f"Close: within a factor of {close_factor:g}."
    size = "too high" if ratio > 1 else "too low"
    if factor < 30:
        return f"{factor:.2g} times {size}."
    return f"About {math.log10(factor):.0f} orders of magnitude {size}."


def _parse_number(text):
    if isinstance(text, bool):
        return None
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _format(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)
