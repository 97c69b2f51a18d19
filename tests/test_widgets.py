"""The playground widget, driven from Python: no browser (tests/test_browser.py has one)."""

import math
import time

import ipywidgets as widgets
import numpy as np
import pytest

from course_utils import widgets as playground_module
from course_utils.data import load_mnist
from course_utils.experiments import EXPERIMENTS
from course_utils.initializers import SCHEMES, initial_weights
from course_utils.network import OUTPUT_NAMES, WEIGHT_SHAPES, ConvNet
from course_utils.stats import activation_stats, std_ratio
from course_utils.widgets import LAYERS, PRESETS, Playground, layer_seed


@pytest.fixture(scope="module")
def data():
    return load_mnist("subset")


@pytest.fixture(scope="module")
def shared(data):
    """One playground for the tests that leave it as they found it (building one takes ~1 s)."""
    return Playground(data=data, seed=0, batch_size=16)


@pytest.fixture
def playground(data):
    return Playground(data=data, seed=0, batch_size=16)


def test_controls_have_a_scheme_dropdown_and_a_scale_slider_per_weight_tensor(shared):
    assert list(shared.controls) == ["layer1", "layer2", "layer3", "layer4", "layer5"]
    for control in shared.controls.values():
        assert isinstance(control["scheme"], widgets.Dropdown)
        assert isinstance(control["scale"], widgets.FloatLogSlider)
        assert [value for _label, value in control["scheme"].options] == list(SCHEMES)
        slider = control["scale"]
        assert slider.base ** slider.min <= 1e-3 and slider.base ** slider.max >= 1e2
    assert set(shared.preset_buttons) == set(EXPERIMENTS)
    assert shared.histogram_scale.options == ("common", "per-layer")


def test_stats_are_activation_stats_of_the_weights_the_controls_describe(shared, data):
    shared.apply_preset("proper")
    weights = {
        layer: initial_weights(control["scheme"].value, WEIGHT_SHAPES[layer],
                               control["scale"].value, layer_seed(0, layer))
        for layer, control in shared.controls.items()
    }
    expected = activation_stats(ConvNet.from_weights(weights).outputs(data.test_images[:16]))
    stats = shared.stats()
    assert list(stats) == list(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert set(stats[name]) == set(expected[name])
        for field, value in expected[name].items():
            assert stats[name][field] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, field)


def test_presets_show_the_lessons_of_the_post(shared):
    ratios = {}
    for key in ("large", "small", "proper"):
        assert shared.apply_preset(key)
        ratios[key] = std_ratio(shared.stats())
        assert shared.verdict_text() in shared.verdict.value
    assert ratios["large"] > 100
    assert "exploding" in _verdict_for(shared, "large")
    # The same draws times 0.01: layer1 shrinks by 0.01 and layer4 by 0.01**4, so the ratio
    # shrinks by exactly 0.01**3 (zero biases; ReLU and max pooling commute with scaling).
    assert ratios["small"] == pytest.approx(ratios["large"] * 1e-6, rel=1e-3)
    assert ratios["small"] < 0.1
    assert "vanishing" in _verdict_for(shared, "small")
    assert 0.1 < ratios["proper"] < 10
    assert "healthy" in _verdict_for(shared, "proper")


def _verdict_for(playground, key):
    playground.apply_preset(key)
    return playground.verdict.value


def test_presets_follow_the_experiments_recipes(shared):
    for key, experiment in EXPERIMENTS.items():
        shared.apply_preset(key)
        assert shared.learning_rate.value == pytest.approx(experiment.learning_rate)
        ours = shared.weights()
        theirs = experiment.create_weights(seed=0)
        for layer in LAYERS:
            ours_std, theirs_std = float(ours[layer].std()), float(theirs[layer].numpy().std())
            assert ours_std == pytest.approx(theirs_std, rel=0.05), (key, layer)
    assert PRESETS["proper"]["layer5"] == ("xavier", 1.0)
    assert {PRESETS["small"][layer] for layer in LAYERS} == {("normal", 0.01)}


def test_a_control_change_redraws_only_that_layer(playground):
    before_image = playground.histogram_image.value
    before_table = playground.logits_table.value
    before_weights = playground.weights()
    before_ratio = std_ratio(playground.stats())
    count = playground.redraw_count

    playground.controls["layer3"]["scale"].value = 4.0

    assert playground.redraw_count == count + 1
    assert playground.histogram_image.value != before_image
    assert bytes(playground.histogram_image.value).startswith(b"\x89PNG")
    assert playground.logits_table.value != before_table
    assert std_ratio(playground.stats()) == pytest.approx(4 * before_ratio, rel=1e-3)
    after_weights = playground.weights()
    for layer in LAYERS:
        if layer == "layer3":
            np.testing.assert_allclose(after_weights[layer], 4 * before_weights[layer], rtol=1e-6)
        else:
            np.testing.assert_array_equal(after_weights[layer], before_weights[layer])

    playground.controls["layer5"]["scheme"].value = "lecun"
    assert playground.redraw_count == count + 2
    assert playground.message.value == ""


