"""Mutation testing of course_utils: do the tests notice when the code is wrong?

Run from the repository root (slow: minutes per module; not part of the default pytest):

    nice -n 10 python benchmarks/mutation.py --per-module 5 --seed 2026 \
        --json benchmarks/mutation-sample.json
    nice -n 10 python benchmarks/mutation.py --modules core/stats lab/deep_stack
    nice -n 10 python benchmarks/mutation.py --mutants "core/stats:120:drop right term of Add"
    python benchmarks/mutation.py --table benchmarks/mutation-sample.json

A module is named by its path under course_utils/ without ``.py`` (``views/playground/state``).

A small AST mutator of our own. For each module it lists every mutant of these kinds:

- arithmetic swaps (``+`` <-> ``-``, ``*`` <-> ``/``, ``**`` -> ``*``, ``//`` -> ``/``,
  ``%`` -> ``*``),
- comparison swaps (``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``in`` <-> ``not in``),
- ``and`` <-> ``or``, ``not x`` -> ``x``,
- constants changed (an int ``n`` -> ``n + 1``, a float ``x`` -> ``2 x``, ``True`` <-> ``False``),
- a dropped term (``a + b`` -> ``a``, ``a * b`` -> ``a``, ...),

leaving out docstrings, strings, f-strings, the messages of ``raise`` and the values of
style-only keyword arguments (:data:`STYLE_KEYWORDS`: figure size, font and marker sizes, line
widths, margins, a warning's ``stacklevel``, ``print``'s ``flush``). It draws
``--per-module`` of them at random (``--seed``; the draw of a module does not depend on which
other modules run), writes each into a scratch copy of the repository and runs the test files
that cover the module with ``pytest -x`` (first failure stops it). The test files are found
from the imports (:func:`covering_tests`): every ``tests/test_*.py`` that imports the module,
or the package that holds it; the module's own test file runs first.

Each mutant ends one of four ways: *killed* (a test fails: pytest exits with 1), *crashed*
(pytest could not run the tests: the mutant breaks the import or the collection), *timeout*
(over three times the clean run plus a minute) or *survived* (every test passes). The score
counts only the kills.

To skip TensorFlow's import (seconds) for every mutant, a parent process imports the heavy
libraries once and forks a child per mutant; the child imports the mutated course_utils.
Prints one line per mutant and a summary. ``--json`` writes the sample (after every mutant,
so a stopped run keeps what it did): the commit, the seed, each module's covering tests and
every mutant with its source line. A survivor that no test can kill, because the mutant
computes the same thing, gets ``"equivalent": "why"`` in that file, by hand. ``--table``
prints the Markdown table of such a file. ``--mutants`` replays chosen ones, named
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
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent

PACKAGE = ROOT / "course_utils"
OUTCOMES = ("killed", "crashed", "timeout", "survived")


def package_modules():
    """Every module of course_utils, by its path under course_utils/ without ``.py``."""
    return sorted(str(path.relative_to(PACKAGE).with_suffix("")) for path in PACKAGE.rglob("*.py")
                  if path.name not in ("__init__.py", "__main__.py"))


def covering_tests(modules=None):
    """``{module: [test files]}``: the test files that import the module or its package.

    ``from course_utils.lab import monitor`` and ``import course_utils.lab.monitor`` both count
    for ``lab/monitor``; ``from course_utils.learner.exercises import ...`` counts for every
    module of that package. The module's own test file (``test_<name>.py``) comes first, the
    rest follow by size, so that a kill is usually found early.
    """
    modules = package_modules() if modules is None else modules

    def named(dotted):
        path = "/".join(dotted.split(".")[1:])
        if path in modules:
            return {path}
        return {module for module in modules if module.startswith(path + "/")}

    covering = {module: [] for module in modules}
    for test in sorted((ROOT / "tests").glob("test_*.py")):
        found = set()
        for node in ast.walk(ast.parse(test.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
                for alias in node.names:
                    found |= named(f"{node.module}.{alias.name}") or named(node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("course_utils"):
                        found |= named(alias.name)
        for module in found:
            covering[module].append(test)
    return {module: [str(test.relative_to(ROOT)) for test in sorted(
        tests, key=lambda test: (module.split("/")[-1] not in test.stem,
                                 test.stat().st_size))]
        for module, tests in covering.items()}


def outcome_of(code):
    """``"killed"``, ``"crashed"``, ``"timeout"`` or ``"survived"`` from run_tests' code."""
    if code == "timeout":
        return "timeout"
    return {0: "survived", 1: "killed"}.get(code, "crashed")


BINARY_SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.Mult,
}
COMPARE_SWAPS = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


# Keyword arguments that only style a figure, point a warning at the caller's line or flush
# printed text at once: they change neither what is computed nor what a learner reads, and a
# test that restates a font size breaks with every design change and catches no bug, so their
# values are not mutated.
STYLE_KEYWORDS = frozenset({
    "figsize", "dpi", "fontsize", "labelsize", "linewidth", "markersize", "alpha", "rotation",
    "left", "right", "bottom", "top", "wspace", "hspace", "pad", "labelpad", "zorder", "nbins",
    "stacklevel", "flush",
})


