"""ruff over the package, the tests, the benchmarks and the notebooks (config in pyproject.toml)."""

from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "course_utils", "tests", "notebooks", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_class_in_course_utils_is_longer_than_150_lines():
    import ast

    long = []
    for path in sorted((ROOT / "course_utils").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 150:
                long.append(f"{path.name}:{node.lineno} {node.name}")
    assert not long, long
