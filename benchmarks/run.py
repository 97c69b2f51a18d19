"""How fast and how lean the course is, measured (not a pytest test).

Run it from the repository root, on a machine that is otherwise idle:

    python benchmarks/run.py                 # everything (about 10 minutes on 2 CPU cores)
    python benchmarks/run.py --quick         # small settings, to check that the script works
    python benchmarks/run.py --skip-notebooks --json /tmp/bench.json

What it measures, and the targets it checks:

1. Training throughput: ``course_utils.training.train`` on the course's ConvNet against Keras
   ``Model.fit`` on the same network, same weights, same data and batch size, in this process
   (target: at least as fast), and against this machine's float32 matmul rate (target: at least
   85 % of it in FLOPs). FLOP convention: a multiply-add is 2 FLOPs; only the convolutions and the
   fully connected layer count (bias, ReLU, pooling and the loss are under 1 %); one training step
   costs 3 forward passes (forward, gradient of the inputs, gradient of the weights).
2. Whole-course time: every ``notebooks/*.ipynb`` executed with its default parameters in a fresh
   kernel (into a temporary folder; the committed notebooks are not touched), plus
   ``python -m course_utils reproduce --dataset subset --steps 400``. Target: under 10 minutes.
3. Memory: peak RSS of each notebook run, and of a process that loads a synthetic full-size
   ``mnist.npz`` (60,000 + 10,000 images), trains a few steps and evaluates the 10,000 test
   images. Target: under 1.5 GB (Binder gives 2 GB).
4. Playground redraw latency, from ``benchmarks/playground_latency.py``. Target: median 0.3 s.
6. The training dashboard's cost: ``train`` with a ``course_utils.monitor.Recorder`` as its
   callback (recording every 10 steps) against plain ``train`` (recording the cost every 100),
   same network, data and steps, timed back to back in this process. Target: at most 20 % slower.
5. The expected time of the faithful full-MNIST run (3 x 5000 steps of 100 images, 3 x 10,000
   test images), from the measured throughput.
6. bfloat16 against float32 (``reproduce --precision bfloat16``): training and testing images/s of
   both precisions, interleaved in this process; skipped where the CPU lacks bfloat16
   instructions. Target there: bfloat16 faster.
7. The cost of every notebook and of ``reproduce`` in step equivalents (100-image training steps,
   a forward-only image counting 1/3 of a training image), counted by ``benchmarks/step_count.py``
   during the runs of 2.: a figure that does not depend on the CPU.

Timings take the best of several repeats (the one least disturbed by other programs) and also
report the median. Results go to stdout and to a JSON file (default
``benchmarks/results/latest.json``).
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
from pathlib import Path
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "latest.json"
PLAYGROUND_SCRIPT = ROOT / "benchmarks" / "playground_latency.py"

BATCH_SIZE = 100
LEARNING_RATE = 1e-3
SEED = 0
GB = 1e9  # memory figures are in decimal gigabytes, the stricter reading of "1.5 GB"

TARGETS = {
    "keras_ratio": 1.0,  # course images/s divided by Keras fit images/s, at least
    "flop_utilization": 0.85,  # training FLOP/s divided by the matmul FLOP/s, at least
    "course_seconds": 600.0,  # all notebooks plus reproduce, below
    "notebook_seconds": 150.0,  # each notebook on its own, at most
    "peak_rss_gb": 1.5,  # any notebook kernel, and the full-MNIST process, below
    "playground_median_s": 0.3,  # at most
    "monitor_overhead": 0.20,  # extra training time with the dashboard recorder on, at most
}
MONITOR_EVERY = 10  # steps between two dashboard records in the overhead measurement

# The faithful run of the post: three experiments of 5000 steps, each tested on 10,000 images.
FULL_RUN = {"experiments": 3, "steps": 5000, "test_images": 10_000}

# Settings: (training steps per timing, repeats, matmul sizes, full-data steps, playground repeats)
SETTINGS = {
    "full": {"steps": 120, "repeats": 5, "matmul_sizes": (2048, 4096), "full_data_steps": 20,
             "playground_repeats": 20},
    "quick": {"steps": 40, "repeats": 2, "matmul_sizes": (1024,), "full_data_steps": 3,
              "playground_repeats": 3},
}

FULL_DATA_CHILD = """
import sys
from course_utils.data import load_mnist
from course_utils.experiments import EXPERIMENTS
from course_utils.training import evaluate, train

path, steps = sys.argv[1], int(sys.argv[2])
data = load_mnist("full", path=path)
network = EXPERIMENTS["proper"].create_network(0)
train(network, data.train_images, data.train_labels, 1e-3, steps, progress=False)
cost, accuracy = evaluate(network, data.test_images, data.test_labels)
network.outputs(data.test_images[:100])
print(f"{len(data.train_labels)} train / {len(data.test_labels)} test images, "
      f"{steps} steps, test cost {cost:.3f}")
