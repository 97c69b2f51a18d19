"""3. Memory with full-size MNIST (a synthetic ``mnist.npz``).

Peak RSS of a process that loads a synthetic full-size ``mnist.npz`` (60,000 + 10,000 images),
trains a few steps and evaluates the 10,000 test images, and of ``reproduce --dataset full`` (the
three experiments in one process). Target: under 1.5 GB (Binder gives 2 GB).

Part of a full ``python benchmarks/run.py`` run; ``--skip-full-data`` leaves it out.
"""

from pathlib import Path
import sys
import tempfile

from common import TARGETS, gb, report_measured, run_measured

FULL_DATA_CHILD = """
import sys
from course_utils.core.data import load_mnist
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.core.training import evaluate, train

path, steps = sys.argv[1], int(sys.argv[2])
data = load_mnist("full", path=path)
network = EXPERIMENTS["proper"].create_network(0)
train(network, data.train_images, data.train_labels, 1e-3, steps, progress=False)
cost, accuracy = evaluate(network, data.test_images, data.test_labels)
network.outputs(data.test_images[:100])
print(f"{len(data.train_labels)} train / {len(data.test_labels)} test images, "
      f"{steps} steps, test cost {cost:.3f}")
"""


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
            results[name] = report_measured(name, run_measured(command, timeout))
    return results


def summary_rows(report):
    """The summary's rows: each full-MNIST process's peak RSS."""
    rows = []
    for name, result in (report.get("full_data_memory") or {}).items():
        if result["peak_rss_gb"] is None:
            continue
        rows.append((
            f"peak RSS, full MNIST: {name.split(' --')[0].split(' ')[0]}",
            gb(result["peak_rss_gb"]), f"< {TARGETS['peak_rss_gb']} GB",
            result["peak_rss_gb"] < TARGETS["peak_rss_gb"] and result["returncode"] == 0,
            f"{name}: TensorFlow alone is about 0.8 GB of RSS after import, 55,000 + 10,000 "
            "float32 images 0.20 GB; the rest is training and the three experiments' statistics",
        ))
    return rows
