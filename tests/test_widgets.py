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
from course_utils.core.stats import format_number, std_ratio
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


def _conv_values(spreads, dropped=0):
    """What PlaygroundState.conv_values() hands the histogram panel, for given spreads."""
    from course_utils.core.network import CONV_LAYERS

    rng = np.random.default_rng(0)
    layers = {}
    for name, spread in zip(CONV_LAYERS, spreads):
        values = rng.normal(0, spread, 2000)
        layers[name] = {"values": values, "limit": float(np.abs(values).max()),
                        "std": float(values.std()), "dropped": dropped}
    return layers


def test_histogram_panel_counts_every_value_in_60_bins():
    from course_utils.views.playground.pictures import BINS, HistogramPanel

    panel = HistogramPanel(80)
    layers = _conv_values([1.0, 10.0, 100.0, 1000.0])
    for scale in ("common", "per-layer"):
        panel.draw(layers, scale)
        for ax, bars, name in zip(panel.axes, panel.bars, layers):
            limit = layers["layer4_conv"]["limit"] if scale == "common" else layers[name]["limit"]
            counts, edges = bars.get_data().values, bars.get_data().edges
            np.testing.assert_allclose(edges, np.linspace(-limit, limit, BINS + 1))
            expected, _ = np.histogram(layers[name]["values"], bins=edges)
            assert counts.sum() == 2000  # the largest value too: it goes in the last bin
            assert np.abs(counts - expected).max() <= 1  # a value on an edge may go either way
            assert ax.get_xlim() == pytest.approx((-limit, limit))
            assert ax.get_ylim() == pytest.approx((0, 1.05 * counts.max()))
    assert BINS == 60  # as plot_layer_histograms' default


def test_histogram_panel_puts_values_beyond_the_range_in_the_end_bins():
    from course_utils.core.network import CONV_LAYERS
    from course_utils.views.playground.pictures import HistogramPanel

    panel = HistogramPanel(80)
    layers = _conv_values([1.0] * 4)
    layers["layer1_conv"] = {"values": np.array([-5.0, -1.0, 0.0, 0.999, 1.0, 7.0]),
                             "limit": 1.0, "std": 1.0, "dropped": 0}
    panel.draw(layers, "per-layer")
    counts = panel.bars[0].get_data().values
    assert counts[0] == 2 and counts[-1] == 3 and counts[30] == 1 and counts.sum() == 6
    layers["layer1_conv"] = {"values": np.array([]), "limit": 1.0, "std": float("nan"),
                             "dropped": 3}
    panel.draw(layers, "per-layer")
    assert panel.axes[0].get_ylim() == pytest.approx((0, 1.05))  # empty: a flat, visible axis
    assert panel.titles[0].get_text() == "layer1_conv\nstd nan, 3 inf/NaN"
    assert [title.get_text().split("\n")[0] for title in panel.titles] == list(CONV_LAYERS)
    assert "inf/NaN" not in panel.titles[1].get_text()


def test_histogram_picture_is_a_strip_as_wide_as_the_training_curve(playground):
    import io

    from PIL import Image

    histogram = Image.open(io.BytesIO(bytes(playground.histogram_image.value))).size
    playground.training.train(steps=1, learning_rate=1e-3)
    curve = Image.open(io.BytesIO(bytes(playground.training.curve_image.value))).size
    assert histogram[0] == curve[0] == 880
    assert histogram[1] < curve[1] and histogram[0] > 4 * histogram[1]


def _table_rows(html):
    return html.split("<tr>")[3:]


def test_the_playground_table_shows_the_first_eight_digits(shared):
    # as many as plot_logits_and_predictions shows by default in the notebooks
    assert len(_table_rows(shared.logits_table.value)) == 8


def test_the_logits_table_colours_are_the_plots_colour_maps():
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from course_utils.views.playground.pictures import LogitsTable

    table = LogitsTable(np.zeros((1, 28, 28, 1), np.float32))
    logits = np.array([[-4.0, 4.0, 0.0, 2.0, 2.5, -2.5, 0.1, 0.0, 0.0, 0.0]])
    predictions = np.array([[0.0, 1.0, 0.5, 0.51, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]])
    html = table.html({"logits": logits, "predictions": predictions})
    assert "logits (colour range &plusmn;4)" in html
    header = "".join(f"<th>{digit}</th>" for digit in range(10))
    assert html.count(header) == 2 and "<th>10</th>" not in html  # digits 0..9, twice
    cells = _table_rows(html)[0].split("<td")[2:]  # after the digit's cell
    logit_cells, prediction_cells = cells[:10], cells[11:]

    def background(cell):
        return cell.split("background:")[1].split(";")[0]

    def text(cell):
        return cell.split("color:")[1].split(";")[0]

    red_blue, viridis = colormaps["RdBu_r"], colormaps["viridis"]
    assert background(logit_cells[0]) == to_hex(red_blue(0.0))  # -limit: the blue end
    assert background(logit_cells[1]) == to_hex(red_blue(1.0))  # +limit: the red end
    assert background(logit_cells[3]) == to_hex(red_blue(0.75))
    assert background(prediction_cells[0]) == to_hex(viridis(0.0))
    assert background(prediction_cells[1]) == to_hex(viridis(1.0))
    assert background(prediction_cells[4]) == to_hex(viridis(0.2))
    # light text on the dark ends of each scale, dark text in between
    assert [text(cell) for cell in logit_cells[:6]] == ["white", "white", "black", "black",
                                                        "white", "white"]
    assert [text(cell) for cell in prediction_cells[:4]] == ["white", "black", "white", "black"]
    assert ">4<" in logit_cells[1] and ">0.1<" in logit_cells[6]
    assert ">1.00<" in prediction_cells[1] and ">0.51<" in prediction_cells[3]


