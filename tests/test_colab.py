"""Colab's bootstrap cell, run for real in a Colab-like virtual environment (slow; CI runs it).

Every notebook's first code cell installs the helpers on Colab only, with
``%pip install --no-deps "course-utils @ git+https://github.com/OWNER/REPO@main"`` and then
mlxtend, so that Colab's own TensorFlow stays (pyproject asks for tensorflow-cpu on Linux x86-64,
which would be installed next to it). tests/test_notebook_outputs.py checks the cell's text; this
file runs it:

- A new virtual environment (``python -m venv`` in pytest's tmp folder) is made to look like
  Colab: the full ``tensorflow`` wheel at the version of this environment's TensorFlow, and
  Colab's pip, IPython, ipykernel, ipywidgets 7.7.1 (Colab's widget manager is for ipywidgets 7),
  matplotlib, NumPy and mlxtend (COLAB_PACKAGES: the versions of
  github.com/googlecolab/backend-info's pip-freeze.txt), tqdm; no course_utils. Colab has
  mlxtend, so the cell's ``%pip install mlxtend`` finds it there and changes nothing. pip's
  cache is used as usual. The build downloads about 0.67 GB (the tensorflow wheel is 572 MB)
  and took 72 to 126 s here; ``pytest -s`` prints its figures.
- The repository is cloned (``git clone``) into the tmp folder, so the committed files are what
  is tested, not uncommitted edits. The first code cell of NOTEBOOK is read from the clone, its
  GitHub address replaced by the clone's ``git+file://`` address (the same branch, set to the
  clone's HEAD), and the cell runs through IPython's InteractiveShell in the new environment,
  with a stub ``google.colab`` module in sys.modules: the ``if`` is taken and ``%pip`` is
  IPython's magic, which runs that environment's own pip (``sys.executable -m pip``).
- Afterwards: both pip commands exited with 0; course_utils imports in that same process, from
  the environment's site-packages, installed from the clone's HEAD commit; TensorFlow is the
  distribution it was before (version, location, RECORD, none of its files rewritten, no other
  distribution owns files in tensorflow/); tensorflow-cpu is not installed; no package the
  environment had changed version (ipywidgets is still 7.7.1).
- In new processes there: the helpers draw the post's three initializations and give the
  notebooks' verdicts, and train and evaluate the ConvNet a few steps; notebook 5's playground
  builds with ipywidgets 7.7.1 and redraws when a control's value changes (as
  tests/test_widgets.py checks it), and each of its widgets serializes its state in ipywidgets
  7's protocol. No front end runs: Colab's widget manager is not available here.
"""

import importlib.metadata
import json
import os
from pathlib import Path
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/01_large_weights.ipynb"
# What Colab has (googlecolab/backend-info, pip-freeze.txt, August 2026); TensorFlow is pinned
# to this environment's version instead of Colab's.
COLAB_PIP = "pip==24.1.2"
COLAB_PACKAGES = ("ipywidgets==7.7.1", "ipython==7.34.0", "ipykernel==6.17.1",
                  "matplotlib==3.10.0", "numpy==2.1.3", "mlxtend==0.23.4", "tqdm")
COLAB_IPYWIDGETS = "7.7.1"
GITHUB_ADDRESS = re.compile(r"git\+https://github\.com/[^\s\"'@]+@(?P<ref>[\w./-]+)")
# pip's lines for a wheel fetched from an index, or taken from its cache
FETCHED = re.compile(r"^\s*(Downloading|Using cached) \S+ \(([\d.]+) (kB|MB|GB)\)", re.MULTILINE)
UNITS = {"kB": 1e3, "MB": 1e6, "GB": 1e9}
BUILD_S, BOOTSTRAP_S, SCRIPT_S = 1800, 900, 300

