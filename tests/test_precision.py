"""``precision="bfloat16"``: training and testing with a bfloat16 forward pass, and the option
of ``reproduce`` (including the refusal on CPUs without bfloat16 instructions)."""

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf

from course_utils.cli import main
from course_utils.core import training
from course_utils.core.training import bfloat16_support, evaluate, train
from course_utils.lab.experiments import EXPERIMENTS


@pytest.fixture(scope="module")
def small_train(subset):
    return subset.train_images[:300], subset.train_labels[:300]


@pytest.fixture
def supported(monkeypatch):
    """Pretend this CPU has bfloat16 instructions (the tests must pass on any CPU)."""
    monkeypatch.setattr(training, "bfloat16_support", lambda: (True, "pretended support"))


@pytest.fixture
def unsupported(monkeypatch):
    """Pretend this CPU lacks bfloat16 instructions."""
    monkeypatch.setattr(training, "bfloat16_support",
                        lambda: (False, "this CPU has no bfloat16 instructions (pretended)"))


def test_bfloat16_training_differs_from_float32_at_rounding_level_only(small_train, supported):
    runs = {}
    for precision in ("float32", "bfloat16"):
        network = EXPERIMENTS["proper"].create_network(seed=0)
        history = train(network, *small_train, learning_rate=1e-2, steps=4, record_every=1,
                        progress=False, precision=precision)
        runs[precision] = network, history
    (net32, hist32), (net16, hist16) = runs["float32"], runs["bfloat16"]
    # bfloat16 keeps 8 bits of mantissa: costs differ in the third digit, not the first
    assert hist16.costs != hist32.costs
    np.testing.assert_allclose(hist16.costs, hist32.costs, rtol=2e-2)
    for layer in net32.weights:
        variable = net16.weights[layer]
        assert variable.dtype == net16.biases[layer].dtype == tf.float32  # updates in float32
        change32 = net32.weights[layer].numpy() - EXPERIMENTS["proper"].create_weights(0)[
            layer].numpy()
        difference = variable.numpy() - net32.weights[layer].numpy()
        assert 0 < np.abs(difference).max()
        # the updates agree to within a few percent of their size
        assert np.linalg.norm(difference) < 0.05 * np.linalg.norm(change32)


def test_evaluate_in_bfloat16_is_close_to_float32(subset, supported):
    network = EXPERIMENTS["proper"].create_network(seed=0)
    images, labels = subset.test_images[:300], subset.test_labels[:300]
    cost32, accuracy32 = evaluate(network, images, labels)
    cost16, accuracy16 = evaluate(network, images, labels, precision="bfloat16")
    assert cost16 != cost32
    assert cost16 == pytest.approx(cost32, rel=2e-2)
    assert accuracy16 == pytest.approx(accuracy32, abs=0.02)


@pytest.mark.parametrize("function", [train, evaluate])
def test_an_unknown_precision_is_refused(small_train, function):
    network = EXPERIMENTS["proper"].create_network(seed=0)
    args = (1e-3, 1) if function is train else ()
    with pytest.raises(ValueError, match=r"unknown precision 'float16'; choose one of "
                                         r"\('float32', 'bfloat16'\)"):
        function(network, *small_train, *args, precision="float16")


def test_bfloat16_without_support_warns_but_float32_does_not(small_train, unsupported):
    network = EXPERIMENTS["proper"].create_network(seed=0)
    slower = "may be slower than float32 here: this CPU has no bfloat16 instructions"
    with pytest.warns(RuntimeWarning, match=slower):
        train(network, *small_train, learning_rate=1e-3, steps=1, progress=False,
              precision="bfloat16")
    with pytest.warns(RuntimeWarning, match=slower):
        evaluate(network, *small_train, precision="bfloat16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluate(network, *small_train)
    assert not [w for w in caught if "bfloat16" in str(w.message)]


X86_CPUINFO = "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx2 avx512f {}\n\n"


@pytest.mark.parametrize(
    "text, expected, words",
    [
        (X86_CPUINFO.format("avx512_bf16 avx512_vnni"), True, "avx512_bf16"),
        (X86_CPUINFO.format("amx_tile amx_bf16 amx_int8"), True, "amx_bf16"),
        (X86_CPUINFO.format("avx512_vnni"), False, "no bfloat16 instructions"),
        ("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n", True, "bf16"),  # Arm
        ("processor\t: 0\nFeatures\t: fp asimd\n", False, "no bfloat16 instructions"),
    ],
)
def test_bfloat16_support_reads_the_cpu_flags(tmp_path, monkeypatch, text, expected, words):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    supported, reason = bfloat16_support(path)
    assert supported is expected
    assert words in reason


def test_bfloat16_support_unknown_without_cpuinfo_or_without_onednn(tmp_path, monkeypatch):
    supported, reason = bfloat16_support(tmp_path / "missing")
    assert supported is False and "cannot tell" in reason
    path = tmp_path / "cpuinfo"
    path.write_text(X86_CPUINFO.format("avx512_bf16"))
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    supported, reason = bfloat16_support(path)
    assert supported is False and "TF_ENABLE_ONEDNN_OPTS=0" in reason


# ---- the reproduce option


@pytest.mark.parametrize(
    "args, message",
    [
        (["--precision", "float16"],
         "argument --precision: invalid choice: 'float16' (choose from 'float32', 'bfloat16')"),
        (["--force-bfloat16"], "--force-bfloat16 is only used with --precision bfloat16"),
    ],
)
def test_bad_precision_arguments_end_in_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_reproduce_refuses_bfloat16_where_the_cpu_lacks_it(unsupported, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "--steps", "1", "--precision", "bfloat16", "--no-progress"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == (
        "python -m course_utils: error: --precision bfloat16: this CPU has no bfloat16 "
        "instructions (pretended); use the default float32, or add --force-bfloat16 to run it "
        "anyway")


@pytest.mark.slow  # runs reproduce end to end
def test_force_bfloat16_runs_with_a_warning(unsupported, capsys, tmp_path):
    path = tmp_path / "out.json"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["reproduce", "--steps", "1", "--precision", "bfloat16", "--force-bfloat16",
                     "--experiments", "small", "--no-progress", "--json", str(path)])
    assert code == 0
    assert not [w for w in caught if "bfloat16" in str(w.message)]  # the CLI's line replaces it
    captured = capsys.readouterr()
    assert ("warning: --precision bfloat16 forced: this CPU has no bfloat16 instructions "
            "(pretended)") in captured.err
    assert "precision: bfloat16" in captured.out and "small: vanishing" in captured.out
    assert json.loads(path.read_text())["precision"] == "bfloat16"


@pytest.mark.slow  # runs reproduce end to end
def test_reproduce_in_bfloat16_keeps_the_verdicts(supported, capsys, tmp_path):
    path = tmp_path / "out.json"
    assert main(["reproduce", "--steps", "2", "--precision", "bfloat16", "--no-progress",
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "precision: bfloat16" in out
    for line in ("large: exploding", "small: vanishing", "proper: healthy"):
        assert line in out
    assert json.loads(path.read_text())["precision"] == "bfloat16"