"""


# ----------------------------------------------------------------------------------------------
# 1. Training throughput


def training_flops_per_image():
    """FLOPs of one image through the network: per layer (forward), forward total, training."""
    from course_utils.network import WEIGHT_SHAPES

    sides = {"layer1": 28, "layer2": 28, "layer3": 14, "layer4": 14}  # output height = width
    forward = {}
    for layer, side in sides.items():
        height, width, inputs, outputs = WEIGHT_SHAPES[layer]
        forward[f"{layer}_conv"] = 2 * side * side * outputs * (height * width * inputs)
    inputs, outputs = WEIGHT_SHAPES["layer5"]
    forward["logits"] = 2 * inputs * outputs
    total = sum(forward.values())
    return {"forward_by_layer": forward, "forward": total, "training": 3 * total}


def measure_matmul_rate(sizes, repeats):
    """Best float32 FLOP/s of ``tf.matmul`` on square matrices of each size, in a tf.function."""
    import tensorflow as tf

    @tf.function
    def multiply(a, b):
        return tf.matmul(a, b)

    rates = {}
    for size in sizes:
        a = tf.random.normal((size, size))
        b = tf.random.normal((size, size))
        multiply(a, b).numpy()  # trace and warm up
        flops = 2 * size**3
        calls = max(2, math.ceil(2e11 / flops))  # about half a second per timing
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                product = multiply(a, b)
            product.numpy()
            seconds.append((time.perf_counter() - start) / calls)
        rates[size] = flops / min(seconds)
    best = max(rates, key=rates.get)
    return {"flops_per_s": rates[best], "size": best,
            "by_size": {str(size): rate for size, rate in rates.items()}}


def build_keras_model(network):
    """The course's ConvNet as a Keras Sequential model holding the same weights, compiled as a
    Keras user would: SGD, sparse categorical cross-entropy on logits, accuracy metric."""
    import keras

    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ])
    model.set_weights([
        variable.numpy()
        for layer in network.weights
        for variable in (network.weights[layer], network.biases[layer])
    ])
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def measure_training(steps, repeats):
    """Seconds per step of course_utils ``train`` and of Keras ``fit``, interleaved repeats."""
    import numpy as np

    from course_utils.data import load_mnist
    from course_utils.experiments import EXPERIMENTS
    from course_utils.training import evaluate, set_seed, train

    data = load_mnist("subset")
    set_seed(SEED)  # the course's explicit step: seeds, and turns on op determinism
    network = EXPERIMENTS["proper"].create_network(SEED)
    model = build_keras_model(network)
    batch = data.test_images[:BATCH_SIZE]
    mismatch = float(np.max(np.abs(model.predict(batch, verbose=0) - network.logits(batch))))

    steps_per_epoch = len(data.train_labels) // BATCH_SIZE
    epochs = max(1, round(steps / steps_per_epoch))
    keras_steps = epochs * steps_per_epoch

    def time_course():
        start = time.perf_counter()
        train(network, data.train_images, data.train_labels, LEARNING_RATE, steps,
              record_every=100, progress=False)
        return (time.perf_counter() - start) / steps

    def time_keras():
        start = time.perf_counter()
        model.fit(data.train_images, data.train_labels, batch_size=BATCH_SIZE, epochs=epochs,
                  shuffle=False, verbose=0)
        return (time.perf_counter() - start) / keras_steps

    def time_evaluate():
        start = time.perf_counter()
        evaluate(network, data.test_images, data.test_labels)
        return (time.perf_counter() - start) / len(data.test_labels)

    for warm_up in (time_course, time_keras, time_evaluate):  # trace, compile, fill caches
        warm_up()
    timings = {"course": [], "keras": [], "evaluate": []}
    for repeat in range(repeats):
        order = [("course", time_course), ("keras", time_keras)]
        for name, timer in order if repeat % 2 == 0 else order[::-1]:
            timings[name].append(timer())
        timings["evaluate"].append(time_evaluate())
        print(f"  repeat {repeat + 1}/{repeats}: course "
              f"{1000 * timings['course'][-1]:.1f} ms/step, "
              f"Keras fit {1000 * timings['keras'][-1]:.1f} ms/step", flush=True)
    return {
        "dataset": repr(data),
        "course_steps_per_timing": steps,
        "keras_steps_per_timing": keras_steps,
        "keras_jit_compile": bool(model.jit_compile),
        "keras_logits_max_abs_difference": mismatch,
        "course_s_per_step": _spread(timings["course"]),
        "keras_s_per_step": _spread(timings["keras"]),
        "evaluate_s_per_image": _spread(timings["evaluate"]),
        "network": network,
        "images": data.train_images[:BATCH_SIZE],
    }


def profile_conv_layers(network, images, repeats):
    """Each conv layer alone, forward plus both gradients, at batch 100: seconds and FLOP/s.

    This is the ceiling the convolution kernels set: the whole training step cannot be faster
    than the sum of its conv layers.
    """
    import tensorflow as tf

    flops = training_flops_per_image()["forward_by_layer"]
    outputs = network.forward(tf.convert_to_tensor(images))
    inputs = {"layer1": tf.convert_to_tensor(images), "layer2": tf.nn.relu(outputs["layer1_conv"]),
              "layer3": tf.nn.max_pool2d(tf.nn.relu(outputs["layer2_conv"]), 2, 2, "SAME"),
              "layer4": tf.nn.relu(outputs["layer3_conv"])}
    profile = {}
    for layer, layer_input in inputs.items():
        weights = network.weights[layer]
        needs_input_gradient = layer != "layer1"  # training never asks for d(cost)/d(images)

        @tf.function
        def step(x, w=weights, both=needs_input_gradient):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.nn.conv2d(x, w, strides=1, padding="SAME")
                total = tf.reduce_sum(y)
            return tape.gradient(total, [x, w] if both else [w])

        step(layer_input)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(5):
                result = step(layer_input)
            result[-1].numpy()
            seconds.append((time.perf_counter() - start) / 5)
        layer_flops = len(images) * flops[f"{layer}_conv"] * (3 if needs_input_gradient else 2)
        profile[f"{layer}_conv"] = {"s_per_step": min(seconds),
                                    "flops_per_s": layer_flops / min(seconds)}
    return profile


def measure_monitor_overhead(steps, repeats):
    """Seconds per step of ``train`` without and with the dashboard recorder, interleaved.

    Both continue one network (``start_step``), so they train on the same kind of batches;
    the recorder measures every :data:`MONITOR_EVERY` steps on the batch about to be trained.
    """
    from course_utils.data import load_mnist
    from course_utils.experiments import EXPERIMENTS
    from course_utils.monitor import Recorder
    from course_utils.training import train

    data = load_mnist("subset")
    network = EXPERIMENTS["proper"].create_network(SEED)
    images, labels = data.train_images, data.train_labels
    position = {"step": 0}

    def time_plain():
        start = time.perf_counter()
        train(network, images, labels, LEARNING_RATE, steps, record_every=100, progress=False,
              start_step=position["step"])
        position["step"] += steps
        return (time.perf_counter() - start) / steps

    def time_recorded():
        start = time.perf_counter()
        recorder = Recorder(network, images, labels, LEARNING_RATE, start_step=position["step"])
        train(network, images, labels, LEARNING_RATE, steps, record_every=MONITOR_EVERY,
              progress=False, start_step=position["step"], callback=recorder)
        position["step"] += steps
        return (time.perf_counter() - start) / steps

    time_plain()
    time_recorded()  # trace both
    timings = {"plain": [], "recorded": []}
    for repeat in range(repeats):
        order = [("plain", time_plain), ("recorded", time_recorded)]
        for name, timer in order if repeat % 2 == 0 else order[::-1]:
            timings[name].append(timer())
        print(f"  repeat {repeat + 1}/{repeats}: plain {1000 * timings['plain'][-1]:.1f} ms/step, "
              f"with the recorder {1000 * timings['recorded'][-1]:.1f} ms/step", flush=True)
    plain, recorded = _spread(timings["plain"]), _spread(timings["recorded"])
    return {"steps_per_timing": steps, "record_every": MONITOR_EVERY,
            "plain_s_per_step": plain, "recorded_s_per_step": recorded,
            "overhead": recorded["best"] / plain["best"] - 1,
            "overhead_median": recorded["median"] / plain["median"] - 1}


# ----------------------------------------------------------------------------------------------
# 6. bfloat16 against float32


def measure_precisions(steps, repeats):
    """Seconds per training step and per tested image in float32 and in bfloat16, interleaved.

    The same network (reset to the same weights before every timing) and the same batches, so
    the two precisions meet the same load. Returns None (and says why) where the CPU lacks
    bfloat16 instructions: emulated bfloat16 is not what ``--precision bfloat16`` is for.
    """
    from course_utils.data import load_mnist
    from course_utils.experiments import EXPERIMENTS
    from course_utils.training import bfloat16_support, evaluate, train

    supported, reason = bfloat16_support()
    print(f"  {reason}", flush=True)
    if not supported:
        print("  skipped: reproduce refuses --precision bfloat16 here", flush=True)
        return {"supported": False, "reason": reason}
    data = load_mnist("subset")
    network = EXPERIMENTS["proper"].create_network(SEED)
    initial = [variable.numpy() for variable in network.parameters]

    def timer(precision):
        def time_both():
            for variable, value in zip(network.parameters, initial):
                variable.assign(value)
            start = time.perf_counter()
            train(network, data.train_images, data.train_labels, LEARNING_RATE, steps,
                  record_every=100, progress=False, precision=precision)
            middle = time.perf_counter()
            evaluate(network, data.test_images, data.test_labels, precision=precision)
            end = time.perf_counter()
            return (middle - start) / steps, (end - middle) / len(data.test_labels)
        return time_both

    timers = {precision: timer(precision) for precision in ("float32", "bfloat16")}
    for time_both in timers.values():  # trace and warm up
        time_both()
    timings = {precision: {"train": [], "evaluate": []} for precision in timers}
    for repeat in range(repeats):
        order = list(timers) if repeat % 2 == 0 else list(timers)[::-1]
        for precision in order:
            train_s, evaluate_s = timers[precision]()
            timings[precision]["train"].append(train_s)
            timings[precision]["evaluate"].append(evaluate_s)
        print(f"  repeat {repeat + 1}/{repeats}: "
              + ", ".join(f"{precision} {1000 * timings[precision]['train'][-1]:.1f} ms/step"
                          for precision in timers), flush=True)
    result = {"supported": True, "reason": reason, "steps_per_timing": steps}
    for precision, kinds in timings.items():
        result[precision] = {
            "train_s_per_step": _spread(kinds["train"]),
            "evaluate_s_per_image": _spread(kinds["evaluate"]),
            "train_images_per_s": BATCH_SIZE / min(kinds["train"]),
            "evaluate_images_per_s": 1 / min(kinds["evaluate"]),
        }
    result["train_speedup"] = (result["bfloat16"]["train_images_per_s"]
                               / result["float32"]["train_images_per_s"])
    result["evaluate_speedup"] = (result["bfloat16"]["evaluate_images_per_s"]
                                  / result["float32"]["evaluate_images_per_s"])
    print(f"  bfloat16 / float32: training {result['train_speedup']:.2f}x "
          f"({result['bfloat16']['train_images_per_s']:.0f} against "
          f"{result['float32']['train_images_per_s']:.0f} images/s), testing "
          f"{result['evaluate_speedup']:.2f}x", flush=True)
    return result


# ----------------------------------------------------------------------------------------------
# 2. and 3. Whole-course time and memory (child processes)


def run_measured(command, timeout, cwd=ROOT, env=None):
    """Run ``command``; return its wall time, exit status, output tail and peak RSS.

    The peak RSS is the largest high-water mark (``VmHWM``) of any process in its tree (the
    command itself, a notebook kernel it started), polled from /proc every 50 ms. (The rusage of
    a child is no good here: after fork and exec it keeps the high-water mark of this process.)
    """
    import psutil

    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
        peaks = {}
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            try:
                tree = [psutil.Process(process.pid)]
                tree += tree[0].children(recursive=True)
            except psutil.Error:
                tree = []
            for member in tree:
                peak = _high_water_mark(member.pid)
                if peak is not None:
                    peaks[member.pid] = max(peaks.get(member.pid, 0), peak)
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)  # the session this script started
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        log.seek(0)
        tail = log.read().decode(errors="replace")[-2000:]
    peak = max(peaks.values()) / GB if peaks else None
    return {"seconds": seconds, "returncode": process.returncode, "peak_rss_gb": peak,
            "output_tail": tail}


def _high_water_mark(pid):
    """Peak resident set of a live process in bytes (Linux), else None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def run_notebooks(timeout):
    """Execute every notebook into a temporary folder, each in a fresh kernel, counting the
    images its kernel passes through the network (``step_count``: ``result["images"]``)."""
    step_count = _step_count_module()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    results = {}
    with tempfile.TemporaryDirectory() as output_dir:
        ipython_dir = step_count.startup_folder(output_dir)
        for notebook in notebooks:
            counts_file = step_count.new_counts_file(output_dir)
            command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                       "--execute", f"--ExecutePreprocessor.timeout={int(timeout)}",
                       "--output-dir", output_dir, str(notebook)]
            result = run_measured(command, timeout + 60,
                                  env=step_count.counting_environment(ipython_dir, counts_file))
            result["images"] = step_count.read_counts(counts_file)
            results[notebook.name] = _report(notebook.name, result)
    return results