# The distributions of the environment it runs in, and what they say about TensorFlow.
SNAPSHOT = textwrap.dedent("""
    import hashlib, importlib.metadata as md, importlib.util, json, os, re, sys

    def stamp(path):
        status = os.stat(path)
        return [status.st_ino, status.st_mtime_ns, status.st_size]

    versions, owners = {}, set()
    for dist in md.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        versions.setdefault(name, []).append(dist.version)
        if any(file.parts[:1] == ("tensorflow",) for file in dist.files or ()):
            owners.add(name)
    tensorflow = md.distribution("tensorflow")
    files = sorted(str(file) for file in tensorflow.files)
    stamps = hashlib.sha256()
    for file in files:
        path = tensorflow.locate_file(file)
        if os.path.exists(path):  # RECORD lists .pyc files that may never have been written
            stamps.update(json.dumps([file, stamp(path)]).encode())
    try:
        md.distribution("tensorflow-cpu")
        tensorflow_cpu = True
    except md.PackageNotFoundError:
        tensorflow_cpu = False
    json.dump({
        "versions": versions,
        "tensorflow_owners": sorted(owners),
        "tensorflow_cpu": tensorflow_cpu,
        "tensorflow": {
            "version": tensorflow.version,
            "location": str(tensorflow.locate_file("")),
            "module": importlib.util.find_spec("tensorflow").origin,
            "record_sha256": hashlib.sha256(tensorflow.read_text("RECORD").encode()).hexdigest(),
            "files": len(files),
            "file_stamps": stamps.hexdigest(),
        },
    }, open(sys.argv[1], "w"))
""")

# Run the cell (argv[1]) as Colab's kernel would: google.colab imported, the cell through
# IPython. %pip calls shell.system, after which IPython leaves the exit code in _exit_code.
BOOTSTRAP = textwrap.dedent("""
    import importlib.metadata, json, sys, traceback, types

    from IPython.core.interactiveshell import InteractiveShell

    sys.modules["google.colab"] = types.ModuleType("google.colab")
    shell = InteractiveShell.instance()
    commands, run_command = [], shell.system

    def system(command):
        run_command(command)
        commands.append({"command": command, "exit_code": shell.user_ns.get("_exit_code")})

    shell.system = system
    result = shell.run_cell(open(sys.argv[1]).read())
    report = {"success": result.success, "commands": commands, "python": sys.executable,
              "error": repr(result.error_before_exec or result.error_in_exec)}
    try:  # what the notebook's next cells do, in the same process (no restart on Colab)
        import course_utils

        report["course_utils"] = course_utils.__file__
        report["direct_url"] = json.loads(
            importlib.metadata.distribution("course-utils").read_text("direct_url.json"))
    except Exception:
        report["import_error"] = traceback.format_exc()
    json.dump(report, open(sys.argv[2], "w"))
""")

SMOKE = textwrap.dedent("""
    import json, sys

    import tensorflow as tf

    from course_utils.core.data import load_mnist
    from course_utils.lab.experiments import EXPERIMENTS
    from course_utils.core.network import ConvNet
    from course_utils.core.stats import activation_stats, diagnosis, std_ratio
    from course_utils.core.training import evaluate, set_seed, train

    set_seed(0)
    data = load_mnist("subset", seed=0)
    verdicts = {}
    for key, experiment in EXPERIMENTS.items():
        stats = activation_stats(experiment.create_network(0).outputs(data.test_images[:32]))
        verdicts[key] = [diagnosis(stats), std_ratio(stats)]
    network = EXPERIMENTS["proper"].create_network(0)
    history = train(network, data.train_images, data.train_labels,
                    EXPERIMENTS["proper"].learning_rate, 5, record_every=1, progress=False)
    json.dump({
        "tensorflow": [tf.__version__, tf.__file__],
        "is_convnet": isinstance(network, ConvNet),
        "verdicts": verdicts,
        "steps": history.steps,
        "costs": history.costs,
        "test": evaluate(network, data.test_images[:200], data.test_labels[:200]),
    }, open(sys.argv[1], "w"))
""")

