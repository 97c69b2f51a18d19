"""The playground's state, driven without any widget; and the still picture of it."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from course_utils.core.initializers import SCHEME_LABELS, layer_weights
from course_utils.core.network import OUTPUT_NAMES, WEIGHT_SHAPES, ConvNet
from course_utils.core.stats import activation_stats, format_number, std_ratio
from course_utils.core.training import train
from course_utils.lab.experiments import EXPERIMENTS, run_experiment
from course_utils.views.playground import LAYERS, PlaygroundState

PICTURE = Path(__file__).resolve().parents[1] / "notebooks" / "images" / "playground.png"


@pytest.fixture(scope="module")
def shared(subset):
    """One state for the tests that leave it as they found it."""
    return PlaygroundState(data=subset, seed=0, batch_size=16)


@pytest.fixture
def state(subset):
    return PlaygroundState(data=subset, seed=0, batch_size=16)


@pytest.mark.parametrize("key", list(EXPERIMENTS))
def test_a_preset_shows_exactly_the_weights_reproduce_trains(subset, key):
    seed = 3
    state = PlaygroundState(data=subset, seed=seed, batch_size=4, preset="proper")
    state.apply_preset(key)
    # reproduce runs run_experiment; with 0 steps its network keeps the weights it started from
    reproduced = run_experiment(key, subset, 0, seed=seed, progress=False, keep_outputs=False)
    for layer, ours in state.weights().items():
        np.testing.assert_array_equal(ours, reproduced.network.weights[layer].numpy(),
                                      err_msg=f"{key} {layer}")
    assert state.learning_rate == reproduced.learning_rate == EXPERIMENTS[key].learning_rate
    assert state.layers == EXPERIMENTS[key].layers


def test_stats_are_activation_stats_of_the_weights_the_settings_describe(shared, subset):
    shared.apply_preset("proper")
    shared.set_layer("layer2", scheme="lecun", scale=3.0)
    weights = {
        layer: layer_weights(scheme, WEIGHT_SHAPES.values(), LAYERS.index(layer), 0, scale)
        for layer, (scheme, scale) in shared.layers.items()
    }
    expected = activation_stats(ConvNet.from_weights(weights).outputs(subset.test_images[:16]))
    stats = shared.stats()
    assert list(stats) == list(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert set(stats[name]) == set(expected[name])
        for field, value in expected[name].items():
            assert stats[name][field] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, field)
    for name, summary in shared.conv_values().items():
        assert summary["std"] == pytest.approx(expected[name]["std"], rel=1e-4)
        assert summary["limit"] == pytest.approx(max(abs(expected[name]["min"]),
                                                     abs(expected[name]["max"])), rel=1e-6)
        assert summary["dropped"] == 0
    shared.apply_preset("proper")


def test_presets_give_the_verdicts_of_the_post(shared):
    ratios = {}
    for key, word in (("large", "exploding"), ("small", "vanishing"), ("proper", "healthy")):
        shared.apply_preset(key)
        ratios[key] = std_ratio(shared.stats())
        assert shared.verdict().startswith(word)
    assert ratios["large"] > 100 and ratios["small"] < 0.1 and 0.1 < ratios["proper"] < 10
    # The same draws times 0.01: the ratio shrinks by exactly 0.01**3 (zero biases).
    assert ratios["small"] == pytest.approx(ratios["large"] * 1e-6, rel=1e-3)


def test_a_scale_change_scales_only_that_layer(state):
    before, ratio, version = state.weights(), std_ratio(state.stats()), state.version
    state.set_layer("layer3", scale=4.0)
    assert state.version == version + 1
    assert std_ratio(state.stats()) == pytest.approx(4 * ratio, rel=1e-3)
    after = state.weights()
    for layer in LAYERS:
        if layer == "layer3":
            np.testing.assert_allclose(after[layer], 4 * before[layer], rtol=1e-6)
        else:
            np.testing.assert_array_equal(after[layer], before[layer])
    state.set_layer("layer5", scheme="orthogonal")
    unit = state.weights()["layer5"]
    state.set_layer("layer5", scale=0.5)
    assert state.layers["layer5"] == ("orthogonal", 0.5)
    np.testing.assert_allclose(state.weights()["layer5"], 0.5 * unit, rtol=1e-6)


@pytest.mark.parametrize(
    ("change", "error", "text"),
    [
        ({"layer": "layer2", "scale": -1.0}, ValueError, "finite number > 0, got -1"),
        ({"layer": "layer2", "scale": 0.0}, ValueError, "got 0"),
        ({"layer": "layer2", "scale": float("nan")}, ValueError, "got nan"),
        ({"layer": "layer2", "scale": "big"}, TypeError, "scale must be a number"),
        ({"layer": "layer2", "scheme": "gaussian"}, ValueError, "scheme 'gaussian'"),
        ({"layer": "layer9", "scale": 1.0}, ValueError, "unknown layer 'layer9'"),
    ],
)
def test_bad_values_raise_and_change_nothing(shared, change, error, text):
    shared.apply_preset("proper")
    before, layers, version = shared.weights(), dict(shared.layers), shared.version
    with pytest.raises(error, match=text.replace("(", r"\(")):
        shared.set_layer(**change)
    assert shared.layers == layers and shared.version == version
    for layer, weights in shared.weights().items():
        np.testing.assert_array_equal(weights, before[layer])


def test_set_layers_checks_everything_before_changing_anything(state):
    layers = dict(state.layers)
    with pytest.raises(ValueError):
        state.set_layers({"layer1": ("lecun", 2.0), "layer2": ("he", -1.0)})
    assert state.layers == layers
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        state.apply_preset("huge")


def test_all_zero_weights_give_an_undefined_verdict(state):
    state.set_layers({layer: ("zeros", 1.0) for layer in LAYERS})
    assert state.verdict().startswith("undefined")
    assert np.allclose(state.outputs()["predictions"], 0.1)
    assert state.nonfinite_count() == 0


def test_overflow_is_counted(state):
    state.set_layers({layer: ("normal", 1e9) for layer in LAYERS})  # no slider limit here
    outputs = state.outputs()
    expected = sum(int((~np.isfinite(values)).sum()) for values in outputs.values())
    assert state.nonfinite_count() == expected > 0
    assert state.conv_values()["layer4_conv"]["dropped"] == int(
        (~np.isfinite(outputs["layer4_conv"])).sum())


def test_training_takes_the_original_batches_on_a_copy(state, subset):
    before = state.weights()
    seen = []
    history = state.train(5, 1e-3, on_step=lambda step, history: seen.append(step))
    assert history.steps == [0, 1, 2, 3, 4] and seen == [1, 2, 3, 4, 5]
    reference = train(EXPERIMENTS["proper"].create_network(0), subset.train_images,
                      subset.train_labels, 1e-3, 5, record_every=1, progress=False)
    np.testing.assert_allclose(history.costs, reference.costs, rtol=1e-5)
    assert history.accuracies == reference.accuracies
    for layer, weights in state.weights().items():
        np.testing.assert_array_equal(weights, before[layer])


def test_a_callback_that_returns_true_stops_training(state):
    history = state.train(10, 1e-3, on_step=lambda step, history: step == 3)
    assert history.steps == [0, 1, 2]


def test_training_settings_are_checked(state):
    assert state.check_training(3, 1e-3) == (3, 1e-3)
    assert state.check_training(3) == (3, state.learning_rate)
    for steps, error in ((0, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error):
            state.check_training(steps, 1e-3)
    for rate, error in ((0.0, ValueError), (float("nan"), ValueError), ("fast", TypeError)):
        with pytest.raises(error):
            state.train(1, rate)
        with pytest.raises(error):
            state.set_learning_rate(rate)
    state.set_learning_rate(0.5)
    assert state.learning_rate == 0.5


def test_constructor_checks_and_repr(subset):
    assert repr(PlaygroundState(subset, seed=2, batch_size=3)) == (
        "PlaygroundState(seed=2, batch=3 digits)")
    one = PlaygroundState(subset, batch_size=1)  # a single digit is a batch too
    assert one.outputs()["logits"].shape == (1, 10)
    for kwargs, error in (({"seed": -1}, ValueError), ({"seed": 1.0}, TypeError),
                          ({"batch_size": 0}, ValueError), ({"batch_size": 10**6}, ValueError),
                          ({"preset": "huge"}, ValueError)):
        with pytest.raises(error):
            PlaygroundState(subset, **kwargs)


def test_the_activation_switch_runs_the_same_weights_through_tanh(state, subset):
    relu_outputs = state.outputs()
    version = state.version
    state.set_activation("tanh")
    assert state.activation == "tanh" and state.version == version + 1
    expected = ConvNet.from_weights(state.weights(), activation="tanh").outputs(state.images)
    for name in OUTPUT_NAMES:
        np.testing.assert_allclose(state.outputs()[name], expected[name], rtol=1e-4, atol=1e-5)
    assert not np.allclose(state.outputs()["layer2_conv"], relu_outputs["layer2_conv"])
    state.set_activation("tanh")  # no change, no refresh
    assert state.version == version + 1
    state.set_activation("relu")  # and back: the ReLU outputs again
    np.testing.assert_allclose(state.outputs()["logits"], relu_outputs["logits"], rtol=1e-5)


def test_tanh_training_trains_a_tanh_copy(state, subset):
    state.set_activation("tanh")
    history = state.train(steps=1, learning_rate=1e-30)  # the weights do not move
    images, labels = subset.train_images[:100], subset.train_labels[:100]  # the first batch

    def cost(activation):
        logits = ConvNet.from_weights(state.weights(), activation=activation).logits(images)
        return float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels.astype(np.int32), logits=logits)))

    assert history.costs[0] == pytest.approx(cost("tanh"), rel=1e-4)
    assert abs(cost("tanh") - cost("relu")) > 1e-3


@pytest.mark.parametrize("activation", ["sigmoid", "ReLU", None])
def test_a_bad_activation_raises_and_changes_nothing(state, activation):
    outputs, version = state.outputs(), state.version
    with pytest.raises(ValueError, match="unknown activation .*; choose one of"):
        state.set_activation(activation)
    assert state.activation == "relu" and state.version == version
    np.testing.assert_array_equal(state.outputs()["logits"], outputs["logits"])


def test_the_state_uses_the_data_it_is_given(subset):
    from course_utils.core.data import MnistData

    data = MnistData("reversed", subset.train_images[:300], subset.train_labels[:300],
                     subset.test_images[::-1], subset.test_labels[::-1])
    state = PlaygroundState(data=data, batch_size=4)
    assert state.data is data
    np.testing.assert_array_equal(state.images.numpy(), subset.test_images[::-1][:4])


def test_training_shows_no_progress_bar_of_its_own(state, capfd):
    capfd.readouterr()
    state.train(3, 1e-3)
    assert "3/3" not in capfd.readouterr().err  # the playground shows its own progress


def test_the_playground_picture_shows_the_preset_notebook_5_opens_with(subset):
    """notebooks/images/playground.png and its sidecar playground.json, which
    benchmarks/playground_picture.py makes together: the sidecar describes this very png, and
    what it read from the page (verdict, std of each histogram, scheme and scale of each layer)
    is what notebook 5's playground shows now, as the widget rounds it."""
    shown = json.loads(PICTURE.with_suffix(".json").read_text())
    assert shown["png_sha256"] == hashlib.sha256(PICTURE.read_bytes()).hexdigest(), (
        "the png and its sidecar come from different runs: python benchmarks/playground_picture.py")
    state = PlaygroundState(data=subset, seed=0, batch_size=32, preset="proper")  # notebook 5's
    assert shown["verdict"] == f"verdict: {state.verdict()}"
    assert shown["std"] == {name: format_number(layer["std"])
                            for name, layer in state.conv_values().items()}
    assert {layer: (shown["layers"][layer]["scheme"], float(shown["layers"][layer]["scale"]))
            for layer in shown["layers"]} == {
        layer: (SCHEME_LABELS[scheme], scale) for layer, (scheme, scale) in state.layers.items()}