def _skipped_nodes(tree):
    """Nodes whose subtrees are never mutated: docstrings, f-strings, raise statements and the
    values of :data:`STYLE_KEYWORDS` in calls."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.JoinedStr, ast.Raise)):
            skipped.update(id(child) for child in ast.walk(node))
        if isinstance(node, ast.keyword) and node.arg in STYLE_KEYWORDS:
            skipped.update(id(child) for child in ast.walk(node.value))
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
    parser.add_argument("--per-module", type=int, default=5, help="mutants drawn per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modules", nargs="*", default=package_modules())
    parser.add_argument("--json", type=Path, help="write the sample and every outcome here")
    parser.add_argument("--mutants", nargs="*", default=None, metavar="MODULE:LINE:MUTATION",
                        help="run exactly these, no sample "
                        "(e.g. 'core/stats:120:drop right term of Add')")
    parser.add_argument("--not-slow", nargs="*", default=[], metavar="MODULE",
                        help="for these modules, deselect the tests marked slow (-m 'not slow')")
    parser.add_argument("--table", type=Path, metavar="JSON",
                        help="print the Markdown table of a sample written by --json, and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    unknown = sorted(set(args.modules) - set(package_modules()))
    if unknown:
        parser.error(f"not modules of course_utils: {', '.join(unknown)}")

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

    wanted = [spec.split(":", 2) for spec in args.mutants or []]
    modules = list(dict.fromkeys(module for module, _, _ in wanted)) if wanted else args.modules
    sample = {"commit": _commit(), "seed": args.seed, "per_module": args.per_module,
              "modules": {}, "mutants": []}
    scratch = Path(tempfile.mkdtemp(prefix="course-mutation-"))
    workdir = scratch / "repo"
    shutil.copytree(ROOT, workdir, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "__pycache__", "runs", ".ipynb_checkpoints"))
    try:
        tests = covering_tests()
        for module in modules:
            _run_module(module, tests[module], workdir, args, wanted, sample)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(table(sample))
    return 0


def _run_module(module, tests, workdir, args, wanted, sample):
    """Draw (or pick) the module's mutants, run each, and add them to ``sample``."""
    path = workdir / "course_utils" / f"{module}.py"
    source = path.read_text()
    lines = source.splitlines()
    not_slow = module in args.not_slow
    if not tests:
        print(f"{module}: no test file imports it; every mutant would survive")
    code, seconds = run_tests(workdir, tests, timeout=1800, not_slow=not_slow)
    if tests and code != 0:
        print(f"{module}: the tests fail before any mutation ({code}); skipped")
        return
    timeout = 3 * seconds + 60
    candidates = mutations(source)
    rng = random.Random(f"{args.seed}-{module}")  # the same draw whatever else runs
    chosen = sorted(rng.sample(candidates, min(args.per_module, len(candidates))))
    if wanted:
        chosen = [candidate for candidate in candidates
                  if [module, str(candidate[0]), candidate[1]] in wanted]
    sample["modules"][module] = {"tests": tests, "mutants": len(candidates),
                                 "clean_seconds": round(seconds, 1)}
    print(f"{module}: {len(candidates)} mutants, {len(chosen)} drawn; "
          f"{len(tests)} test files, clean run {seconds:.0f} s", flush=True)
    for line, description, how in chosen:
        try:
            path.write_text(apply(source, how))
            code, seconds = run_tests(workdir, tests, timeout, not_slow) if tests else (0, 0.0)
        finally:
            path.write_text(source)
        outcome = outcome_of(code)
        sample["mutants"].append({
            "module": module, "line": line, "source": lines[line - 1].strip(),
            "mutation": description, "outcome": outcome, "exit": code,
            "seconds": round(seconds, 1)})
        print(f"  {outcome:<8} {module}.py:{line} {description} ({code}, {seconds:.0f} s)",
              flush=True)
        if args.json:  # after each mutant, so that a stopped run keeps what it did
            args.json.write_text(json.dumps(sample, indent=1) + "\n")


def _commit():
    """The checked-out commit (with ``+changes`` if the work tree differs from it)."""
    def git(*command):
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--", "course_utils", "tests")
                     else "")


def table(sample):
    """The Markdown table of a sample: one row per module, the total, the score, the survivors.

    The score is the killed share of the mutants that are not equivalent; crashes and timeouts
    are counted apart (they are caught, but not by a test's assertion).
    """
    rows = ["| module | drawn | killed | crashed | timeout | survived | equivalent |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    totals = dict.fromkeys(("drawn", *OUTCOMES, "equivalent"), 0)
    for module in sample["modules"]:
        mutants = [mutant for mutant in sample["mutants"] if mutant["module"] == module]
        counts = {"drawn": len(mutants),
                  **{outcome: sum(m["outcome"] == outcome for m in mutants)
                     for outcome in OUTCOMES},
                  "equivalent": sum(bool(m.get("equivalent")) for m in mutants)}
        for key, value in counts.items():
            totals[key] += value
        rows.append(f"| {module} | " + " | ".join(str(counts[key]) for key in totals) + " |")
    rows.append("| **all** | " + " | ".join(f"**{value}**" for value in totals.values()) + " |")
    scored = totals["drawn"] - totals["equivalent"]
    rows += ["", f"Commit {sample['commit']}, seed {sample['seed']}, {sample['per_module']} "
             f"drawn per module. Score: {totals['killed']} of {scored} non-equivalent mutants "
             f"killed by a test ({100 * totals['killed'] / max(scored, 1):.0f} %); caught in "
             f"any way (killed, crashed or timed out): "
             f"{totals['killed'] + totals['crashed'] + totals['timeout']} of {scored}."]
    survivors = [m for m in sample["mutants"] if m["outcome"] == "survived"]
    if survivors:
        rows += ["", "Survivors:", ""]
        rows += [f"- `{m['module']}`: {m['mutation']} in `{m['source']}`"
                 + (f" (equivalent: {m['equivalent']})" if m.get("equivalent") else "")
                 for m in survivors]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
