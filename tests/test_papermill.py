"""papermill runs the notebooks with other parameters (README, "Full MNIST")."""

import json
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parents[1]


def parameters_cell(notebook):
    cells = json.loads(Path(notebook).read_text())["cells"]
    return next(cell for cell in cells if "parameters" in cell["metadata"].get("tags", []))


def readme_papermill_commands():
    return re.findall(r"^(papermill .+)$", (ROOT / "README.md").read_text(), re.MULTILINE)


def test_readme_shows_the_faithful_run_as_one_papermill_command():
    commands = readme_papermill_commands()
    assert commands, "the README shows no papermill command"
    faithful = [command for command in commands if "-p DATASET full" in command]
    assert faithful and "-p STEPS 5000" in faithful[0]


def test_readme_papermill_parameters_exist_in_the_notebooks():
    for command in readme_papermill_commands():
        notebook = ROOT / command.split()[1]
        assert notebook.is_file(), command
        assigned = set(re.findall(r"^(\w+)\s*=", "".join(parameters_cell(notebook)["source"]),
                                  re.MULTILINE))
        for name in re.findall(r"-p (\w+) ", command):
            assert name in assigned, f"{name} is not set in {notebook.name}'s parameters cell"


@pytest.mark.slow  # runs a notebook end to end
def test_papermill_runs_the_playground_with_other_parameters(tmp_path):
    papermill = pytest.importorskip("papermill")
    output = tmp_path / "playground.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "05_playground.ipynb"), str(output),
        parameters={"SEED": 3, "BATCH_SIZE": 8}, cwd=str(ROOT / "notebooks"),
        progress_bar=False, kernel_name="python3",
    )
    cells = json.loads(output.read_text())["cells"]
    injected = [cell for cell in cells
                if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert len(injected) == 1
    assert "SEED = 3" in "".join(injected[0]["source"])
    assert "BATCH_SIZE = 8" in "".join(injected[0]["source"])
    errors = [output for cell in cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
    assert cells.index(injected[0]) == cells.index(parameters_cell(output)) + 1
