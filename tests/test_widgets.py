"""The playground's view, driven from Python: no browser (tests/test_browser.py has one).

What the state computes is tested in test_playground.py; here: the controls show the state,
a change of a control reaches the state and redraws the pictures, bad values give a message.
"""

import math
import time

import ipywidgets as widgets
import numpy as np
import pytest

from course_utils.core.initializers import SCHEMES
from course_utils.core.stats import std_ratio
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.views.playground import PRESETS, Playground
from course_utils.views.playground import view as view_module
from course_utils.views.playground.view import SCALE_RANGE


@pytest.fixture(scope="module")
def shared(subset):
    """One playground for the tests that leave it as they found it (building one takes ~1 s)."""
    return Playground(data=subset, seed=0, batch_size=16)


@pytest.fixture
def playground(subset):
    return Playground(data=subset, seed=0, batch_size=16)


def _shown(playground):
    return {layer: (control["scheme"].value, control["scale"].value)
            for layer, control in playground.controls.items()}


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


def test_preset_buttons_set_the_controls_the_state_and_the_verdict(shared):
    for key, word in (("large", "exploding"), ("small", "vanishing"), ("proper", "healthy")):
        count = shared.redraw_count
        shared.preset_buttons[key].click()
        assert shared.redraw_count == count + 1
        assert shared.state.layers == PRESETS[key] == _shown(shared)
        assert shared.training.learning_rate.value == pytest.approx(
            EXPERIMENTS[key].learning_rate)
        assert shared.verdict_text().startswith(word)
        assert shared.verdict_text() in shared.verdict.value
        assert shared.message.value == ""


def test_a_control_change_reaches_the_state_and_redraws(playground):
    before_image = playground.histogram_image.value
    before_table = playground.logits_table.value
    before_ratio = std_ratio(playground.stats())
    count = playground.redraw_count

    playground.controls["layer3"]["scale"].value = 4.0

    assert playground.state.layers["layer3"] == ("he", 4.0)
    assert playground.redraw_count == count + 1
    assert playground.histogram_image.value != before_image
    assert bytes(playground.histogram_image.value).startswith(b"\x89PNG")
    assert playground.logits_table.value != before_table
    assert std_ratio(playground.stats()) == pytest.approx(4 * before_ratio, rel=1e-3)

    playground.controls["layer5"]["scheme"].value = "lecun"
    assert playground.state.layers["layer5"] == ("lecun", 1.0)
    assert playground.redraw_count == count + 2
    assert playground.message.value == ""


def test_the_learning_rate_slider_sets_the_state(playground):
    playground.training.learning_rate.value = 1e-2
    assert playground.state.learning_rate == pytest.approx(1e-2)


def test_the_histogram_scale_switch_redraws_the_picture_only(playground):
    before_image, before_stats = playground.histogram_image.value, playground.stats()
    version, count = playground.state.version, playground.redraw_count
    playground.histogram_scale.value = "per-layer"
    assert playground.redraw_count == count + 1
    assert playground.histogram_image.value != before_image
    assert playground.stats() is before_stats and playground.state.version == version
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
    before_image, count = shared.histogram_image.value, shared.redraw_count
    assert shared.set_layer("layer2", **change) is False
    assert "not applied" in shared.message.value
    assert "layer2" in shared.message.value
    assert expected.replace(">", "&gt;").replace("'", "&#x27;") in shared.message.value
    assert _shown(shared) == shared.state.layers == PRESETS["proper"]
    assert shared.histogram_image.value == before_image and shared.redraw_count == count
    # A good value afterwards clears the message.
    assert shared.set_layer("layer2", scale=1.0)
    assert shared.message.value == ""


def test_a_nan_from_the_slider_itself_shows_a_message(playground):
    image = playground.histogram_image.value
    playground.controls["layer4"]["scale"].value = float("nan")  # the slider lets NaN through
    assert "layer4: scale must be a finite number &gt; 0, got nan" in playground.message.value
    assert playground.histogram_image.value == image
    assert playground.state.layers["layer4"] == ("he", 1.0)
    playground.controls["layer4"]["scale"].value = 1.0
    assert playground.message.value == ""


def test_unknown_layer_and_preset_show_a_message(shared):
    assert shared.set_layer("layer9", scale=1.0) is False
    assert "unknown layer &#x27;layer9&#x27;" in shared.message.value
    assert shared.apply_preset("huge") is False
    assert "unknown preset &#x27;huge&#x27;" in shared.message.value
    shared.apply_preset("proper")
    assert shared.message.value == ""


def test_overflow_shows_a_note(playground):
    for layer in playground.controls:
        playground.set_layer(layer, scheme="normal", scale=100.0)
    playground.state.set_layers({"layer1": ("normal", 1e30)})  # beyond what sliders offer
    playground.redraw()
    assert "overflowed to inf or NaN" in playground.message.value


def test_stable_repr(shared):
    assert repr(shared) == "Playground(seed=0, batch=16 digits)"


def test_training_updates_the_progress_and_curve_every_chunk(playground, monkeypatch):
    monkeypatch.setattr(view_module, "TRAIN_CHUNK", 2)
    training = playground.training
    progress = []
    training.progress.observe(lambda change: progress.append(change["new"]), names="value")
    before = playground.state.weights()
    history = training.train(steps=5, learning_rate=1e-3)
    assert history.steps == [0, 1, 2, 3, 4]
    assert all(math.isfinite(cost) for cost in history.costs)
    assert progress == [2, 4, 5]  # every chunk of 2 steps, and the end
    assert bytes(training.curve_image.value).startswith(b"\x89PNG")
    assert "step 5 of 5" in training.status.value
    for layer, weights in playground.state.weights().items():
        np.testing.assert_array_equal(weights, before[layer])
    assert training.button.description == "train"


