"""The documents agree with the repository (MAINTAINING.md, "The repository's address").

One repository address, set in `_config.yml` (`repository: url:`): every GitHub, Binder, Colab
and GitHub Pages address in the README, the maintainers' guide and the notebooks' cells must name
the same owner and repository. The README stays short, the licence is pyproject's, and the
documents hold current facts only: no issue numbers, dates or "earlier" figures (git log keeps
the history).
"""

import json
from pathlib import Path
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "MAINTAINING.md", "benchmarks/README.md"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
README_MAX_BYTES = 10_000

# The series' code, which the README credits: the one other repository a document may name.
SERIES_REPOSITORY = ("joshvarty", "learntensorflownow")

# Addresses on these hosts that name no repository: badge images and the services themselves.
NOT_A_REPOSITORY = {
    "https://mybinder.org",
    "https://mybinder.org/badge_logo.svg",
    "https://colab.research.google.com",
    "https://colab.research.google.com/assets/colab-badge.svg",
}

_ADDRESS = re.compile(r"""https?://[^\s<>"'`()\[\]{}\\]+|git@github\.com:[^\s<>"'`()\\]+""")

HISTORY = {
    "an issue number": re.compile(r"\bissues?\s*#?\d+|(?<![\w&/#])#\d+\b", re.IGNORECASE),
    "a date": re.compile(r"\b(?:19|20)\d\d-\d\d-\d\d\b"),
    "an (earlier) figure": re.compile(r"\(earlier\b|\bearlier (?:run|day|session)s?\b",
                                      re.IGNORECASE),
    "a machine's good or bad day": re.compile(r"\b(?:half|full)[- ]speed\b", re.IGNORECASE),
}


def configured_repository():
    """(owner, name) of `_config.yml`'s repository address, and its branch."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = urlsplit(config["repository"]["url"])
    assert url.scheme == "https" and url.netloc == "github.com", config["repository"]["url"]
    owner, name = url.path.strip("/").removesuffix(".git").split("/")
    return (owner, name), config["repository"]["branch"]


def repository_of(address):
    """(owner, name) that a GitHub, Binder, Colab or GitHub Pages address names; None for an
    address on another host; "no repository" for one on those hosts that names none."""
    if address.startswith("git@github.com:"):
        owner, _, rest = address.removeprefix("git@github.com:").partition("/")
        return owner, rest.split("/")[0].split("@")[0].removesuffix(".git")
    if address.rstrip("/") in NOT_A_REPOSITORY:
        return None
    url = urlsplit(address)
    host, parts = url.netloc.lower(), [part for part in url.path.split("/") if part]
    if host in ("github.com", "www.github.com", "raw.githubusercontent.com"):
        where = parts[:2]
    elif host == "mybinder.org":
        where = parts[2:4] if parts[:2] == ["v2", "gh"] else []
    elif host == "colab.research.google.com":
        where = parts[1:3] if parts[:1] == ["github"] else []
    elif host.endswith(".github.io"):
        where = [host.removesuffix(".github.io"), *parts[:1]]
    else:
        return None
    if len(where) < 2:
        return "no repository"
    return where[0], where[1].split("@")[0].removesuffix(".git")


def addresses(text):
    return [address.rstrip(".,;:") for address in _ADDRESS.findall(text)]


def foreign_addresses(text, repository):
    """The addresses in `text` that name another repository than `repository`, or none."""
    wanted = tuple(part.casefold() for part in repository)
    wrong = []
    for address in addresses(text):
        named = repository_of(address)
        if named is None or (named != "no repository"
                             and tuple(part.casefold() for part in named) == SERIES_REPOSITORY):
            continue
        if named == "no repository" or tuple(part.casefold() for part in named) != wanted:
            wrong.append(address)
    return wrong


def notebook_text(path):
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells
                     if cell["cell_type"] in ("markdown", "code"))


def texts():
    """Every text whose addresses are checked: the documents, and each notebook's cells."""
    found = {name: (ROOT / name).read_text() for name in ["README.md", "MAINTAINING.md"]}
    found.update({f"notebooks/{path.name}": notebook_text(path) for path in NOTEBOOKS})
    return found


# ----------------------------------------------------------------------------------------------
# One repository address


def test_the_address_checker_knows_every_form():
    text = """
        [![b](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/me/course/main?urlpath=lab)
        [![c](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/me/course/blob/main/notebooks/01.ipynb)
        site https://me.github.io/course/, clone https://github.com/me/course.git.
        "!pip install git+https://github.com/Me/Course@main", git@github.com:me/course.git
        https://docs.python.org/3/ https://raw.githubusercontent.com/me/course/main/LICENSE
    """
    assert len(addresses(text)) == 10
    assert foreign_addresses(text, ("me", "course")) == []
    wrong = foreign_addresses(text, ("someone", "else"))
    assert len(wrong) == 7 and "https://docs.python.org/3/" not in wrong
    assert foreign_addresses("https://github.com/me", ("me", "course")) == ["https://github.com/me"]
    assert foreign_addresses("https://mybinder.org/v2/gh/me", ("me", "x")) != []


def test_the_repository_address_is_a_github_address_in_config():
    (owner, name), branch = configured_repository()
    assert owner and name and branch


@pytest.mark.parametrize("name", list(texts()))
def test_every_address_names_the_configured_repository(name):
    repository, _ = configured_repository()
    wrong = foreign_addresses(texts()[name], repository)
    assert not wrong, (f"{name} names another repository than _config.yml's "
                       f"{'/'.join(repository)}: {wrong}")