# tests/test_widgets.py's test_a_control_change_reaches_the_state_and_redraws, with Colab's
# ipywidgets, then the other kinds of control, and each widget's state as the kernel sends it.
PLAYGROUND = textwrap.dedent("""
    import json, sys

    import ipywidgets as widgets

    from course_utils.core.data import load_mnist
    from course_utils.views.playground import Playground
    from course_utils.core.stats import std_ratio

    playground = Playground(data=load_mnist("subset"), seed=0, batch_size=16)
    image, table = playground.histogram_image.value, playground.logits_table.value
    ratio, count = std_ratio(playground.stats()), playground.redraw_count
    report = {"ipywidgets": widgets.__version__, "repr": repr(playground)}

    playground.controls["layer3"]["scale"].value = 4.0
    report["scale"] = {
        "layer3": playground.state.layers["layer3"],
        "redraws": playground.redraw_count - count,
        "image_changed": playground.histogram_image.value != image,
        "png": bytes(playground.histogram_image.value).startswith(b"\\x89PNG"),
        "table_changed": playground.logits_table.value != table,
        "ratio_factor": std_ratio(playground.stats()) / ratio,
    }
    playground.controls["layer5"]["scheme"].value = "lecun"
    report["scheme"] = [playground.state.layers["layer5"], playground.redraw_count - count]
    playground.preset_buttons["large"].click()
    report["preset"] = [playground.verdict_text(), playground.redraw_count - count]
    playground.activation.value = "tanh"
    report["activation"] = [playground.state.activation, playground.redraw_count - count]
    playground.histogram_scale.value = "per-layer"
    report["histogram_scale"] = playground.redraw_count - count
    report["message"] = playground.message.value
    history = playground.training.train(steps=3, learning_rate=1e-3)
    report["training"] = [history.steps, playground.training.status.value,
                          bytes(playground.training.curve_image.value).startswith(b"\\x89PNG")]

    seen = {}
    def walk(widget):
        if id(widget) not in seen:
            seen[id(widget)] = widget
            for value in widget.get_state().values():
                if isinstance(value, widgets.Widget):
                    walk(value)
            for child in (*getattr(widget, "children", ()), getattr(widget, "layout", None),
                          getattr(widget, "style", None)):
                if isinstance(child, widgets.Widget):
                    walk(child)
    walk(playground)
    report["widgets"] = len(seen)
    report["protocol"] = sorted({f"{widget._model_module} {widget._model_module_version}"
                                 for widget in seen.values()})
    json.dump(report, open(sys.argv[1], "w"))
""")


def _tensorflow_version():
    """This environment's TensorFlow version (tensorflow-cpu on Linux x86-64)."""
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    pytest.skip("TensorFlow is not installed here")


