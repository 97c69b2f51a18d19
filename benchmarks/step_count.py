"""Count the images a process passes through the course's network: its cost in step equivalents.

A machine-independent measure of work: one *step equivalent* is one training step of 100 images
(forward pass plus backward pass). An image that only goes forward (testing, ``network.outputs``,
``predict``) counts one third of a training image, the FLOP ratio (a training step is three
forward passes' worth of convolutions: the forward pass, the gradient of the inputs and the
gradient of the weights; see ``speed.py``)::

    step equivalents = (training images + forward-only images / 3) / 100

How it counts, without changing what is computed: :func:`install` wraps
``course_utils.core.network.forward_pass``, through which every pass of the ConvNet goes (training's
compiled step, testing, ``ConvNet.forward``/``outputs``/``predict``, the diagnostics' gradients),
as soon as ``course_utils.core.network`` is imported (an import hook), so every later binding and
every compiled function traced afterwards uses the wrapper. The wrapper adds the batch's number of
images to one of two int64 counter variables: "training" when a gradient tape is recording (the pass
will be differentiated), "forward" otherwise. Inside a compiled function the counter update is an
op of the graph, so it counts every step of the compiled loops, not the one trace. The counts are
written as JSON to a file after every notebook cell (IPython) and at exit.

Used by ``run.py`` (``course_time.py``) for every notebook (a startup file in a temporary
``IPYTHONDIR`` makes the kernel call :func:`install` before the first cell) and for ``reproduce``
(:func:`run_module_command`). Not counted: work that does not go through ``forward_pass`` (NumPy,
like ``course_utils.lab.deep_stack``).
"""

import atexit
import importlib.abc
import importlib.util
import inspect
import json
import os
from pathlib import Path
import sys
import tempfile

BATCH_SIZE = 100
FORWARD_WEIGHT = 1 / 3  # a forward-only image, in training images (FLOPs: 1 of 3 passes)
ENV_VARIABLE = "COURSE_IMAGE_COUNT_FILE"
TARGET_MODULE = "course_utils.core.network"

_STARTUP = """\
# Written by benchmarks/step_count.py: count the images this kernel passes through the network.
def _install_image_counter():
    import os
    import sys
    sys.path.insert(0, {folder!r})
    try:
        import step_count
    finally:
        sys.path.remove({folder!r})
    step_count.install(os.environ[step_count.ENV_VARIABLE])


_install_image_counter()
del _install_image_counter
"""

_state = {}


def step_equivalents(counts):
    """Step equivalents of ``{"training_images": ..., "forward_images": ...}``."""
    return (counts["training_images"] + FORWARD_WEIGHT * counts["forward_images"]) / BATCH_SIZE


def install(path):
    """Count from now on; write the counts to ``path`` (JSON) after each cell and at exit."""
    if _state:
        raise RuntimeError("the image counter is already installed")
    _state["path"] = Path(path)
    if TARGET_MODULE in sys.modules:
        _patch(sys.modules[TARGET_MODULE])
    else:
        sys.meta_path.insert(0, _PatchAfterImport())
    atexit.register(write_counts)
    try:
        ipython = get_ipython()  # noqa: F821 (defined in IPython kernels only)
    except NameError:
        ipython = None
    if ipython is not None:
        ipython.events.register("post_run_cell", lambda *_: write_counts())


def counts():
    """``{"training_images", "forward_images", "step_equivalents"}`` so far (zeros before the
    network module is imported)."""
    counters = _state.get("counters")
    values = {name: int(counters[name].numpy()) if counters else 0
              for name in ("training_images", "forward_images")}
    return {**values, "step_equivalents": step_equivalents(values)}


def write_counts():
    if "path" in _state:
        _state["path"].write_text(json.dumps(counts()))


def read_counts(path):
    """The counts a process wrote to ``path``, or None if it wrote none."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def startup_folder(folder):
    """An ``IPYTHONDIR`` under ``folder`` whose startup file installs the counter (reading the
    counts file's path from the environment variable :data:`ENV_VARIABLE`)."""
    startup = Path(folder) / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    here = str(Path(__file__).resolve().parent)
    (startup / "00-count-images.py").write_text(_STARTUP.format(folder=here))
    return startup.parents[1]


def counting_environment(ipython_dir, counts_file):
    """The environment for a child process (a notebook run) that counts into ``counts_file``."""
    return {**os.environ, "IPYTHONDIR": str(ipython_dir), ENV_VARIABLE: str(counts_file)}


def run_module_command(python, counts_file, module, *args):
    """A command that runs ``python -m module args`` with the counter installed."""
    here = str(Path(__file__).resolve().parent)
    code = (f"import runpy, sys; sys.path.insert(0, {here!r}); import step_count; "
            f"sys.path.remove({here!r}); step_count.install({str(counts_file)!r}); "
            f"sys.argv = [{module!r}] + sys.argv[1:]; "
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")
    return [python, "-c", code, *args]


def new_counts_file(folder):
    handle, name = tempfile.mkstemp(suffix=".json", dir=folder)
    os.close(handle)
    os.unlink(name)
    return Path(name)


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Patches :data:`TARGET_MODULE` right after it is executed, before anyone imports from it."""

    def find_spec(self, name, path, target=None):
        if name != TARGET_MODULE:
            return None
        sys.meta_path.remove(self)  # find the real spec, once
        spec = importlib.util.find_spec(name)
        loader = spec.loader
        execute = loader.exec_module

        def exec_module(module):
            execute(module)
            _patch(module)

        loader.exec_module = exec_module
        return spec


def _patch(network):
    import tensorflow as tf
    from tensorflow.python.eager import record

    with tf.init_scope():
        counters = {name: tf.Variable(0, dtype=tf.int64, trainable=False, name=name)
                    for name in ("training_images", "forward_images")}
    _state["counters"] = counters
    original = network.forward_pass
    signature = inspect.signature(original)

    def forward_pass(*args, **kwargs):
        images = signature.bind(*args, **kwargs).arguments["images"]
        kind = "training_images" if record.could_possibly_record() else "forward_images"
        with record.stop_recording():
            counters[kind].assign_add(tf.cast(tf.shape(images)[0], tf.int64))
        return original(*args, **kwargs)

    forward_pass.__wrapped__ = original
    forward_pass.__doc__ = original.__doc__
    network.forward_pass = forward_pass
    for module in list(sys.modules.values()):  # modules that imported it before the patch
        if (getattr(module, "__name__", "").startswith("course_utils")
                and getattr(module, "forward_pass", None) is original):
            module.forward_pass = forward_pass
