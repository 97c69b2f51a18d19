"""The lessons' shape: short, every prediction asked before it is answered, exercises that check.

The budgets come from the course's issue on a lean lesson: at most 8,000 markdown words across
the notebooks and 1,300 in any one; every prompt to predict is a recorded guess
(``course_utils.learner.guesses.ask``) answered later in the same notebook (``reveal``); at least
six exercises checked by ``course_utils.learner.exercises``, at least three of them run an
experiment.
"""

import json
from pathlib import Path
import re

import pytest

from course_utils.learner import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_WORDS_TOTAL = 8000
MAX_WORDS_PER_NOTEBOOK = 1300
ASK = re.compile(r"\bask\(\s*[\"'](\w+)[\"']")
REVEAL = re.compile(r"\breveal\(\s*[\"'](\w+)[\"']")
PROMPT = re.compile(r"\bPredict\b")  # the imperative: a prompt to the learner
CHECK_CALL = re.compile(r"\bcheck_(\w+)\(")


def cells(notebook):
    return json.loads(notebook.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def markdown_words(notebook):
    return sum(len(source(cell).split()) for cell in cells(notebook)
               if cell["cell_type"] == "markdown")


def questions(notebook):
    """(cell index, key) of every ask and of every reveal, in order."""
    asked, revealed = [], []
    for index, cell in enumerate(cells(notebook)):
        if cell["cell_type"] == "code":
            asked += [(index, key) for key in ASK.findall(source(cell))]
            revealed += [(index, key) for key in REVEAL.findall(source(cell))]
    return asked, revealed


def test_the_course_says_it_in_8000_words():
    words = {notebook.name: markdown_words(notebook) for notebook in NOTEBOOKS}
    assert sum(words.values()) <= MAX_WORDS_TOTAL, words


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_each_notebook_says_it_in_1300_words(notebook):
    assert markdown_words(notebook) <= MAX_WORDS_PER_NOTEBOOK


def test_the_word_count_counts_markdown_only(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["one two\n", "three"]},
        {"cell_type": "code", "source": ["not counted at all"]}]}))
    assert markdown_words(notebook) == 3


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_every_question_is_asked_then_answered(notebook):
    asked, revealed = questions(notebook)
    first_ask = {}
    for index, key in asked:
        assert key not in first_ask, f"question {key!r} asked twice"
        first_ask[key] = index
    answered = {key for _, key in revealed}
    assert not set(first_ask) - answered, f"never answered: {set(first_ask) - answered}"
    for index, key in revealed:
        assert key in first_ask, f"{key!r} is answered but never asked"
        assert first_ask[key] < index, f"{key!r} is answered (cell {index}) before it is asked"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_every_prompt_to_predict_records_a_guess(notebook):
    # a markdown "Predict ..." is followed by an ask() before the next markdown cell
    notebook_cells = cells(notebook)
    for index, cell in enumerate(notebook_cells):
        if cell["cell_type"] != "markdown" or not PROMPT.search(source(cell)):
            continue
        following = []
        for later in notebook_cells[index + 1:]:
            if later["cell_type"] == "markdown":
                break
            following.append(source(later))
        assert any(ASK.search(code) for code in following), (
            f"cell {index} asks the learner to predict but records no guess: "
            f"{source(cell)[:80]!r}")


def test_every_notebook_asks_for_a_prediction():
    lessons = [notebook for notebook in NOTEBOOKS if questions(notebook)[0]]
    assert len(lessons) == len(NOTEBOOKS), [n.name for n in NOTEBOOKS if n not in lessons]


def test_the_question_tests_see_a_reveal_before_its_ask(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["reveal('cost', 2.3)"]},
        {"cell_type": "code", "source": ["ask('cost', 'What?')"]}]}))
    with pytest.raises(AssertionError, match="before it is asked"):
        test_every_question_is_asked_then_answered(notebook)


def exercise_checks():
    """The exercise checks the notebooks call, with the notebook each is in."""
    called = {}
    for notebook in NOTEBOOKS:
        for cell in cells(notebook):
            if cell["cell_type"] == "code":
                for name in CHECK_CALL.findall(source(cell)):
                    if name in exercises.EXERCISES or name in exercises.RUN_SOLUTIONS:
                        called[name] = notebook.name
    return called


def test_at_least_six_exercises_three_of_which_run_an_experiment():
    called = exercise_checks()
    assert len(called) >= 6, called
    assert len([name for name in called if name in exercises.RUN_SOLUTIONS]) >= 3, called


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_folded_html_blocks_end_before_the_markdown_after_them(notebook):
    """A line right after ``</details>`` (or right before ``<details>``) is swallowed into the HTML
    block: JupyterLab and the site then show the rest of a list as raw text."""
    from markdown_it import MarkdownIt

    render = MarkdownIt("commonmark").render
    for cell in cells(notebook):
        text = source(cell)
        if cell["cell_type"] != "markdown" or "<details>" not in text:
            continue
        html = render(text)
        assert html.count("<details>") == text.count("<details>")
        for block in re.findall(r"<details>.*?</details>", html, flags=re.DOTALL):
            assert "<summary>" in block and "</p>" in block, block  # the answer is markdown
        assert not re.search(r"</details>\n?\d+\. ", html), "a list item left as raw text"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_three_recipes_go_by_the_experiments_tables_labels(notebook):
    """One name per recipe (``EXPERIMENTS[key].label``), in prose, code and outputs alike."""
    from course_utils.lab.experiments import EXPERIMENTS

    assert EXPERIMENTS["proper"].label == "He + Xavier"
    text = json.dumps([cell for cell in cells(notebook)])
    for other in ("He/Xavier", "He+Xavier", "He & Xavier", "He and Xavier init"):
        assert other not in text, f"{notebook.name} calls He + Xavier '{other}'"