def test_the_train_button_trains_in_a_background_thread(playground, monkeypatch):
    monkeypatch.setattr(view_module, "TRAIN_CHUNK", 1)
    training = playground.training
    training.steps.value = 10
    training.button.click()
    assert training.thread is not None
    deadline = time.monotonic() + 120
    while training.progress.value < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert training.button.description == "stop"
    training.button.click()  # a second click asks it to stop
    training.thread.join(timeout=120)
    assert not training.thread.is_alive()
    assert 1 <= len(training.history.steps) < 10
    assert training.button.description == "train"


@pytest.mark.parametrize("rate", [0.0, -1e-3, float("nan"), "fast"])
def test_a_bad_learning_rate_shows_a_message(playground, rate):
    assert playground.training.train(steps=1, learning_rate=rate) is None
    assert "learning_rate must be" in playground.training.status.value
    assert "color:#b00020" in playground.training.status.value


def test_divergent_training_stops_with_a_message(playground):
    playground.apply_preset("large")
    history = playground.training.train(steps=3, learning_rate=1.0)
    assert history.diverged_at is not None
    assert "training stopped" in playground.training.status.value


def test_the_activation_switch_reaches_the_state_and_redraws(playground):
    assert playground.activation.value == "relu" == playground.state.activation
    assert [value for _, value in playground.activation.options] == ["relu", "tanh"]
    picture, logits, count = (playground.histogram_image.value, playground.logits_table.value,
                              playground.redraw_count)
    playground.activation.value = "tanh"  # what a click on the tanh button does
    assert playground.state.activation == "tanh"
    assert playground.redraw_count == count + 1
    assert playground.histogram_image.value != picture
    assert playground.logits_table.value != logits
    playground.apply_preset("large")  # a preset keeps the activation
    assert playground.state.activation == "tanh" == playground.activation.value


def test_a_bad_activation_shows_a_message(playground):
    assert playground.set_activation("sigmoid") is False
    assert "unknown activation" in playground.message.value
    assert playground.state.activation == "relu" == playground.activation.value


def test_a_scale_below_the_sliders_range_is_refused(shared):
    shared.apply_preset("proper")
    assert shared.set_layer("layer2", scale=1e-5) is False
    assert "outside the slider&#x27;s range" in shared.message.value
    assert shared.state.layers == PRESETS["proper"]
    assert shared.set_layer("layer2", scale=1.0)


def test_a_trainer_built_alone_draws_its_curve_like_the_playgrounds(playground):
    import io

    from PIL import Image

    alone = view_module.Trainer(playground.state)
    sizes = []
    for trainer in (playground.training, alone):
        trainer.train(steps=1, learning_rate=1e-3)
        sizes.append(Image.open(io.BytesIO(bytes(trainer.curve_image.value))).size)
    assert sizes[0] == sizes[1] == (880, 208)  # 11 x 2.6 inches at the default 80 dpi


def test_the_logits_table_colours_finite_cells_and_greys_nan_ones():
    from course_utils.views.playground.pictures import LogitsTable

    table = LogitsTable(np.zeros((2, 28, 28, 1), np.float32))
    logits = np.array([np.linspace(-3, 3, 10), [np.nan] * 10])
    html = table.html({"logits": logits, "predictions": np.full((2, 10), 0.1)})
    cells = html.split("<tr>")[3:]  # after the two header rows: one row per digit
    assert "#999999" not in cells[0]  # finite logits get the red-blue scale
    assert cells[1].count("#999999") == 10  # each NaN logit is grey


def test_the_logits_tables_digits_are_dark_ink_on_white():
    import base64
    import io
    import re

    from PIL import Image

    from course_utils.views.playground.pictures import LogitsTable

    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, :14] = 1.0  # ink on the top half
    image[0, 0, 0] = 1.5  # beyond 1: as dark as 1
    html = LogitsTable(image).html({"logits": np.zeros((1, 10)),
                                    "predictions": np.full((1, 10), 0.1)})
    data = re.search(r"data:image/png;base64,([^']+)", html).group(1)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    assert pixels[:14].max() == 0 and pixels[14:].min() == 255


def test_the_training_curves_fill_their_picture():
    from course_utils.core.training import History
    from course_utils.views.playground.pictures import CurvePanel

    panel = CurvePanel(80)
    panel.draw(History(steps=[0, 1, 2], costs=[2.3, 2.2, 2.0], accuracies=[0.1, 0.2, 0.3]), 3)
    renderer = panel.canvas.get_renderer()
    for ax in panel.axes:
        box = ax.get_position()
        assert box.height > 0.6 and box.width > 0.4
        label = ax.xaxis.label.get_window_extent(renderer)
        assert label.y0 >= 0  # the step label stays inside the picture


def test_the_sliders_own_ends_are_accepted(shared):
    shared.apply_preset("proper")
    for scale in SCALE_RANGE:
        assert shared.set_layer("layer2", scale=scale), scale
    shared.apply_preset("proper")