@pytest.mark.parametrize("value, shown", [(25000.0, "2.5e4"), (-41.0, "-41"), (0.0023, "0.0023"),
                                          (1.5e-5, "1.5e-5"), (3e12, "3e12"), (np.inf, "inf")])
def test_the_logits_table_writes_each_logit_in_a_few_characters(value, shown):
    from course_utils.views.playground.pictures import LogitsTable

    table = LogitsTable(np.zeros((1, 28, 28, 1), np.float32))
    logits = np.full((1, 10), 0.0)
    logits[0, 0] = value
    html = table.html({"logits": logits, "predictions": np.full((1, 10), 0.1)})
    assert f">{shown}</td>" in _table_rows(html)[0]


def test_the_training_curve_spans_the_steps_asked_for():
    from course_utils.core.training import History
    from course_utils.views.playground.pictures import CurvePanel

    panel = CurvePanel(80)
    panel.draw(History(steps=[0, 1], costs=[2.3, 2.2], accuracies=[0.1, 0.2]), 30)
    assert all(ax.get_xlim() == pytest.approx((-0.5, 29.5)) for ax in panel.axes)
    panel.draw(History(steps=[0], costs=[2.3], accuracies=[0.1]), 0)
    assert all(ax.get_xlim() == pytest.approx((-0.5, 0.5)) for ax in panel.axes)


def test_sliders_apply_a_value_once_it_is_let_go(shared):
    # continuous_update=False: dragging does not redraw (or retrain) at every pixel
    sliders = [control["scale"] for control in shared.controls.values()]
    sliders += [shared.training.learning_rate, shared.training.steps]
    assert all(slider.continuous_update is False for slider in sliders)


def test_the_status_line_gives_the_last_steps_cost_and_accuracy(playground):
    assert playground.training.curve_image.layout.display == "none"  # no curve before training
    history = playground.training.train(steps=2, learning_rate=1e-3)
    assert playground.training.curve_image.layout.display is None  # shown
    status = playground.training.status.value
    cost = format_number(history.costs[-1], 3)
    assert f"step 2 of 2: training-batch cost {cost}, accuracy " \
           f"{100 * history.accuracies[-1]:.0f} %" in status


def test_progress_and_curve_follow_every_ten_steps(playground):
    training = playground.training
    progress = []
    training.progress.observe(lambda change: progress.append(change["new"]), names="value")
    assert training.progress.max == training.steps.value  # sized for the default steps
    training.train(steps=12, learning_rate=1e-3)
    assert training.progress.max == 12
    assert progress == [10, 12]  # every 10 steps, and the end


def test_a_playground_starts_from_seed_0_with_the_he_xavier_preset(subset):
    playground = Playground(data=subset, batch_size=16)
    assert repr(playground) == "Playground(seed=0, batch=16 digits)"
    assert playground.state.layers == PRESETS["proper"] == _shown(playground)
    assert playground.verdict_text().startswith("healthy")


def test_the_histogram_panels_and_their_titles_fit_in_their_picture():
    from course_utils.views.playground.pictures import HistogramPanel

    panel = HistogramPanel(80)
    panel.draw(_conv_values([1.0, 10.0, 100.0, 1000.0]), "common")
    renderer = panel.canvas.get_renderer()
    _, height = panel.canvas.get_width_height()
    boxes = [ax.get_position() for ax in panel.axes]
    assert all(0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1 for box in boxes)
    assert sum(box.width for box in boxes) > 0.8  # the four panels fill the strip
    for ax, title in zip(panel.axes, panel.titles):
        extent = title.get_window_extent(renderer)
        assert extent.y1 <= height  # the two-line title is not cut off
        for label in ax.get_xticklabels():
            if label.get_text():
                assert label.get_window_extent(renderer).y0 >= 0


def test_the_training_curve_panels_stay_inside_their_picture():
    from course_utils.core.training import History
    from course_utils.views.playground.pictures import CurvePanel

    panel = CurvePanel(80)
    panel.draw(History(steps=[0, 1], costs=[2.3, 2.2], accuracies=[0.1, 0.2]), 2)
    renderer = panel.canvas.get_renderer()
    _, height = panel.canvas.get_width_height()
    for ax in panel.axes:
        box = ax.get_position()
        assert 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1
        assert ax.title.get_window_extent(renderer).y1 <= height


def test_histogram_bars_are_filled_and_table_rows_closed():
    from course_utils.views.playground.pictures import HistogramPanel, LogitsTable

    assert all(bars.get_fill() for bars in HistogramPanel(80).bars)  # as plots' stepfilled
    html = LogitsTable(np.zeros((3, 28, 28, 1), np.float32)).html(
        {"logits": np.zeros((3, 10)), "predictions": np.full((3, 10), 0.1)})
    assert html.count("<tr>") == html.count("</tr>") == 2 + 3


def test_a_half_inked_pixel_is_mid_grey_in_the_logits_table():
    import base64
    import io
    import re

    from PIL import Image

    from course_utils.views.playground.pictures import LogitsTable

    image = np.full((1, 28, 28, 1), 0.5, np.float32)
    html = LogitsTable(image).html({"logits": np.zeros((1, 10)),
                                    "predictions": np.full((1, 10), 0.1)})
    data = re.search(r"data:image/png;base64,([^']+)", html).group(1)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    assert np.all(pixels == 128)  # 255 * (1 - 0.5), rounded
