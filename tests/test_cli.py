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


def _fake_result(key, keep_outputs, logits_size=30.0):
    """An ExperimentResult as run_experiment returns it, made without training: layer4_conv
    spreads 100 times wider than layer1_conv, the logits reach +-``logits_size``."""
    import numpy as np

    from course_utils.core.stats import activation_stats
    from course_utils.core.training import History
    from course_utils.lab.experiments import ExperimentResult

    rng = np.random.default_rng(0)
    outputs = {name: rng.normal(0, 10.0 ** i, (100, 4, 4, 2)).astype(np.float32)
               for i, name in enumerate(["layer1_conv", "layer2_conv", "layer3_conv"])}
    outputs["layer4_conv"] = 100 * outputs["layer1_conv"]
    outputs["logits"] = np.zeros((100, 10), np.float32)
    outputs["logits"][0, :2] = [-logits_size, 0.5 * logits_size]
    outputs["predictions"] = np.full((100, 10), 0.1, np.float32)
    experiment = EXPERIMENTS[key]
    history = History(steps=[0], costs=[2.3], accuracies=[0.1])
    return ExperimentResult(experiment, None, history, 2.3, 0.1, experiment.learning_rate,
                            activation_stats(outputs), outputs if keep_outputs else None)


@pytest.fixture
def fake_runs(monkeypatch):
    """``reproduce`` with run_experiment replaced by one that records its arguments (no
    training): the list of calls, each ``{"key": ..., "steps": ..., **options}``."""
    from course_utils.lab import experiments

    calls = []

    def run_experiment(key, data, steps, **options):
        calls.append({"key": key, "steps": steps, **options})
        return _fake_result(key, options["keep_outputs"])

    monkeypatch.setattr(experiments, "run_experiment", run_experiment)
    return calls


def test_reproduce_defaults(fake_runs, capsys):
    code, out, err = run_cli(capsys, "reproduce")
    assert code == 0
    assert [call["key"] for call in fake_runs] == list(EXPERIMENTS)  # all three, in order
    for call in fake_runs:
        assert call["steps"] == 400  # the documented default: 400 steps per experiment
        assert call["seed"] == 0
        assert call["progress"] is True
        assert call["keep_outputs"] is False  # no --figures: the 60 MB outputs are not kept
        assert call["precision"] == "float32"
        assert call["monitor_every"] is None  # no --tensorboard: no recorder
    assert out.startswith("data: MnistData('subset'")
    assert "precision:" not in out  # float32 says nothing
    assert "running 'large' for 400 steps ..." in err
    assert "  large: exploding: layer4_conv std / layer1_conv std = 1e+02; " \
           "logits within +-30" in out


def test_reproduce_passes_its_options_on(fake_runs, tmp_path, monkeypatch, capsys):
    from course_utils.views import tensorboard

    logged = []
    monkeypatch.setattr(tensorboard, "log_experiment_results",
                        lambda folder, results, images, steps, seed: logged.append(
                            (folder, list(results), len(images), steps, seed)))
    code, out, _ = run_cli(capsys, "reproduce", "--steps", "1", "--seed", "0", "--no-progress",
                           "--experiments", "small", "proper", "--tensorboard",
                           str(tmp_path / "tb"))
    assert code == 0  # 1 step and seed 0 are the smallest allowed
    assert [call["key"] for call in fake_runs] == ["small", "proper"]
    assert all(call["steps"] == 1 and call["progress"] is False for call in fake_runs)
    assert all(call["monitor_every"] == 10 for call in fake_runs)  # --monitor-every's default
    assert logged == [(tmp_path / "tb", ["small", "proper"], 100, 1, 0)]
    assert f"tensorboard: runs small, proper in {tmp_path / 'tb'}" in out
    fake_runs.clear()
    run_cli(capsys, "reproduce", "--experiments", "small", "--tensorboard", str(tmp_path / "tb"),
            "--monitor-every", "3", "--seed", "7")
    assert fake_runs[0]["monitor_every"] == 3 and fake_runs[0]["seed"] == 7


@pytest.mark.parametrize("args, message", [
    (["--monitor-every", "0"], "argument --monitor-every: must be a whole number >= 1"),
    (["--seeds", "1"], "unrecognized arguments: --seeds"),
    (["--force-bfloat16"], "--force-bfloat16 is only used with --precision bfloat16"),
    (["--precision", "float16"], "argument --precision: invalid choice: 'float16'"),
])
def test_more_bad_reproduce_arguments_end_in_one_line(args, message, capsys):
    code, _, err = run_cli(capsys, "reproduce", *args)
    assert code == 2 and message in err


def test_json_record_of_the_run(fake_runs, tmp_path, capsys):
    target = tmp_path / "new" / "folder" / "r.json"  # its folders are made
    code, out, _ = run_cli(capsys, "reproduce", "--experiments", "proper", "--steps", "5",
                           "--seed", "2", "--json", str(target))
    assert code == 0 and f"json: {target}" in out
    record = json.loads(target.read_text())
    assert {"dataset": "subset", "steps": 5, "seed": 2, "precision": "float32"}.items() \
        <= record.items()
    assert list(record["experiments"]) == ["proper"]
    assert record["experiments"]["proper"]["test_cost"] == pytest.approx(2.3)
    code, _, _ = run_cli(capsys, "reproduce", "--experiments", "proper", "--steps", "5",
                         "--json", str(target))  # again, into the folders made the first time
    assert code == 0 and json.loads(target.read_text())["seed"] == 0