def test_a_scale_change_reuses_the_cached_draw(playground, monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return initial_weights(*args, **kwargs)

    monkeypatch.setattr(playground_module, "initial_weights", counting)
    playground.controls["layer2"]["scale"].value = 0.5
    playground.controls["layer2"]["scale"].value = 2.0
    assert calls == []
    playground.controls["layer2"]["scheme"].value = "orthogonal"
    playground.controls["layer2"]["scale"].value = 0.3
    assert [call[0] for call in calls] == ["orthogonal"]


def test_the_histogram_scale_switch_redraws_the_picture_only(playground):
    before_image, before_stats = playground.histogram_image.value, playground.stats()
    count = playground.redraw_count
    playground.histogram_scale.value = "per-layer"
    assert playground.redraw_count == count + 1
    assert playground.histogram_image.value != before_image
    assert playground.stats() is before_stats
    playground.histogram_scale.value = "common"
    assert playground.histogram_image.value == before_image


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"scale": -1.0}, "finite number > 0, got -1"),
        ({"scale": 0.0}, "finite number > 0, got 0"),
        ({"scale": float("nan")}, "got nan"),
        ({"scale": float("inf")}, "got inf"),
        ({"scale": "big"}, "scale must be a number"),
        ({"scale": 1e6}, "outside the slider's range"),
        ({"scheme": "gaussian"}, "unknown initialization scheme 'gaussian'"),
    ],
)
def test_bad_values_show_a_message_and_change_nothing(shared, change, expected):
    shared.apply_preset("proper")
    before_weights, before_image = shared.weights(), shared.histogram_image.value
    assert shared.set_layer("layer2", **change) is False
    assert "not applied" in shared.message.value
    assert "layer2" in shared.message.value
    assert expected.replace(">", "&gt;").replace("'", "&#x27;") in shared.message.value
    assert shared.controls["layer2"]["scheme"].value == "he"
    assert shared.controls["layer2"]["scale"].value == 1.0
    assert shared.histogram_image.value == before_image
    for layer, weights in shared.weights().items():
        np.testing.assert_array_equal(weights, before_weights[layer])
    # A good value afterwards clears the message.
    assert shared.set_layer("layer2", scale=1.0)
    assert shared.message.value == ""


def test_a_nan_from_the_slider_itself_shows_a_message(playground):
    image = playground.histogram_image.value
    playground.controls["layer4"]["scale"].value = float("nan")  # the slider lets NaN through
    assert "layer4: scale must be a finite number &gt; 0, got nan" in playground.message.value
    assert playground.histogram_image.value == image
    playground.controls["layer4"]["scale"].value = 1.0
    assert playground.message.value == ""


def test_unknown_layer_and_preset_show_a_message(shared):
    assert shared.set_layer("layer9", scale=1.0) is False
    assert "unknown layer &#x27;layer9&#x27;" in shared.message.value
    assert shared.apply_preset("huge") is False
    assert "unknown preset &#x27;huge&#x27;" in shared.message.value
    shared.apply_preset("proper")
    assert shared.message.value == ""


def test_all_zero_weights_give_an_undefined_verdict_not_a_crash(playground):
    with playground._changing_several():
        for control in playground.controls.values():
            control["scheme"].value = "zeros"
    assert playground.redraw()
    assert "undefined" in playground.verdict.value
    assert np.allclose(playground.outputs()["predictions"], 0.1)


def test_stable_repr(shared):
    assert repr(shared) == "Playground(seed=0, batch=16 digits)"


def test_training_runs_in_chunks_on_a_copy(playground, monkeypatch):
    monkeypatch.setattr(playground_module, "TRAIN_CHUNK", 2)
    progress = []
    playground.progress.observe(lambda change: progress.append(change["new"]), names="value")
    before = playground.weights()
    history = playground.train(steps=4, learning_rate=1e-3)
    assert history.steps == [0, 1, 2, 3]
    assert all(math.isfinite(cost) for cost in history.costs)
    assert progress == [2, 4]  # one update per chunk of 2 steps
    assert bytes(playground.curve_image.value).startswith(b"\x89PNG")
    assert "step 4 of 4" in playground.train_status.value
    for layer, weights in playground.weights().items():
        np.testing.assert_array_equal(weights, before[layer])
    assert playground.train_button.description == "train"


def test_the_train_button_trains_in_a_background_thread(playground, monkeypatch):
    monkeypatch.setattr(playground_module, "TRAIN_CHUNK", 1)
    playground.train_steps.value = 10
    playground.train_button.click()
    assert playground.training_thread is not None
    deadline = time.monotonic() + 120
    while playground.progress.value < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert playground.train_button.description == "stop"
    playground.train_button.click()  # a second click asks it to stop
    playground.training_thread.join(timeout=120)
    assert not playground.training_thread.is_alive()
    assert 1 <= len(playground.history.steps) < 10
    assert playground.train_button.description == "train"


@pytest.mark.parametrize("rate", [0.0, -1e-3, float("nan"), "fast"])
def test_a_bad_learning_rate_shows_a_message(playground, rate):
    assert playground.train(steps=1, learning_rate=rate) is None
    assert "color:#b00020" in playground.train_status.value


def test_divergent_training_stops_with_a_message(playground, monkeypatch):
    monkeypatch.setattr(playground_module, "TRAIN_CHUNK", 3)
    playground.apply_preset("large")
    history = playground.train(steps=3, learning_rate=1.0)
    assert history.diverged_at is not None
    assert "training stopped" in playground.train_status.value
