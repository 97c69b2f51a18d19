import pytest

from course_utils.learner.guesses import ask, record_guess, reveal


def test_a_choice_is_recorded_by_the_widget_and_compared(capsys):
    box = ask("cost", "What is the first cost?", choices=["about 2.3", "over 10,000"])
    buttons = box.children[1]
    buttons.value = "about 2.3"  # what a click does
    assert "recorded" in box.children[2].value
    why = "logits of +-2000: a sure wrong answer costs its logit gap"
    assert reveal("cost", "over 10,000", measured="1.5e+04", why=why) is None  # prints once
    assert capsys.readouterr().out == ("Measured: over 10,000 (1.5e+04)\n"
                                       "Your guess: about 2.3. Not this time: the answer is "
                                       "over 10,000.\n"
                                       f"Why: {why}\n")
    buttons.value = "over 10,000"
    assert shown(capsys, "cost", "over 10,000").endswith("Right.")


def shown(capsys, key, answer):
    """The feedback line reveal prints (before the why of a choice)."""
    capsys.readouterr()
    reveal(key, answer, why="the measurement says so")
    lines = capsys.readouterr().out.splitlines()
    return lines[-2] if lines[-1].startswith("Why: ") else lines[-1]


def test_a_number_typed_in_the_box_is_parsed(capsys):
    box = ask("logits", "How large are the logits?")
    text = box.children[1]
    text.value = "1e4"
    assert shown(capsys, "logits", 1.5e4).endswith("Close: within a factor of 2.")
    text.value = "not a number"
    assert "not a number" in box.children[2].value
    assert "no guess" in shown(capsys, "logits", 1.5e4)


@pytest.mark.parametrize("guess, answer, feedback", [
    (2.3026, 2.3026, "Exactly right."),
    (40, 10, "4 times too high."),
    (1, 10, "10 times too low."),
    (1e-6, 1e-2, "About 4 orders of magnitude too low."),
    (-1, 10, "Off: look at the sign"),
])
def test_number_feedback_says_how_far_off(guess, answer, feedback, capsys):
    ask("n", "?")
    record_guess("n", guess)
    assert feedback in shown(capsys, "n", answer)


def test_without_a_guess_the_answer_is_still_shown(capsys):
    # nbval and papermill run without anyone clicking: the measurement must still be printed
    ask("plain", "?", choices=["a", "b"])
    reveal("plain", "b", why="b is what the run shows")
    measured, feedback, why = capsys.readouterr().out.splitlines()
    assert measured == "Measured: b"
    assert "no guess" in feedback
    assert why == "Why: b is what the run shows"


def test_a_choice_needs_a_why_and_a_number_prints_none(capsys):
    ask("choice", "?", choices=["a", "b"])
    with pytest.raises(ValueError, match="needs why="):
        reveal("choice", "a")
    ask("number", "?")
    reveal("number", 3.0)
    assert "Why" not in capsys.readouterr().out


def test_asking_again_forgets_the_old_guess(capsys):
    ask("again", "?", choices=["a", "b"])
    record_guess("again", "a")
    ask("again", "?", choices=["a", "b"])
    assert "no guess" in shown(capsys, "again", "a")


def test_clear_errors():
    with pytest.raises(KeyError, match="no question 'never'"):
        reveal("never", 1.0)
    with pytest.raises(ValueError, match="at least two different"):
        ask("bad", "?", choices=["same", "same"])
    ask("pick", "?", choices=["a", "b"])
    with pytest.raises(ValueError, match="choose one of"):
        reveal("pick", "c", why="-")
    with pytest.raises(ValueError, match="choose one of"):
        record_guess("pick", "c")
    ask("number", "?")
    with pytest.raises(ValueError, match="must be a number"):
        record_guess("number", "ten")
    with pytest.raises(ValueError, match="must be a number"):
        reveal("number", "ten")
    reveal("pick", "a", why="-")  # the refused answers changed nothing: the question still stands


def test_a_question_can_ask_for_a_closer_guess(capsys):
    # "always answer 7": 10 % is the answer, and 5 % or 20 % is the misconception itself
    ask("always_seven", "?", close_factor=1.2)
    for guess, feedback in ((11, "Close: within a factor of 1.2."), (20, "2 times too high."),
                            (5, "2 times too low.")):
        record_guess("always_seven", guess)
        assert shown(capsys, "always_seven", 10.0).endswith(feedback), guess
    with pytest.raises(ValueError, match="close_factor must be a number > 1"):
        ask("bad_factor", "?", close_factor=1)