def test_figures_into_a_file_that_is_not_a_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "reproduce", "--figures", str(blocker))
    assert code == 2 and f"--figures {blocker}: {blocker} is not a folder" in err


def test_reproduce_saves_three_figures_per_experiment_and_two_comparisons(fake_runs, tmp_path,
                                                                          capsys):
    code, out, _ = run_cli(capsys, "reproduce", "--experiments", "large", "small",
                           "--figures", str(tmp_path / "figs"))
    assert code == 0
    assert all(call["keep_outputs"] is True for call in fake_runs)  # the plots need them
    names = sorted(path.name for path in (tmp_path / "figs").iterdir())
    assert names == sorted(
        [f"{key}_{kind}.png" for key in ("large", "small")
         for kind in ("histograms_common", "histograms_per-layer", "logits_predictions")]
        + ["training_curves.png", "std_by_layer.png"])
    assert f"figures: 8 PNG files in {tmp_path / 'figs'}" in out


def test_logits_that_are_not_finite_read_nan(monkeypatch, capsys):
    import numpy as np

    from course_utils.core.stats import summarize
    from course_utils.lab import experiments

    def run_experiment(key, data, steps, **options):
        result = _fake_result(key, False)
        result.activations["logits"] = summarize(np.array([np.nan, np.inf]))
        return result

    monkeypatch.setattr(experiments, "run_experiment", run_experiment)
    code, out, _ = run_cli(capsys, "reproduce", "--experiments", "large")
    assert code == 0 and "logits within +-nan" in out


def test_bfloat16_on_a_cpu_without_it_is_refused_unless_forced(fake_runs, monkeypatch, capsys):
    from course_utils.core import training

    monkeypatch.setattr(training, "bfloat16_support", lambda: (False, "no bfloat16 here"))
    code, _, err = run_cli(capsys, "reproduce", "--precision", "bfloat16")
    assert code == 2 and "--precision bfloat16: no bfloat16 here" in err
    assert fake_runs == []
    code, out, err = run_cli(capsys, "reproduce", "--precision", "bfloat16", "--force-bfloat16",
                             "--experiments", "small")
    assert code == 0
    assert "warning: --precision bfloat16 forced: no bfloat16 here" in err
    assert "precision: bfloat16 convolutions" in out
    assert fake_runs[0]["precision"] == "bfloat16"
    monkeypatch.setattr(training, "bfloat16_support", lambda: (True, ""))
    code, _, err = run_cli(capsys, "reproduce", "--precision", "bfloat16",
                           "--experiments", "small")
    assert code == 0 and "warning" not in err


@pytest.fixture
def fake_sweeps(monkeypatch):
    """``sweep`` with run_sweep and set_seed replaced by recorders (no training)."""
    from course_utils.core import training
    from course_utils.lab import sweeps

    calls = {"run_sweep": [], "set_seed": []}

    class Result:
        def __init__(self, name):
            self.name = name

        def save(self, path):
            path.write_text(json.dumps({"name": self.name}))

        def summary(self):
            return f"summary of {self.name}"

    def run_sweep(name, seeds, progress):
        calls["run_sweep"].append((name, list(seeds), progress))
        return Result(name)

    monkeypatch.setattr(sweeps, "run_sweep", run_sweep)
    monkeypatch.setattr(training, "set_seed", calls["set_seed"].append)
    return calls


def test_sweep_runs_each_name_over_the_default_seeds(fake_sweeps, tmp_path, capsys):
    from course_utils.lab.sweeps import SEEDS

    out_dir = tmp_path / "data"
    code, out, err = run_cli(capsys, "sweep", "defaults", "starts", "--out", str(out_dir))
    assert code == 0
    assert fake_sweeps["run_sweep"] == [("defaults", list(SEEDS), True),
                                        ("starts", list(SEEDS), True)]
    assert fake_sweeps["set_seed"] == [SEEDS[0]]  # once, before the first op
    assert json.loads((out_dir / "starts.json").read_text()) == {"name": "starts"}
    assert "summary of defaults" in out and f"json: {out_dir / 'defaults.json'}" in out
    assert f"sweep 'defaults', seeds {list(SEEDS)} ..." in err


def test_sweep_options(fake_sweeps, tmp_path, capsys):
    code, _, _ = run_cli(capsys, "sweep", "batchnorm", "--seeds", "4", "0", "--no-progress",
                         "--out", str(tmp_path))
    assert code == 0
    assert fake_sweeps["run_sweep"] == [("batchnorm", [4, 0], False)]
    assert fake_sweeps["set_seed"] == [4]
    code, _, err = run_cli(capsys, "sweep", "nosuch")
    assert code == 2 and "invalid choice: 'nosuch'" in err
    code, _, err = run_cli(capsys, "sweep", "defaults", "--seeds", "-1")
    assert code == 2 and "argument --seeds: must be a whole number >= 0" in err