def _environment(venv, tmp):
    """os.environ for a process of ``venv``: its bin first, nothing of this environment's."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1",
               IPYTHONDIR=str(tmp / "ipython"), MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def _run(command, timeout, what, **kwargs):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    assert result.returncode == 0, (f"{what} exited with {result.returncode}:\n"
                                    f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return result


def _fetched_mb(pip_output):
    """(MB downloaded, MB taken from pip's cache) as pip's output reports them."""
    sizes = {"Downloading": 0.0, "Using cached": 0.0}
    for kind, size, unit in FETCHED.findall(pip_output):
        sizes[kind] += float(size) * UNITS[unit] / 1e6
    return sizes["Downloading"], sizes["Using cached"]


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A Colab-like virtual environment: {"python", "env", "tmp", "tensorflow", "build"}."""
    tensorflow = _tensorflow_version()
    tmp = tmp_path_factory.mktemp("colab")
    venv = tmp / "venv"
    env = _environment(venv, tmp)
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", venv], 120, "python -m venv", cwd=tmp, env=env)
    python = venv / "bin" / "python"
    output = ""
    for packages in ([COLAB_PIP], [f"tensorflow=={tensorflow}", *COLAB_PACKAGES]):
        result = _run([python, "-m", "pip", "install", *packages], BUILD_S,
                      f"pip install {' '.join(packages)}", cwd=tmp, env=env)
        output += result.stdout
    downloaded, cached = _fetched_mb(output)
    build = {"seconds": time.monotonic() - started, "downloaded_mb": downloaded,
             "cached_mb": cached}
    print(f"\nColab-like venv: {build['seconds']:.0f} s, {downloaded:.0f} MB downloaded, "
          f"{cached:.0f} MB from pip's cache")
    yield {"python": python, "env": env, "tmp": tmp, "tensorflow": tensorflow, "build": build}
    # 2.5 GB in about 30,000 files: gone now rather than when a later pytest prunes its tmp
    # folders (the reports, cell and clone stay)
    shutil.rmtree(venv, ignore_errors=True)


def _snapshot(colab, name):
    path = colab["tmp"] / f"{name}.json"
    _run([colab["python"], "-c", SNAPSHOT, path], SCRIPT_S, f"snapshot {name}",
         cwd=colab["tmp"], env=colab["env"])
    return json.loads(path.read_text())


def _first_code_cell(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    return "".join(next(cell for cell in cells if cell["cell_type"] == "code")["source"])


@pytest.fixture(scope="module")
def bootstrap(colab):
    """The notebook's first cell, run in the Colab-like venv: before/after snapshots, the
    bootstrap's report, the cell as it ran and the clone's HEAD commit."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the course")
    tmp = colab["tmp"]
    clone = tmp / "repository"
    _run(["git", "clone", "--quiet", ROOT, clone], 300, "git clone", cwd=tmp)
    head = _run(["git", "-C", clone, "rev-parse", "HEAD"], 60, "git rev-parse").stdout.strip()
    source = _first_code_cell(clone / NOTEBOOK)
    address = GITHUB_ADDRESS.search(source)
    assert address, f"no git+https://github.com/...@branch address in the first cell:\n{source}"
    # the branch the cell names, at the clone's HEAD (a detached HEAD in CI has no branch)
    _run(["git", "-C", clone, "update-ref", f"refs/heads/{address['ref']}", "HEAD"], 60,
         "git update-ref")
    cell = source.replace(address[0], f"git+{clone.as_uri()}@{address['ref']}")
    (tmp / "cell.ipy").write_text(cell)

    before = _snapshot(colab, "before")
    started = time.monotonic()
    _run([colab["python"], "-c", BOOTSTRAP, tmp / "cell.ipy", tmp / "bootstrap.json"],
         BOOTSTRAP_S, "the bootstrap cell", cwd=tmp, env=colab["env"])
    seconds = time.monotonic() - started
    print(f"\nbootstrap cell: {seconds:.0f} s")
    return {"before": before, "after": _snapshot(colab, "after"), "cell": cell, "head": head,
            "report": json.loads((tmp / "bootstrap.json").read_text()), "seconds": seconds}


def _run_script(colab, script, name):
    path = colab["tmp"] / f"{name}.json"
    started = time.monotonic()
    _run([colab["python"], "-c", script, path], SCRIPT_S, name, cwd=colab["tmp"],
         env=colab["env"])
    print(f"\n{name}: {time.monotonic() - started:.0f} s")
    return json.loads(path.read_text())


def test_the_environment_looks_like_colab(bootstrap, colab):
    before = bootstrap["before"]
    assert before["tensorflow"]["version"] == colab["tensorflow"]
    assert before["tensorflow_owners"] == ["tensorflow"]
    assert not before["tensorflow_cpu"]
    assert before["versions"]["ipywidgets"] == [COLAB_IPYWIDGETS]
    assert before["versions"]["mlxtend"] == ["0.23.4"]
    assert "course-utils" not in before["versions"]


def test_the_cell_takes_the_colab_branch_and_runs_both_installs(bootstrap, colab):
    report = bootstrap["report"]
    assert report["success"], report["error"]
    assert report["python"] == str(colab["python"])
    # %pip ran this environment's own pip, with the cell's arguments, and both succeeded
    python = shlex.quote(str(colab["python"]))
    assert [command["command"] for command in report["commands"]] == [
        f"{python} -m pip {line.strip().removeprefix('%pip ')}"
        for line in bootstrap["cell"].splitlines() if line.strip().startswith("%pip ")
    ]
    assert len(report["commands"]) == 2
    assert [command["exit_code"] for command in report["commands"]] == [0, 0]


def test_the_helpers_import_in_the_same_process_from_the_committed_head(bootstrap, colab):
    report = bootstrap["report"]
    assert "import_error" not in report, report["import_error"]
    site_packages = colab["python"].parent.parent / "lib"
    assert Path(report["course_utils"]).is_relative_to(site_packages)
    assert report["direct_url"]["vcs_info"]["commit_id"] == bootstrap["head"]
    assert report["direct_url"]["url"] == (colab["tmp"] / "repository").as_uri()


def test_colabs_tensorflow_is_left_alone(bootstrap):
    before, after = bootstrap["before"], bootstrap["after"]
    assert not after["tensorflow_cpu"], "the cell installed tensorflow-cpu next to Colab's TF"
    assert after["tensorflow_owners"] == ["tensorflow"]
    assert after["tensorflow"] == before["tensorflow"]  # version, place, RECORD, files' stamps
    changed = {name: (versions, after["versions"].get(name))
               for name, versions in before["versions"].items()
               if after["versions"].get(name) != versions}
    assert not changed, f"the cell changed packages the environment had: {changed}"
    assert after["versions"]["ipywidgets"] == [COLAB_IPYWIDGETS]
    assert set(after["versions"]) - set(before["versions"]) == {"course-utils"}


def test_the_helpers_run_on_colabs_tensorflow(bootstrap, colab):
    result = _run_script(colab, SMOKE, "smoke")
    version, module = result["tensorflow"]
    assert version == colab["tensorflow"]
    assert Path(module).parent.parent == Path(bootstrap["after"]["tensorflow"]["location"])
    assert result["is_convnet"]
    kinds = {key: kind for key, (kind, _ratio) in result["verdicts"].items()}
    assert kinds == {"large": "exploding", "small": "vanishing", "proper": "healthy"}
    assert result["steps"] == [0, 1, 2, 3, 4]
    cost, accuracy = result["test"]
    assert all(0 < value < 10 for value in [*result["costs"], cost]) and 0 <= accuracy <= 1


def test_the_playground_redraws_with_colabs_ipywidgets(bootstrap, colab):
    result = _run_script(colab, PLAYGROUND, "playground")
    assert result["ipywidgets"] == COLAB_IPYWIDGETS
    assert result["repr"] == "Playground(seed=0, batch=16 digits)"
    scale = result["scale"]
    assert scale["layer3"] == ["he", 4.0] and scale["redraws"] == 1
    assert scale["image_changed"] and scale["png"] and scale["table_changed"]
    assert scale["ratio_factor"] == pytest.approx(4, rel=1e-3)
    assert result["scheme"] == [["lecun", 1.0], 2]
    verdict, redraws = result["preset"]
    assert verdict.startswith("exploding") and redraws == 3
    assert result["activation"] == ["tanh", 4]
    assert result["histogram_scale"] == 5
    assert result["message"] == ""
    steps, status, curve = result["training"]
    assert steps == [0, 1, 2] and "step 3 of 3" in status and curve
    assert result["widgets"] > 50
    # ipywidgets 7's model versions, the ones Colab's widget manager renders (8's are 2.0.0)
    assert result["protocol"] == ["@jupyter-widgets/base 1.2.0",
                                  "@jupyter-widgets/controls 1.5.0"]

