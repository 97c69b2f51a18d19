"""benchmarks/mutation.py's mutator: which mutants it lists, and what it spares."""

from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import mutation  # noqa: E402


def described(source):
    return sorted(description for _, description, _ in mutation.mutations(source))


def test_each_kind_of_mutant_is_listed_and_applied():
    source = "def f(a, b):\n    return a + b if a < 2 and not b else 0.5\n"
    assert described(source) == sorted([
        "Add -> Sub", "drop right term of Add", "Lt -> LtE", "And -> Or", "drop not",
        "constant 2 -> 3", "constant 0.5 -> 1.0",
    ])
    applied = {description: mutation.apply(source, how).splitlines()[1].strip()
               for _, description, how in mutation.mutations(source)}
    assert applied == {
        "Add -> Sub": "return a - b if a < 2 and (not b) else 0.5",
        "drop right term of Add": "return a if a < 2 and (not b) else 0.5",
        "Lt -> LtE": "return a + b if a <= 2 and (not b) else 0.5",
        "And -> Or": "return a + b if a < 2 or not b else 0.5",
        "drop not": "return a + b if a < 2 and b else 0.5",
        "constant 2 -> 3": "return a + b if a < 3 and (not b) else 0.5",
        "constant 0.5 -> 1.0": "return a + b if a < 2 and (not b) else 1.0",
    }


def test_docstrings_messages_and_style_keywords_are_not_mutated():
    source = (
        'def f(ax, x):\n'
        '    """Docstring with 2 in it."""\n'
        '    if x > 1:\n'
        '        raise ValueError(3 + 4)\n'
        '    ax.plot(x, 5, fontsize=10, linewidth=1.5, figsize=(3, 4))\n'
        '    print(x, flush=True)\n'
    )
    assert described(source) == ["Gt -> GtE", "constant 1 -> 2", "constant 5 -> 6"]