def _report(name, result):
    """Print one timed child process's line (and its output's tail if it failed); return it."""
    state = "ok" if result["returncode"] == 0 else f"FAILED ({result['returncode']})"
    images = result.get("images")
    work = f"  {images['step_equivalents']:7.0f} step-eq" if images else ""
    print(f"  {name:<36} {result['seconds']:7.1f} s  "
          f"peak RSS {_gb(result['peak_rss_gb'])}  {state}{work}", flush=True)
    if result["returncode"] != 0:
        print(_indent(result["output_tail"][-800:]), flush=True)
    return result


def run_reproduce(timeout):
    """``python -m course_utils reproduce --dataset subset --steps 400 --no-progress``, with the
    images it passes through the network counted (``result["images"]``)."""
    step_count = _step_count_module()
    with tempfile.TemporaryDirectory() as folder:
        counts_file = step_count.new_counts_file(folder)
        command = step_count.run_module_command(
            sys.executable, counts_file, "course_utils", "reproduce", "--dataset", "subset",
            "--steps", "400", "--no-progress")
        result = run_measured(command, timeout)
        result["images"] = step_count.read_counts(counts_file)
    return _report("reproduce --steps 400", result)


def _step_count_module():
    """benchmarks/step_count.py (this folder is not a package)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import step_count
    finally:
        sys.path.pop(0)
    return step_count


def write_synthetic_mnist(path, seed=0):
    """A full-size mnist.npz of random pixels: 60,000 train and 10,000 test images, uint8."""
    import numpy as np

    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x_train=rng.integers(0, 256, size=(60_000, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, size=60_000, dtype=np.uint8),
        x_test=rng.integers(0, 256, size=(10_000, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, size=10_000, dtype=np.uint8),
    )


def measure_full_data_memory(steps, timeout=900):
    """Peak RSS with full-size MNIST: a process that loads it, trains ``steps`` steps and
    evaluates; and ``reproduce --dataset full`` (three experiments in one process)."""
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist.npz"
        write_synthetic_mnist(path)
        commands = {
            f"train {steps} steps + evaluate": [sys.executable, "-c", FULL_DATA_CHILD, str(path),
                                                str(steps)],
            f"reproduce --dataset full --steps {steps}": [
                sys.executable, "-m", "course_utils", "reproduce", "--dataset", "full",
                "--path", str(path), "--steps", str(steps), "--no-progress"],
        }
        for name, command in commands.items():
            results[name] = _report(name, run_measured(command, timeout))
    return results


# ----------------------------------------------------------------------------------------------
# 3b. Kernel memory: each notebook's kernel alone, and two kernels alive at once (Binder)

KERNEL_TARGETS = {
    "kernel_peak_gb": 0.95,  # each notebook kernel's high-water mark, at most
    "session_gb": 2.0,  # Binder's cap on a whole session (server and every kernel)
}
TWO_KERNELS = ("01_large_weights.ipynb", "04_side_by_side.ipynb")

# Read from /proc inside the kernel after each cell (one line of JSON on stdout, not saved).
_KERNEL_MEMORY_PROBE = """
def _course_memory():
    fields = {}
    for line in open('/proc/self/status'):
        key, _, value = line.partition(':')
        if key in ('VmHWM', 'VmRSS', 'RssAnon', 'RssFile'):
            fields[key] = int(value.split()[0]) * 1024
    for line in open('/proc/self/smaps_rollup'):
        if line.startswith('Pss:'):
            fields['Pss'] = int(line.split()[1]) * 1024
    return fields
