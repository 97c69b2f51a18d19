"""benchmarks/step_count.py: the images a process passes through the network, counted exactly and
without changing what is computed; and the summary rows benchmarks/run.py makes of them."""

import importlib.util
import json
from pathlib import Path
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from course_utils.core.training import train
from course_utils.lab.experiments import EXPERIMENTS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


step_count = load("step_count")

CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import step_count
step_count.install(sys.argv[2])
from course_utils.core.data import load_mnist
from course_utils.lab.diagnostics import weight_gradients
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.core.training import evaluate, train

data = load_mnist("subset")
network = EXPERIMENTS["proper"].create_network(0)
history = train(network, data.train_images[:300], data.train_labels[:300], 1e-2, 3,
                record_every=1, progress=False)
after_training = step_count.counts()
evaluate(network, data.test_images[:250], data.test_labels[:250])  # 2 whole batches
network.outputs(data.test_images[:7])
network.predict(data.test_images[:150])
weight_gradients(network, data.test_images[:32], data.test_labels[:32])  # a tape: training
print(json.dumps({"after_training": after_training, "costs": history.costs}))
"""


@pytest.fixture(scope="module")
def counted_child(tmp_path_factory):
    counts_file = tmp_path_factory.mktemp("counts") / "counts.json"
    result = subprocess.run([sys.executable, "-c", CHILD, str(BENCHMARKS), str(counts_file)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), step_count.read_counts(counts_file)


def test_the_counter_counts_training_and_forward_images_exactly(counted_child):
    printed, written = counted_child
    assert printed["after_training"] == {"training_images": 300, "forward_images": 0,
                                         "step_equivalents": 3.0}
    # at exit: + 32 differentiated images; 200 tested + 7 + 150 forward-only
    assert written["training_images"] == 332
    assert written["forward_images"] == 357
    assert written["step_equivalents"] == pytest.approx((332 + 357 / 3) / 100)


def test_counting_does_not_change_what_is_computed(counted_child, subset):
    printed, _ = counted_child
    network = EXPERIMENTS["proper"].create_network(0)
    history = train(network, subset.train_images[:300], subset.train_labels[:300], 1e-2, 3,
                    record_every=1, progress=False)
    # The same costs up to float32 rounding: this process has traced the training step for other
    # shapes before, which may pick other kernels; a counter that changed the computation (the
    # images, the gradients) would change the costs far more.
    np.testing.assert_allclose(printed["costs"], history.costs, rtol=1e-5)


def test_step_equivalents_count_a_forward_image_as_a_third():
    assert step_count.step_equivalents({"training_images": 400, "forward_images": 0}) == 4
    assert step_count.step_equivalents({"training_images": 0, "forward_images": 300}) == 1


@pytest.mark.slow  # runs a notebook end to end
def test_a_notebook_kernel_counts_from_its_first_cell(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from course_utils.core.data import load_mnist\n"
            "from course_utils.lab.experiments import EXPERIMENTS\n"
            "from course_utils.core.training import train\n"
            "data = load_mnist('subset')\n"
            "network = EXPERIMENTS['proper'].create_network(0)\n"
            "train(network, data.train_images[:300], data.train_labels[:300], 1e-3, 2,\n"
            "      progress=False)"),
        nbformat.v4.new_code_cell(
            "network.outputs(data.test_images[:5])\n"
            "print(sorted(name for name in dir() if not name.startswith('_')))"),
    ]
    nbformat.write(notebook, tmp_path / "tiny.ipynb")
    ipython_dir = step_count.startup_folder(tmp_path)
    counts_file = step_count.new_counts_file(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--output", "done.ipynb", str(tmp_path / "tiny.ipynb")],
        env=step_count.counting_environment(ipython_dir, counts_file),
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert step_count.read_counts(counts_file) == {
        "training_images": 200, "forward_images": 5, "step_equivalents": 2 + 5 / 300}
    names = nbformat.read(tmp_path / "done.ipynb", 4).cells[1].outputs[0]["text"]
    assert "step_count" not in names  # the learner's namespace is left alone


def test_run_py_rows_for_step_equivalents_and_bfloat16(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # run.py's modules import each other
    course_time, bfloat16 = (importlib.import_module(name) for name in ("course_time", "bfloat16"))
    report = {
        "notebooks": {
            "01_large_weights.ipynb": {"images": {"step_equivalents": 1200.0}},
            "02_small_weights.ipynb": {"images": None},  # its kernel wrote no counts
        },
        "reproduce": {"images": {"step_equivalents": 1210.0}},
        "precisions": {"supported": True, "train_speedup": 1.9, "evaluate_speedup": 1.5,
                       "bfloat16": {"train_images_per_s": 380.0},
                       "float32": {"train_images_per_s": 200.0}},
    }
    (total, lesson, notebooks) = course_time.step_equivalent_rows(report)
    assert total[:4] == ("step equivalents, everything (2 runs)", "2410", "report", None)
    assert "per run: 01 1200, reproduce 1210" in total[4]
    assert "NOT COUNTED: 02_small_weights.ipynb" in total[4]
    # a lesson over its cap of 300, and a notebook not counted, fail the caps
    assert lesson[:4] == ("step equivalents, each lesson notebook", "1200", "<= 300", False)
    assert notebooks[:4] == ("step equivalents, all notebooks (1)", "1200", "<= 3300", False)
    report["notebooks"] = {"01_large_weights.ipynb": {"images": {"step_equivalents": 204.0}},
                           "04_side_by_side.ipynb": {"images": {"step_equivalents": 1138.0}},
                           "08_training_dynamics.ipynb": {"images": {"step_equivalents": 1201.0}}}
    (_, lesson, grids, notebooks) = course_time.step_equivalent_rows(report)
    assert lesson[1:4] == ("204", "<= 300", True)
    assert grids[1:5] == ("1201", "<= 1200", False, "costliest: 08_training_dynamics.ipynb")
    assert notebooks[1:4] == ("2543", "<= 3300", True)
    (row,) = bfloat16.summary_rows(report)
    assert row[:4] == ("training: bfloat16 vs float32", "1.90x", "> 1.0x", True)
    report["precisions"] = {"supported": False, "reason": "no bfloat16 instructions"}
    assert bfloat16.summary_rows(report) == [("training: bfloat16 vs float32", "skipped",
                                              "faster", None, "no bfloat16 instructions")]
    assert course_time.step_equivalent_rows({}) == [] and bfloat16.summary_rows({}) == []
