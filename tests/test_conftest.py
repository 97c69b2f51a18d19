"""The nbval policy of conftest.py: stderr is not compared, stdout is."""

from pathlib import Path
import shutil

import nbformat
import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path, saved_stdout, saved_stderr, code):
    cell = nbformat.v4.new_code_cell(code, execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=saved_stdout),
        nbformat.v4.new_output("stream", name="stderr", text=saved_stderr),
    ])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


@pytest.mark.parametrize(("stdout", "passes"), [("same\n", True), ("other\n", False)])
def test_nbval_ignores_stderr_but_not_stdout(pytester, stdout, passes):
    shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    code = (f"import sys\nprint({stdout.strip()!r})\n"
            "print('a progress bar that differs', file=sys.stderr)")
    _notebook(pytester.path / "check.ipynb", "same\n", "saved stderr text\n", code)
    result = pytester.runpytest_subprocess("--nbval", "--nbval-current-env",
                                           "-p", "no:cacheprovider", "check.ipynb")
    result.assert_outcomes(passed=1 if passes else 0, failed=0 if passes else 1)
