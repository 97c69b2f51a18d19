"""A number guess's feedback at the edges: exactly a factor of 2 or 30 off, the signs, an answer
of 1; and the number box, which records a guess once it is typed, not at every key."""

import pytest

from course_utils.learner.guesses import ask, record_guess, reveal

OFF = "Off: look at the sign and the size of the measured value."


@pytest.mark.parametrize("guess, answer, close_factor, feedback", [
    (20, 10, 2, "Close: within a factor of 2."),  # exactly the factor is still close
    (5, 10, 2, "Close: within a factor of 2."),
    (20.5, 10, 2, "2 times too high."),
    (15, 10, 1.2, "1.5 times too high."),
    (1.5, 1.0, 2, "Close: within a factor of 2."),  # an answer of 1 is an answer like any other
    (0.5, 1.5, 2, "3 times too low."),
    (290, 10, 2, "29 times too high."),
    (300, 10, 2, "orders of magnitude too high."),  # 30 times: counted in powers of ten
    (-12, -10, 2, "Close: within a factor of 2."),  # both negative: the same sign
    (0, 5, 2, OFF),
    (3, 0, 2, OFF),
    (2, -2, 2, OFF),
])
def test_number_feedback_at_the_edges(capsys, guess, answer, close_factor, feedback):
    ask("edge", "?", close_factor=close_factor)
    record_guess("edge", guess)
    capsys.readouterr()
    reveal("edge", answer)
    measured, said = capsys.readouterr().out.splitlines()
    assert measured == f"Measured: {float(answer):.3g}"
    assert said.startswith(f"Your guess: {float(guess):.3g}. ") and said.endswith(feedback), said


def test_the_number_box_records_a_guess_once_it_is_typed(capsys):
    box = ask("typed", "How large?")
    text = box.children[1]
    assert text.continuous_update is False  # "1e4" is not recorded as "1", then "1e", ...
    text.value = "1e4"
    assert box.children[2].value.startswith("Your guess is recorded: 1e+04.")
    capsys.readouterr()
    reveal("typed", 1e4)
    assert capsys.readouterr().out.splitlines()[-1].endswith("Exactly right.")