"""


class _KernelRun:
    """A notebook executed cell by cell in its own kernel, with the kernel's memory after each
    cell. The kernel stays alive until ``shutdown``: a learner who opens the next notebook
    without closing this one has both."""

    def __init__(self, notebook, timeout):
        from nbclient import NotebookClient
        import nbformat

        self.name = notebook.name
        self.notebook = nbformat.read(notebook, as_version=4)
        self.client = NotebookClient(self.notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(notebook.parent)}})
        self.cells = []  # (cell index, first source line, memory fields)

    def start(self):
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()
        self.pid = self.client.km.provisioner.process.pid
        self._run_code(_KERNEL_MEMORY_PROBE)
        self.start_memory = self.memory()

    def run(self, on_cell=None):
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code":
                continue
            self.client.execute_cell(cell, index)
            first_line = (cell.source.strip().splitlines() or [""])[0][:60]
            self.cells.append((index, first_line, self.memory()))
            if on_cell is not None:
                on_cell(self)

    def memory(self):
        return _proc_memory(self.pid)

    def shutdown(self):
        self.client.km.shutdown_kernel(now=True)

    def _run_code(self, code):
        import nbformat

        cell = nbformat.v4.new_code_cell(code)
        self.client.execute_cell(cell, 0)

    def summary(self):
        """Peak, where it was reached, and the cells that raised the peak most."""
        peak = max(fields["VmHWM"] for _, _, fields in self.cells)
        steps, previous = [], self.start_memory["VmHWM"]
        for index, first_line, fields in self.cells:
            if fields["VmHWM"] > previous:
                steps.append({"cell": index, "source": first_line,
                              "raises_peak_gb": (fields["VmHWM"] - previous) / GB})
            previous = max(previous, fields["VmHWM"])
        steps.sort(key=lambda step: -step["raises_peak_gb"])
        final = self.cells[-1][2] if self.cells else self.start_memory
        return {
            "peak_gb": peak / GB,
            "after_start_gb": self.start_memory["VmRSS"] / GB,
            "at_end": {key: value / GB for key, value in final.items()},
            "top_cells": steps[:4],
        }


def _proc_memory(pid):
    """VmHWM, VmRSS, RssAnon, RssFile and Pss of a live process in bytes (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            fields["Pss"] = int(line.split()[1]) * 1024
    return fields


def measure_kernel_memory(names=None, timeout=1200):
    """Each notebook in its own fresh kernel, cell by cell: the kernel's peak (VmHWM) and the
    cells that raised it most. Only the kernel process is counted (not nbclient)."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names:
        notebooks = [notebook for notebook in notebooks if notebook.name in names]
    results = {}
    for notebook in notebooks:
        run = _KernelRun(notebook, timeout)
        start = time.perf_counter()
        try:
            run.start()
            run.run()
            results[notebook.name] = {**run.summary(), "ok": True}
        except Exception as error:  # a failed notebook is reported, not fatal
            results[notebook.name] = {**(run.summary() if run.cells else {"peak_gb": None}),
                                      "ok": False, "error": repr(error)[:300]}
        finally:
            run.shutdown()
        result = results[notebook.name]
        result["seconds"] = time.perf_counter() - start
        top = ", ".join(f"cell {step['cell']} +{step['raises_peak_gb']:.2f}"
                        for step in result.get("top_cells", [])[:2])
        print(f"  {notebook.name:<36} kernel peak {_gb(result['peak_gb'])}"
              f"  (after start {_gb(result.get('after_start_gb'))}; raised most by {top})"
              + ("" if result["ok"] else f"  FAILED {result['error']}"), flush=True)
    return results


def measure_two_kernels(names=TWO_KERNELS, timeout=1200):
    """Two kernels alive at once, as a learner who opens the second notebook without shutting
    the first one down: the first notebook runs to its end and its kernel stays; then the
    second runs. Sampled after each of the second notebook's cells: the sum of both kernels'
    resident memory (RSS: shared libraries counted twice, an upper bound); their private
    (anonymous) memory plus the larger of their file-backed pages ("shared once": the libraries
    counted once, as a memory cap such as Binder's counts them); and the sum of their
    proportional set sizes (PSS: shared pages split between every process that maps them, also
    processes outside the two kernels, such as this benchmark's own, so it reads low)."""
    first = _KernelRun(ROOT / "notebooks" / names[0], timeout)
    second = _KernelRun(ROOT / "notebooks" / names[1], timeout)
    peaks = {"rss_sum": 0, "shared_once": 0, "pss_sum": 0}

    def sample(_run):
        one, two = first.memory(), second.memory()
        peaks["rss_sum"] = max(peaks["rss_sum"], one["VmRSS"] + two["VmRSS"])
        peaks["shared_once"] = max(peaks["shared_once"], one["RssAnon"] + two["RssAnon"]
                                   + max(one["RssFile"], two["RssFile"]))
        peaks["pss_sum"] = max(peaks["pss_sum"], one["Pss"] + two["Pss"])

    try:
        first.start()
        first.run()
        second.start()
        second.run(on_cell=sample)
        first_end = first.memory()
        result = {
            "ok": True,
            "notebooks": list(names),
            "first_kernel_at_rest_gb": first_end["VmRSS"] / GB,
            "first_kernel_peak_gb": first_end["VmHWM"] / GB,
            "second_kernel_peak_gb": second.memory()["VmHWM"] / GB,
            "sum_of_peaks_gb": (first_end["VmHWM"] + second.memory()["VmHWM"]) / GB,
            "rss_sum_peak_gb": peaks["rss_sum"] / GB,
            "shared_once_peak_gb": peaks["shared_once"] / GB,
            "pss_sum_peak_gb": peaks["pss_sum"] / GB,
        }
    except Exception as error:
        result = {"ok": False, "notebooks": list(names), "error": repr(error)[:300]}
    finally:
        for run in (first, second):
            try:
                run.shutdown()
            except Exception:
                pass
    if result["ok"]:
        print(f"  {names[0]} (kept alive, {_gb(result['first_kernel_at_rest_gb'])} at rest) + "
              f"{names[1]}: together at most {_gb(result['shared_once_peak_gb'])} (shared "
              f"libraries once), {_gb(result['rss_sum_peak_gb'])} (RSS, shared libraries "
              f"twice), {_gb(result['pss_sum_peak_gb'])} (PSS); "
              f"sum of the two peaks {_gb(result['sum_of_peaks_gb'])}", flush=True)
    else:
        print(f"  two kernels FAILED: {result['error']}", flush=True)
    return result


def kernel_memory_verdicts(report):
    """Rows for the summary: the largest kernel peak, and two kernels at once."""
    rows = []
    kernels = report.get("kernel_memory") or {}
    peaks = {name: entry["peak_gb"] for name, entry in kernels.items()
             if entry.get("peak_gb") is not None}
    if peaks:
        largest = max(peaks, key=peaks.get)
        rows.append((
            "kernel peak, largest notebook", _gb(peaks[largest]),
            f"<= {KERNEL_TARGETS['kernel_peak_gb']} GB",
            peaks[largest] <= KERNEL_TARGETS["kernel_peak_gb"]
            and all(entry["ok"] for entry in kernels.values()),
            "; ".join(f"{name[:2]} {_gb(peak)}" for name, peak in peaks.items()),
        ))
    two = report.get("two_kernels")
    if two and two.get("ok"):
        rows.append((
            "two kernels at once (01 + 04), libraries once", _gb(two["shared_once_peak_gb"]),
            f"< {KERNEL_TARGETS['session_gb']} GB",
            two["shared_once_peak_gb"] < KERNEL_TARGETS["session_gb"],
            f"RSS sum {_gb(two['rss_sum_peak_gb'])}, PSS sum {_gb(two['pss_sum_peak_gb'])}, "
            f"sum of peaks "
            f"{_gb(two['sum_of_peaks_gb'])}; the Jupyter server adds about 0.1 GB",
        ))
    return rows


# ----------------------------------------------------------------------------------------------
# 4. Playground


def measure_playground(repeats):
    """``measure_redraw_latency`` of benchmarks/playground_latency.py, or None if it is absent."""
    if not PLAYGROUND_SCRIPT.is_file():
        print(f"  skipped: {PLAYGROUND_SCRIPT.relative_to(ROOT)} does not exist", flush=True)
        return None
    spec = importlib.util.spec_from_file_location("playground_latency", PLAYGROUND_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.measure_redraw_latency(repeats=repeats)
    print(f"  median {result['median']:.3f} s over {result.get('count', '?')} redraws", flush=True)
    return result


# ----------------------------------------------------------------------------------------------
# Figures, verdicts and the report


def training_figures(training, matmul, flops):
    """Images/s, FLOP/s and the ratios from the best timings."""
    course_s = training["course_s_per_step"]["best"]
    keras_s = training["keras_s_per_step"]["best"]
    course_rate = BATCH_SIZE / course_s
    training_flops = flops["training"] * course_rate
    return {
        "course_images_per_s": course_rate,
        "keras_images_per_s": BATCH_SIZE / keras_s,
        "keras_ratio": keras_s / course_s,
        "course_flops_per_s": training_flops,
        "matmul_flops_per_s": matmul["flops_per_s"],
        "flop_utilization": training_flops / matmul["flops_per_s"],
        "evaluate_images_per_s": 1 / training["evaluate_s_per_image"]["best"],
    }


def full_run_estimate(figures):
    """Seconds the faithful run of the post would take at the measured speed."""
    train_s = FULL_RUN["experiments"] * FULL_RUN["steps"] * BATCH_SIZE / figures[
        "course_images_per_s"]
    test_s = FULL_RUN["experiments"] * FULL_RUN["test_images"] / figures["evaluate_images_per_s"]
    return {"train_s": train_s, "test_s": test_s, "total_s": train_s + test_s}


def precision_rows(report):
    """The bfloat16-against-float32 row (6.), if it was measured."""
    precisions = report.get("precisions")
    if not precisions:
        return []
    if not precisions["supported"]:
        return [("training: bfloat16 vs float32", "skipped", "faster", None,
                 precisions["reason"])]
    return [(
        "training: bfloat16 vs float32", f"{precisions['train_speedup']:.2f}x", "> 1.0x",
        precisions["train_speedup"] > 1.0,
        f"bfloat16 {precisions['bfloat16']['train_images_per_s']:.0f}, float32 "
        f"{precisions['float32']['train_images_per_s']:.0f} images/s, measured interleaved in "
        f"one process; testing {precisions['evaluate_speedup']:.2f}x",
    )]


def step_equivalent_rows(report):
    """The course's cost in step equivalents (7.): whole course, and the costliest notebook.

    Informational (no target): the count depends on the notebooks' defaults, not on the CPU, so
    a change that adds work shows up here on any machine.
    """
    notebooks = report.get("notebooks")
    if not notebooks:
        return []
    runs = {**notebooks, "reproduce --steps 400": report.get("reproduce") or {}}
    counts = {name: entry.get("images") for name, entry in runs.items()}
    missing = [name for name, images in counts.items() if images is None]
    counted = {name: images["step_equivalents"] for name, images in counts.items() if images}
    if not counted:
        return []
    total = sum(counted.values())
    costliest = max((name for name in counted if name in notebooks), key=counted.get,
                    default=None)
    per_run = ", ".join(f"{name.split('_')[0].split(' ')[0]} {value:.0f}"
                        for name, value in counted.items())
    limits = f"per run: {per_run}"
    if missing:
        limits += f"; NOT COUNTED: {', '.join(missing)}"
    rows = [(f"step equivalents, whole course ({len(counted)} runs)", f"{total:.0f}", "report",
             None, limits)]
    if costliest is not None:
        rows.append(("step equivalents, costliest notebook", f"{counted[costliest]:.0f}",
                     "report", None, f"{costliest}; 100-image training steps, a forward-only "
                     "image = 1/3 training image"))
    return rows


def verdicts(report):
    """Rows of (what, measured, goal, met or None when not measured, what limits it)."""
    rows = []
    figures = report.get("training_figures")
    if figures:
        profile = report.get("conv_profile", {})
        conv_s = sum(entry["s_per_step"] for entry in profile.values())
        step_s = report["training"]["course_s_per_step"]["best"]
        keras_s = report["training"]["keras_s_per_step"]["best"]
        rows.append((
            "training: course vs Keras fit", f"{figures['keras_ratio']:.2f}x",
            f">= {TARGETS['keras_ratio']:.1f}x",
            figures["keras_ratio"] >= TARGETS["keras_ratio"],
            f"course {1000 * step_s:.1f} ms/step, Keras fit {1000 * keras_s:.1f} ms/step; "
            f"the conv layers alone take {1000 * conv_s:.1f} ms of a step",
        ))
        conv_rates = ", ".join(f"{name.split('_')[0]} {entry['flops_per_s'] / 1e9:.0f}"
                               for name, entry in profile.items())
        rows.append((
            "training: FLOP/s vs matmul", f"{100 * figures['flop_utilization']:.0f} %",
            f">= {100 * TARGETS['flop_utilization']:.0f} %",
            figures["flop_utilization"] >= TARGETS["flop_utilization"],
            f"conv layers alone (fwd + grads, GFLOP/s): {conv_rates}; matmul "
            f"{figures['matmul_flops_per_s'] / 1e9:.0f}; conv time {1000 * conv_s:.1f} of "
            f"{1000 * step_s:.1f} ms/step, the rest is bias, ReLU, pooling, loss and updates",
        ))
    monitor = report.get("monitor_overhead")
    if monitor:
        rows.append((
            f"training with the dashboard (every {monitor['record_every']} steps)",
            f"+{100 * monitor['overhead']:.0f} %",
            f"<= {100 * TARGETS['monitor_overhead']:.0f} %",
            monitor["overhead"] <= TARGETS["monitor_overhead"],
            f"best {1000 * monitor['recorded_s_per_step']['best']:.1f} vs "
            f"{1000 * monitor['plain_s_per_step']['best']:.1f} ms/step; median "
            f"+{100 * monitor['overhead_median']:.0f} %",
        ))
    notebooks = report.get("notebooks")
    if notebooks is not None:
        reproduce = report.get("reproduce") or {"seconds": 0.0, "returncode": 0}
        total = sum(entry["seconds"] for entry in notebooks.values()) + reproduce["seconds"]
        failed = [name for name, entry in notebooks.items() if entry["returncode"] != 0]
        if reproduce["returncode"] != 0:
            failed.append("reproduce")
        slowest = max(notebooks, key=lambda name: notebooks[name]["seconds"], default="-")
        limits = f"slowest: {slowest} ({notebooks[slowest]['seconds']:.0f} s)" if notebooks else ""
        if failed:
            limits += f"; FAILED: {', '.join(failed)} (their time is not a full run)"
        if notebooks:
            rows.append((
                "slowest notebook, top to bottom", f"{notebooks[slowest]['seconds']:.0f} s",
                f"<= {TARGETS['notebook_seconds']:.0f} s",
                notebooks[slowest]["seconds"] <= TARGETS["notebook_seconds"] and not failed,
                f"{slowest}; each: " + ", ".join(
                    f"{name[:2]} {entry['seconds']:.0f} s" for name, entry in notebooks.items()),
            ))
        rows.append((
            f"whole course ({len(notebooks)} notebooks + reproduce)", f"{total:.0f} s",
            f"< {TARGETS['course_seconds']:.0f} s",
            total < TARGETS["course_seconds"] and not failed, limits,
        ))
        peaks = {name: entry["peak_rss_gb"] for name, entry in notebooks.items()
                 if entry["peak_rss_gb"] is not None}
        if peaks:
            largest = max(peaks, key=peaks.get)
            rows.append((
                "peak RSS, notebook kernels", _gb(peaks[largest]),
                f"< {TARGETS['peak_rss_gb']} GB", peaks[largest] < TARGETS["peak_rss_gb"],
                f"largest: {largest}",
            ))
    for name, result in (report.get("full_data_memory") or {}).items():
        if result["peak_rss_gb"] is None:
            continue
        rows.append((
            f"peak RSS, full MNIST: {name.split(' --')[0].split(' ')[0]}",
            _gb(result["peak_rss_gb"]), f"< {TARGETS['peak_rss_gb']} GB",
            result["peak_rss_gb"] < TARGETS["peak_rss_gb"] and result["returncode"] == 0,
            f"{name}: TensorFlow alone is about 0.8 GB of RSS after import, 55,000 + 10,000 "
            "float32 images 0.20 GB; the rest is training and the three experiments' statistics",
        ))
    playground = report.get("playground")
    if playground is not None:
        by_change = ", ".join(f"{kind} {entry['median']:.3f} s"
                              for kind, entry in playground.get("by_change", {}).items())
        rows.append((
            "playground redraw, median", f"{playground['median']:.3f} s",
            f"<= {TARGETS['playground_median_s']} s",
            playground["median"] <= TARGETS["playground_median_s"], by_change,
        ))
    return rows


def print_summary(report):
    rows = (verdicts(report) + kernel_memory_verdicts(report) + precision_rows(report)
            + step_equivalent_rows(report))
    print("\nSummary")
    print(f"{'target':<44}{'measured':>12}  {'goal':<11}{'met':<5}")
    print("-" * 72)
    for what, measured, goal, met, _ in rows:
        shown = "-" if met is None else "yes" if met else "NO"  # None: informational
        print(f"{what:<44}{measured:>12}  {goal:<11}{shown:<5}")
    estimate = report.get("full_run_estimate")
    if estimate:
        print(f"\nFaithful full-MNIST run (3 x 5000 steps of 100, 3 x 10,000 test images), "
              f"expected: {estimate['total_s'] / 60:.1f} min "
              f"({estimate['train_s']:.0f} s training + {estimate['test_s']:.0f} s testing)")
        precisions = report.get("precisions") or {}
        if precisions.get("supported"):
            bfloat16_s = (estimate["train_s"] / precisions["train_speedup"]
                          + estimate["test_s"] / precisions["evaluate_speedup"])
            print(f"  with --precision bfloat16: {bfloat16_s / 60:.1f} min (the speed-ups above)")
    step_rows = step_equivalent_rows(report)
    if step_rows:
        print(f"\nStep equivalents per run: {step_rows[0][4].removeprefix('per run: ')}")
        figures = report.get("training_figures")
        if figures:
            ratio = figures["evaluate_images_per_s"] / figures["course_images_per_s"]
            print(f"  (a forward-only image counts 1/3 of a training image; measured here, "
                  f"evaluate runs {ratio:.1f}x the training images/s)")
    unmet = [(what, limits) for what, _, _, met, limits in rows if met is not None and not met]
    if unmet:
        print("\nWhat limits the targets not met (measured):")
        for what, limits in unmet:
            print(f"  {what}: {limits}")
    load = report["machine"]["load_average_start"]
    if load is not None and load[0] > 0.5:
        print(f"\nNote: the load average was {load[0]:.1f} when the benchmark started; other "
              "programs were using the CPU and the timings are pessimistic.")
    report["verdicts"] = [
        {"target": what, "measured": measured, "goal": goal,
         "met": None if met is None else bool(met), "limits": limits}
        for what, measured, goal, met, limits in rows
    ]


def machine_info():
    import tensorflow as tf

    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "load_average_start": _load_average(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# ----------------------------------------------------------------------------------------------
# Small helpers


def _spread(seconds):
    return {"best": min(seconds), "median": statistics.median(seconds), "all": list(seconds)}


def _gb(value):
    return "n/a" if value is None else f"{value:.2f} GB"


def _indent(text):
    return "\n".join("      " + line for line in text.splitlines())


def _load_average():
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def _parser():
    parser = argparse.ArgumentParser(
        description="Measure the course's training speed, whole-course time, memory and "
        "playground latency against their targets.")
    parser.add_argument("--quick", action="store_true",
                        help="small settings: checks that the script works, not a measurement")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"write the results here (default {DEFAULT_JSON.relative_to(ROOT)})")
    parser.add_argument("--skip-notebooks", action="store_true",
                        help="do not execute the notebooks and the reproduce command")
    parser.add_argument("--skip-full-data", action="store_true",
                        help="do not measure the memory of the full-size MNIST process")
    parser.add_argument("--skip-playground", action="store_true",
                        help="do not measure the playground's redraw latency")
    parser.add_argument("--skip-bfloat16", action="store_true",
                        help="do not measure bfloat16 against float32")
    parser.add_argument("--kernel-memory", action="store_true",
                        help="only measure each notebook kernel's peak memory and two kernels "
                        "(01 and 04) alive at once, nothing else")
    parser.add_argument("--skip-kernel-memory", action="store_true",
                        help="do not measure kernel memory cell by cell")
    parser.add_argument("--notebook", action="append", dest="kernel_notebooks",
                        help="with --kernel-memory: only this notebook (repeatable)")
    parser.add_argument("--monitor-only", action="store_true",
                        help="measure only the dashboard recorder's overhead (item 6)")
    parser.add_argument("--steps", type=int, help="training steps per timing")
    parser.add_argument("--repeats", type=int, help="timings of each kind (best and median)")
    parser.add_argument("--notebook-timeout", type=int, default=1200,
                        help="seconds allowed per notebook (default 1200)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    for option in ("steps", "repeats"):
        if getattr(args, option) is not None:
            if getattr(args, option) < 1:
                _parser().error(f"--{option} must be >= 1")
            settings[option] = getattr(args, option)
    report = {"settings": {**settings, "quick": args.quick}, "targets": TARGETS,
              "machine": machine_info()}
    print(f"{report['machine']['cpu']}, {report['machine']['cpu_count']} CPUs, "
          f"TensorFlow {report['machine']['tensorflow']}"
          + (" (quick settings: not a measurement)" if args.quick else ""), flush=True)

    if args.kernel_memory:
        return _main_kernel_memory(args, report)
    if args.monitor_only:
        print("\n6. Dashboard recorder overhead", flush=True)
        report["monitor_overhead"] = measure_monitor_overhead(settings["steps"],
                                                              settings["repeats"])
        return _finish(args, report)

    flops = training_flops_per_image()
    report["flops_per_image"] = flops
    print(f"\n1. Training throughput ({flops['training'] / 1e6:.1f} MFLOP per training image)",
          flush=True)
    matmul = measure_matmul_rate(settings["matmul_sizes"], settings["repeats"])
    print(f"  matmul {matmul['size']}x{matmul['size']}: {matmul['flops_per_s'] / 1e9:.0f} GFLOP/s",
          flush=True)
    training = measure_training(settings["steps"], settings["repeats"])
    network, images = training.pop("network"), training.pop("images")
    report["matmul"] = matmul
    report["training"] = training
    report["conv_profile"] = profile_conv_layers(network, images, settings["repeats"])
    figures = training_figures(training, matmul, flops)
    report["training_figures"] = figures
    report["full_run_estimate"] = full_run_estimate(figures)
    print(f"  course train: {figures['course_images_per_s']:.0f} images/s "
          f"({figures['course_flops_per_s'] / 1e9:.0f} GFLOP/s, "
          f"{100 * figures['flop_utilization']:.0f} % of matmul); Keras fit: "
          f"{figures['keras_images_per_s']:.0f} images/s; evaluate: "
          f"{figures['evaluate_images_per_s']:.0f} images/s", flush=True)

    if not args.skip_bfloat16:
        print("\n6. bfloat16 against float32 (reproduce --precision bfloat16)", flush=True)
        report["precisions"] = measure_precisions(settings["steps"], settings["repeats"])
    print("\n7. Dashboard recorder overhead", flush=True)
    report["monitor_overhead"] = measure_monitor_overhead(settings["steps"], settings["repeats"])
    if not args.skip_playground:
        print("\n4. Playground redraw latency", flush=True)
        report["playground"] = measure_playground(settings["playground_repeats"])
    if not args.skip_full_data:
        print("\n3. Memory with full-size MNIST (synthetic mnist.npz)", flush=True)
        report["full_data_memory"] = measure_full_data_memory(settings["full_data_steps"])
    if not args.skip_notebooks:
        print("\n2. Whole course: notebooks in fresh kernels, then reproduce", flush=True)
        report["notebooks"] = run_notebooks(args.notebook_timeout)
        report["reproduce"] = run_reproduce(args.notebook_timeout)

    if not args.skip_kernel_memory:
        _measure_kernels(args, report)

    return _finish(args, report)


def _measure_kernels(args, report):
    print("\n3b. Kernel memory: each notebook's kernel, then two kernels at once", flush=True)
    report["kernel_memory"] = measure_kernel_memory(args.kernel_notebooks,
                                                    args.notebook_timeout)
    if not args.kernel_notebooks:
        report["two_kernels"] = measure_two_kernels(timeout=args.notebook_timeout)


def _finish(args, report):
    """Print the summary, write the JSON record; exit status 1 if a target was missed
    (informational rows, met=None, do not count)."""
    report["machine"]["load_average_end"] = _load_average()
    print_summary(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    print(f"\njson: {args.json}")
    return 0 if all(row["met"] is not False for row in report["verdicts"]) else 1


def _main_kernel_memory(args, report):
    """``--kernel-memory``: only the kernel rows."""
    _measure_kernels(args, report)
    return _finish(args, report)


if __name__ == "__main__":
    sys.exit(main())