def test_readme_opens_with_the_three_launch_badges():
    (owner, name), branch = configured_repository()
    readme = (ROOT / "README.md").read_text()
    first_screen = readme.split("\n## ", 1)[0]
    for address in [
        f"https://mybinder.org/v2/gh/{owner}/{name}/{branch}?urlpath=lab/tree/notebooks",
        f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/notebooks/"
        "01_large_weights.ipynb",
        f"https://{owner}.github.io/{name}/",
    ]:
        assert f"]({address})" in first_screen, address
    assert (ROOT / "notebooks" / "01_large_weights.ipynb").is_file()


def test_the_guides_command_sets_every_address(tmp_path):
    """MAINTAINING.md's one-line command, run in a scratch repository holding copies of the
    documents, _config.yml and the notebooks: afterwards every address names the new repository.
    It leaves MAINTAINING.md alone (so that its command keeps the placeholder), which is safe
    because the guide writes no repository address out in full."""
    if shutil.which("git") is None or shutil.which("sed") is None:
        pytest.skip("git or sed is missing")
    guide = (ROOT / "MAINTAINING.md").read_text()
    (command,) = [line for line in guide.splitlines() if line.startswith("git grep ")]
    assert "':!MAINTAINING.md'" in command
    assert not foreign_addresses(guide, ("no one", "nothing"))
    (owner, name), _ = configured_repository()
    # The guide: to move the course later, the old owner and name go in place of OWNER and REPO.
    command = command.replace("OWNER", owner).replace("REPO", name)
    copied = ["README.md", "MAINTAINING.md", "_config.yml",
              *(f"notebooks/{path.name}" for path in NOTEBOOKS)]
    for path in copied:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, tmp_path / path)
    for step in (["git", "init", "-q"], ["git", "add", "."]):
        subprocess.run(step, cwd=tmp_path, check=True, capture_output=True)
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["repository"]["url"] == "https://github.com/you/weight-init"
    assert (tmp_path / "MAINTAINING.md").read_text() == guide
    for path in copied:
        text = (tmp_path / path).read_text()
        if path.endswith(".ipynb"):
            text = notebook_text(tmp_path / path)
        assert not foreign_addresses(text, ("you", "weight-init")), path


# ----------------------------------------------------------------------------------------------
# A short README, the licence, no history


def test_readme_is_at_most_10_kb():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; at most {README_MAX_BYTES}"


def test_license_is_mit_as_pyproject_says():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.splitlines()[0] == "MIT License"
    assert "Copyright (c) The weight-initialization course authors" in text
    for sentence in [
        "Permission is hereby granted, free of charge, to any person obtaining a copy",
        "The above copyright notice and this permission notice shall be included in all",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR',
    ]:
        assert sentence in text


@pytest.mark.parametrize("name", DOCUMENTS)
def test_documents_hold_no_history(name):
    found = []
    for number, line in enumerate((ROOT / name).read_text().splitlines(), start=1):
        for what, pattern in HISTORY.items():
            found += [f"{name}:{number}: {what}: {match.group(0)!r}"
                      for match in pattern.finditer(line)]
    assert not found, "\n".join(found)


def test_history_patterns_catch_what_they_should():
    for text in ["as issue 12 says", "see #12", "Issue #7", "on 2026-11-29", "1.2 GB (earlier)",
                 "*(earlier)*", "on the half-speed day", "full speed", "on an earlier run"]:
        assert any(pattern.search(text) for pattern in HISTORY.values()), text
    for text in ["&#123;", "s#owner/repo#you/weight-init#g", "Python 3.10 to 3.13",
                 "01 / 02 / 03", "x86_64-manylinux_2_28", "## 1. Large weights"]:
        assert not any(pattern.search(text) for pattern in HISTORY.values()), text


def test_readme_starts_where_learners_start():
    """The routes with nothing to install come first, each notebook is a link, the post's series
    and its code are credited, and the test command is the maintainers'."""
    readme = (ROOT / "README.md").read_text()
    order = [readme.index(heading) for heading in (
        "### In your browser, nothing to install", "### On your computer", "## The notebooks",
        "## For maintainers")]
    assert order == sorted(order)
    for path in NOTEBOOKS:
        assert f"[{path.stem}](notebooks/{path.name})" in readme, path.name
    assert "Josh Varty" in readme
    assert "(https://github.com/JoshVarty/LearnTensorFlowNow)" in readme


def test_citation_file_describes_this_course():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert citation["version"] == pyproject["project"]["version"]
    assert citation["license"] == pyproject["project"]["license"]
    repository, _ = configured_repository()
    assert not foreign_addresses(citation["repository-code"], repository)
    assert citation["title"] and citation["authors"] and citation["message"]
    (series,) = citation["references"]
    assert series["repository-code"] == "https://github.com/JoshVarty/LearnTensorFlowNow"


def test_the_mutation_table_is_printed_from_the_committed_sample():
    """benchmarks/README.md's mutation table is `mutation.py --table` of the committed JSON."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutation", ROOT / "benchmarks/mutation.py")
    mutation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutation)
    sample = json.loads((ROOT / "benchmarks/mutation-sample.json").read_text())
    assert mutation.table(sample) in (ROOT / "benchmarks/README.md").read_text()
