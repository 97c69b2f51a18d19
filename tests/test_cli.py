import json
import subprocess
import sys

import pytest

from course_utils.cli import main
from course_utils.lab.experiments import EXPERIMENTS
from tests.conftest import write_mnist_npz

NAMED_OUTPUTS = {
    "layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv", "logits", "predictions"
}


def run_cli(capsys, *args):
    """``python -m course_utils ARGS`` run in this process: (exit status, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reproduce")
    code = main(["reproduce", "--steps", "3", "--seed", "1", "--no-progress",
                 "--json", str(folder / "out" / "results.json"), "--figures", str(folder / "figs")])
    return code, folder


@pytest.mark.slow  # reproduce end to end
def test_reproduce_writes_the_json_schema(reproduced):
    code, folder = reproduced
    assert code == 0
    record = json.loads((folder / "out" / "results.json").read_text())
    assert {"dataset": "subset", "steps": 3, "seed": 1}.items() <= record.items()
    assert set(record["experiments"]) == {"large", "small", "proper"}
    for key, experiment in record["experiments"].items():
        assert {"test_cost", "test_accuracy", "learning_rate", "history", "activations"} <= set(
            experiment)
        assert set(experiment["activations"]) == NAMED_OUTPUTS
        for summary in experiment["activations"].values():
            assert {"min", "max", "mean", "std"} <= set(summary)
        assert experiment["history"][0]["step"] == 0
        assert 0.0 <= experiment["test_accuracy"] <= 1.0
        assert experiment["learning_rate"] == EXPERIMENTS[key].learning_rate  # the rate it ran at


@pytest.mark.slow  # reproduce end to end
def test_reproduce_saves_the_figures(reproduced):
    _, folder = reproduced
    names = {path.name for path in (folder / "figs").glob("*.png")}
    assert {"large_histograms_common.png", "small_histograms_per-layer.png",
            "proper_logits_predictions.png", "training_curves.png", "std_by_layer.png"} <= names


@pytest.mark.slow  # reproduce end to end
def test_reproduce_prints_the_table_and_verdicts(capsys):
    assert main(["reproduce", "--steps", "1", "--experiments", "small", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "small weights, N(0, 1) x 0.01" in out and "2.303" in out and "5.02%" in out
    assert "small: vanishing" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", "0"], "argument --steps: must be a whole number >= 1, got '0'"),
        (["--steps", "ten"], "argument --steps: must be a whole number, got 'ten'"),
        (["--seed", "-1"], "argument --seed: must be a whole number >= 0"),
        (["--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
        (["--experiments", "huge"], "argument --experiments: invalid choice: 'huge'"),
        (["--path", "mnist.npz"], "--path is only used with --dataset full"),
        (["--dataset", "full", "--path", "missing.npz"], "--path missing.npz: no such file"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_end_in_one_line(args, message, capsys):
    code, _, err = run_cli(capsys, "reproduce", *args)
    assert code == 2
    assert message in err
    assert err.strip().splitlines()[-1].startswith("python -m course_utils")


def test_a_malformed_npz_ends_in_one_line(tmp_path, capsys):
    path = write_mnist_npz(tmp_path / "bad.npz", y_test=None)
    code, _, err = run_cli(capsys, "reproduce", "--dataset", "full", "--path", str(path),
                           "--steps", "1")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith(f"error: {path}: missing arrays")


def test_json_into_a_file_that_is_not_a_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "reproduce", "--json", str(blocker / "out.json"))
    assert code == 2 and "is not a folder" in err


@pytest.mark.slow  # reproduce end to end
def test_full_dataset_from_a_small_npz(tmp_path, capsys):
    path = write_mnist_npz(tmp_path / "mnist.npz")
    code = main(["reproduce", "--dataset", "full", "--path", str(path), "--steps", "2",
                 "--experiments", "small", "--no-progress", "--json", str(tmp_path / "r.json")])
    assert code == 0
    assert "'full': 300 train and 200 test images" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["dataset"] == "full"


def test_no_command_prints_help(capsys):
    code, out, _ = run_cli(capsys)
    assert code == 2 and "reproduce" in out


def test_python_m_course_utils_runs_the_command_line():
    """The one test in a new interpreter: ``-m`` runs ``__main__``, which exits with main's
    status and prints a one-line error, never a traceback."""
    result = subprocess.run([sys.executable, "-m", "course_utils", "reproduce", "--steps", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("python -m course_utils")


@pytest.mark.slow  # reproduce end to end
def test_the_default_seed_is_0(tmp_path):
    assert main(["reproduce", "--steps", "1", "--experiments", "small", "--no-progress",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["seed"] == 0
