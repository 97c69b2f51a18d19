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


def _definitions(kind):
    """(where, lines) of every ``kind`` (ast.ClassDef, or a function) in course_utils."""
    import ast

    for path in sorted((ROOT / "course_utils").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, kind):
                where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                yield where, node.end_lineno - node.lineno + 1


def test_no_class_in_course_utils_is_longer_than_150_lines():
    import ast

    long = [where for where, lines in _definitions(ast.ClassDef) if lines > 150]
    assert not long, long


def test_no_function_in_course_utils_is_longer_than_80_lines():
    import ast

    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    long = [f"{where} ({lines})" for where, lines in _definitions(functions) if lines > 80]
    assert not long, long


def test_the_parts_import_only_from_the_parts_above_them():
    """course_utils' parts in order: core, lab, then views and learner side by side. An import
    of a part further down (or across, between views and learner) is refused."""
    import re

    rank = {"core": 0, "lab": 1, "views": 2, "learner": 2}
    upward = []
    for path in sorted((ROOT / "course_utils").rglob("*.py")):
        part = path.relative_to(ROOT / "course_utils").parts[0]
        if part not in rank:
            continue
        imports = r"^\s*from\s+(?:course_utils\.|\.+)(core|lab|views|learner)\b"
        for name in re.findall(imports, path.read_text(), flags=re.MULTILINE):
            if name != part and rank[name] >= rank[part]:
                upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not upward, upward
