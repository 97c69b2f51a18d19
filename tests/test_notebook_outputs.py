"""The committed notebooks: a parameters cell for papermill, and saved outputs a reader can read.

No CUDA errors (the CPU-only TensorFlow wheel does not probe for CUDA; README, "On your computer"),
and no progress bars saved as dozens of stderr blocks (notebooks train with progress=False).
"""

import json
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# A tqdm bar as it is saved: "  40%|####      | 160/400 [00:02<00:03, 61.2it/s]".
PROGRESS_BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")
# An absl log line: severity, date, time, thread id, file:line.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.M)


def load(notebook):
    return json.loads(notebook.read_text())


def stderr_texts(notebook):
    for cell in load(notebook)["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                yield "".join(output["text"])


def parameters_cells(notebook):
    return [cell for cell in load(notebook)["cells"]
            if "parameters" in cell.get("metadata", {}).get("tags", [])]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_no_saved_output_mentions_cuda(notebook):
    assert "cuInit" not in notebook.read_text()
    assert "cuda_platform" not in notebook.read_text()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_no_saved_output_lists_the_machines_cpu_instructions(notebook):
    # TensorFlow's cpu_feature_guard line names the instructions of the CPU that ran the
    # notebook: noise to a reader, and it differs between machines
    assert "cpu_feature_guard" not in notebook.read_text()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_no_saved_output_carries_tensorflows_log_lines(notebook):
    # "I0000 00:00:1796299388.664389   13106 port.cc:153] oneDNN custom operations are on...":
    # a timestamp and a process id in every saved notebook and on the site. The first code cell
    # imports course_utils, which loads TensorFlow with them hidden.
    texts = ["".join(output.get("text", "")) for cell in load(notebook)["cells"]
             for output in cell.get("outputs", [])]
    logged = [text for text in texts if TF_LOG_LINE.search(text) or "absl::" in text]
    assert not logged, logged[0][:300]
    first_code = next(cell for cell in load(notebook)["cells"] if cell["cell_type"] == "code")
    assert re.search(r"^import course_utils\b", "".join(first_code["source"]), re.M)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_opens_with_a_colab_link_and_its_cost(notebook):
    # the title cell links the notebook to Colab and says what it costs before anything runs
    title = "".join(load(notebook)["cells"][0]["source"])
    colab = f"https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/{notebook.name}"
    assert f"[Open in Colab]({colab})" in title
    cost = re.search(r"\*\*Run time:\*\* ([\d,]+) training-step equivalents?", title)
    assert cost and "min" in title[cost.end():cost.end() + 200]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_every_training_cell_shows_its_progress(notebook):
    # a cell that trains can take minutes on a slow CPU: it shows a bar (a widget in
    # JupyterLab, saved as its first line of text), unless it says why it does not
    silent = []
    for index, cell in enumerate(load(notebook)["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not re.search(r"\b(train|run_grid)\(", source):
            continue
        if "def " in source.split("train(")[0].split("run_grid(")[0][-200:]:
            continue  # a function that trains is defined here, not run
        bars = [output for output in cell.get("outputs", [])
                if PROGRESS_BAR.search("".join(output.get("data", {}).get("text/plain", "")))]
        if not bars and "progress=False" not in source:
            silent.append(index)
        if "progress=False" in source:
            assert re.search(r"progress=False\).*#|#.*\n.*progress=False", source), (
                f"cell {index}: say why it shows no progress")
    assert not silent, f"cells {silent} train without a progress bar"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_no_progress_bars_in_saved_stderr(notebook):
    bars = [text for text in stderr_texts(notebook) if PROGRESS_BAR.search(text)]
    assert not bars, f"{len(bars)} stderr blocks with progress bars; train with progress=False"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_one_parameters_cell_near_the_top(notebook):
    cells = parameters_cells(notebook)
    assert len(cells) == 1, "papermill needs exactly one code cell tagged 'parameters'"
    assert cells[0]["cell_type"] == "code"
    assert load(notebook)["cells"].index(cells[0]) < 6


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_opens_with_its_title(notebook):
    # the lesson starts with its title and introduction, not with code
    first = load(notebook)["cells"][0]
    assert first["cell_type"] == "markdown"
    assert "".join(first["source"]).startswith("# ")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_saved_cells_are_the_lessons_own(notebook):
    # a measuring tool's probe (benchmarks/run.py) must never be saved into a lesson
    assert "_course_memory" not in notebook.read_text()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_no_execution_timestamps_saved(notebook):
    # re-execute with --ExecutePreprocessor.record_timing=False (MAINTAINING.md): timestamps
    # in every cell only make each re-run's diff noisy
    stamped = [index for index, cell in enumerate(load(notebook)["cells"])
               if "execution" in cell.get("metadata", {})]
    assert not stamped, f"cells {stamped} carry execution timestamps"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_installs_the_helpers_on_colab_only_and_keeps_colabs_tensorflow(notebook):
    # Colab has TensorFlow, matplotlib and ipywidgets but not course_utils: the cell after the
    # title installs the helpers there, without their dependencies (tensorflow-cpu would replace
    # Colab's GPU build), and does nothing anywhere else (tests/test_docs.py checks the address)
    cell = load(notebook)["cells"][1]
    source = "".join(cell["source"])
    assert cell["cell_type"] == "code" and not cell["outputs"]
    assert 'if "google.colab" in sys.modules:' in source
    install = [line for line in source.splitlines() if "course-utils @ git+" in line]
    assert len(install) == 1 and install[0].startswith("    %pip install")
    assert "--no-deps" in install[0]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_set_seed_ran_before_tensorflows_first_op(notebook):
    # otherwise TensorFlow ran several ops at once when the outputs were saved, and BatchNorm
    # results can differ from a replay (a maintainer's tool that runs ops at start-up, like the
    # step counter of benchmarks/step_count.py, must not be used to save notebooks)
    warned = [text for text in stderr_texts(notebook) if "set_seed came after" in text]
    assert not warned
