import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.core.network import CONV_LAYERS
from course_utils.core.stats import activation_stats
from course_utils.core.training import History
from course_utils.views.plots import (
    plot_history,
    plot_layer_histograms,
    plot_logits_and_predictions,
    plot_std_by_layer,
)


@pytest.fixture
def outputs():
    rng = np.random.default_rng(0)
    values = {name: rng.normal(0, 10.0**i, 500) for i, name in enumerate(CONV_LAYERS)}
    values["logits"] = rng.normal(0, 100, (8, 10))
    values["predictions"] = np.eye(10)[rng.integers(0, 10, 8)]
    return values


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_common_scale_shares_one_range(outputs):
    fig = plot_layer_histograms(outputs, scale="common")
    limits = {ax.get_xlim() for ax in fig.axes}
    assert len(fig.axes) == 4 and len(limits) == 1
    assert limits.pop()[1] == pytest.approx(np.abs(outputs["layer4_conv"]).max())


def test_per_layer_scale_fits_each_layer(outputs):
    fig = plot_layer_histograms(outputs, scale="per-layer")
    widths = [ax.get_xlim()[1] for ax in fig.axes]
    assert widths == sorted(widths) and widths[3] > 100 * widths[0]
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == list(CONV_LAYERS)


def test_histograms_redraw_into_given_axes(outputs):
    fig, axes = plt.subplots(1, 4)
    assert plot_layer_histograms(outputs, axes=axes) is fig
    assert plot_layer_histograms(outputs, axes=axes, scale="per-layer") is fig
    assert len(fig.axes[0].patches) == 1  # redrawn, not stacked


def test_histograms_survive_inf_nan_and_constants(outputs):
    outputs["layer2_conv"] = np.array([np.inf, np.nan, 1.0, 2.0])
    outputs["layer3_conv"] = np.zeros(10)
    outputs["layer4_conv"] = np.array([np.nan, np.nan])
    fig = plot_layer_histograms(outputs, scale="per-layer")
    assert "2 inf/NaN" in fig.axes[1].get_title()
    assert "std 0" in fig.axes[2].get_title()


def test_unknown_scale_is_refused(outputs):
    with pytest.raises(ValueError, match="unknown histogram scale .*; choose one of"):
        plot_layer_histograms(outputs, scale="log")


def test_logits_and_predictions_panels(outputs):
    images = np.zeros((8, 28, 28, 1), np.float32)
    fig = plot_logits_and_predictions(outputs, images=images, count=5)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "digit" and titles[2] == "predictions = softmax(logits)"
    annotations = [text.get_text() for text in fig.axes[2].texts]
    assert len(annotations) == 5 * 10 and annotations.count("1.00") == 5


@pytest.mark.parametrize(("count", "error"), [(0, ValueError), (-2, ValueError),
                                              (2.5, TypeError), (True, TypeError)])
def test_logits_plot_needs_a_positive_count(outputs, count, error):
    with pytest.raises(error, match="count must be"):
        plot_logits_and_predictions(outputs, count=count)


def test_history_and_std_plots(outputs):
    history = History(steps=[0, 100], costs=[2.5, float("inf")], accuracies=[0.1, 0.5])
    assert len(plot_history({"run": history}).axes) == 2
    fig = plot_std_by_layer({"run": activation_stats(outputs)})
    assert fig.axes[0].get_yscale() == "log"


def test_every_panel_says_what_it_counts(outputs):
    fig = plot_layer_histograms(outputs)
    assert fig.axes[0].get_ylabel() == "number of outputs"
    assert all(ax.get_xlabel() == "output value" for ax in fig.axes)


def test_heat_maps_get_colourbars_in_a_figure_of_their_own(outputs):
    fig = plot_logits_and_predictions(outputs)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "logit value" in labels and "probability" in labels
    # redrawing into given axes (the playground) adds no colourbar per redraw
    fig, axes = plt.subplots(1, 2)
    plot_logits_and_predictions(outputs, axes=axes)
    plot_logits_and_predictions(outputs, axes=axes)
    assert len(fig.axes) == 2


def _history(costs):
    return History(steps=list(range(0, 10 * len(costs), 10)), costs=costs,
                   accuracies=[0.1] * len(costs))


def test_cost_axis_is_log_only_when_the_costs_span_decades():
    fig = plot_history({"spread": _history([8e5, 1e5, 3e4])})
    assert fig.axes[0].get_yscale() == "log"
    fig = plot_history({"flat": _history([2.302593, 2.302585, 2.302590])})
    cost_ax = fig.axes[0]
    assert cost_ax.get_yscale() == "linear"
    fig.canvas.draw()
    labels = [tick.get_text() for tick in cost_ax.get_yticklabels() if tick.get_text()]
    assert len(labels) == len(set(labels)) >= 2  # distinct, readable tick labels
    assert "linear scale" in cost_ax.get_ylabel()


def test_step_ticks_are_whole_numbers():
    fig = plot_history({"run": _history([2.0, 1.5, 1.0])})
    fig.canvas.draw()
    for ax in fig.axes[:2]:
        ticks = ax.get_xticks()
        assert np.allclose(ticks, np.round(ticks))


def test_an_all_zero_layer_gets_the_range_minus_1_to_1(outputs):
    outputs["layer3_conv"] = np.zeros(10)
    fig = plot_layer_histograms(outputs, scale="per-layer")
    assert fig.axes[2].get_xlim() == pytest.approx((-1.0, 1.0))


@pytest.mark.parametrize("scientific, plain", [
    (0.04, 0.4),  # from hundredths down the tick labels switch to an offset such as 1e-2
    (5000, 900),  # and from thousands up
])
def test_very_small_or_large_outputs_get_scientific_tick_labels(outputs, scientific, plain):
    outputs["layer1_conv"] = np.linspace(-scientific, scientific, 50)
    outputs["layer2_conv"] = np.linspace(-plain, plain, 50)
    fig = plot_layer_histograms(outputs, scale="per-layer")
    fig.canvas.draw()
    assert fig.axes[0].xaxis.get_offset_text().get_text() != ""
    assert fig.axes[1].xaxis.get_offset_text().get_text() == ""


def test_logits_figure_is_short_rows_and_a_narrow_digit_strip(outputs):
    images = np.zeros((8, 28, 28, 1), np.float32)
    fig = plot_logits_and_predictions(outputs, images=images, count=8)
    assert fig.get_figheight() < 0.5 * 8 + 1.6  # under half an inch per image
    fig.canvas.draw()
    strip, logits = (ax.get_position().width for ax in fig.axes[:2])
    assert strip < 0.3 * logits  # the digits take a fifth of a heat map's width


def test_digits_default_to_the_first_ten_each_titled_with_its_label():
    from course_utils.views.plots import plot_digits

    images = np.zeros((12, 28, 28, 1), np.float32)
    images[:, :14] = 0.5  # half ink: drawn as mid grey, not stretched to black
    labels = np.arange(12) % 10
    fig = plot_digits(images, labels)
    assert [ax.get_title() for ax in fig.axes] == [str(label) for label in labels[:10]]
    assert all(ax.images[0].get_clim() == (0, 1) for ax in fig.axes)  # pixels keep 0..1
    assert fig.get_suptitle() == ""
    fig = plot_digits(images, labels, count=3, title="three digits")
    assert len(fig.axes) == 3 and fig.get_suptitle() == "three digits"


def test_histograms_have_as_many_bars_as_bins(outputs):
    for bins, fig in ((60, plot_layer_histograms(outputs)),
                      (10, plot_layer_histograms(outputs, bins=10))):
        for ax in fig.axes:
            edges = np.unique(np.round(ax.patches[0].get_path().vertices[:, 0], 9))
            assert len(edges) == bins + 1  # the one outline steps once per bin
            assert edges[0] == pytest.approx(ax.get_xlim()[0])
            assert edges[-1] == pytest.approx(ax.get_xlim()[1])


def test_histogram_titles_say_the_scale_and_note_only_real_inf_nan(outputs):
    fig = plot_layer_histograms(outputs)
    assert fig.get_suptitle() == "Pre-ReLU outputs (one common x-scale)"
    assert all("inf/NaN" not in ax.get_title() for ax in fig.axes)
    std = float(np.std(outputs["layer3_conv"]))
    assert fig.axes[2].get_title() == f"layer3_conv\nstd {std:.2g}"
    fig = plot_layer_histograms(outputs, scale="per-layer")
    assert fig.get_suptitle() == "Pre-ReLU outputs (x-scale per layer)"
    fig = plot_layer_histograms(outputs, title="mine")
    assert fig.get_suptitle() == "mine"


def _many_outputs(rows):
    rng = np.random.default_rng(1)
    return {"logits": rng.normal(0, 3, (rows, 10)),
            "predictions": np.eye(10)[rng.integers(0, 10, rows)]}


def test_logits_plot_shows_eight_images_by_default():
    outputs = _many_outputs(12)
    fig = plot_logits_and_predictions(outputs)
    logits_ax, predictions_ax = fig.axes[:2]
    assert [label.get_text() for label in logits_ax.get_yticklabels()] == [
        f"image {i}" for i in range(8)]
    assert len(predictions_ax.texts) == 8 * 10
    assert logits_ax.images[0].get_array().shape == (8, 10)


def test_logits_rows_keep_their_height_whatever_the_count():
    heights = {count: plot_logits_and_predictions(_many_outputs(12), count=count).get_figheight()
               for count in (1, 4, 12)}
    per_row = (heights[12] - heights[4]) / 8
    assert 0.3 < per_row < 0.5  # the same height per image row ...
    assert heights[4] - heights[1] == pytest.approx(3 * per_row)
    assert 1.2 < heights[1] < 2.5  # ... plus room for the titles and colourbars


def test_the_digit_strip_shows_exactly_the_rows_digits():
    outputs = _many_outputs(12)
    images = np.zeros((12, 28, 28, 1), np.float32)
    fig = plot_logits_and_predictions(outputs, images=images, count=5)
    assert fig.axes[0].images[0].get_array().shape == (5 * 28, 28)


def test_logits_colour_range_is_symmetric_and_predictions_span_0_to_1():
    outputs = _many_outputs(8)
    outputs["logits"][3, 4] = -17.0  # the largest logit in size
    fig = plot_logits_and_predictions(outputs, title="run A")
    logits_ax, predictions_ax = fig.axes[:2]
    assert logits_ax.images[0].get_clim() == pytest.approx((-17.0, 17.0))
    assert logits_ax.get_title() == "logits (colour range +-17)"
    assert predictions_ax.images[0].get_clim() == (0.0, 1.0)
    assert logits_ax.get_xlabel() == predictions_ax.get_xlabel() == "digit"
    assert list(logits_ax.get_xticks()) == list(range(10))
    assert fig.get_suptitle() == "run A"


def test_prediction_cells_are_dark_text_on_bright_cells_and_light_on_dark():
    outputs = {"logits": np.zeros((1, 10)),
               "predictions": np.array([[0.96, 0.5, 0.52, 0.02] + [0.0] * 6])}
    fig = plot_logits_and_predictions(outputs)
    colours = {text.get_text(): text.get_color() for text in fig.axes[1].texts}
    assert colours["0.96"] == colours["0.52"] == "black"  # over half: a bright viridis cell
    assert colours["0.02"] == colours["0.50"] == "white"
    positions = [text.get_position() for text in fig.axes[1].texts]
    assert positions[:3] == [(0, 0), (1, 0), (2, 0)]  # each value in its cell (digit, row)


def test_the_cost_axis_turns_logarithmic_only_beyond_a_factor_of_10():
    # the docstring: logarithmic when the costs span *more* than a factor of 10
    assert plot_history({"x10": _history([23.0, 2.3])}).axes[0].get_yscale() == "linear"
    assert plot_history({"x10.5": _history([24.15, 2.3])}).axes[0].get_yscale() == "log"
    # across runs: each run spans little, together they span decades
    fig = plot_history({"a": _history([50.0, 40.0]), "b": _history([2.0, 1.9])})
    assert fig.axes[0].get_yscale() == "log"
    assert "log scale" in fig.axes[0].get_ylabel()


def test_zero_inf_and_nan_costs_do_not_decide_the_cost_axis():
    history = _history([2.4, float("inf"), float("nan"), 0.0, 2.3])
    fig = plot_history({"run": history})
    cost_ax = fig.axes[0]
    assert cost_ax.get_yscale() == "linear"
    ydata = np.asarray(cost_ax.lines[0].get_ydata(), dtype=float)
    assert np.isnan(ydata[1]) and np.isnan(ydata[2])  # inf is drawn as a gap, not a spike
    assert ydata[[0, 3, 4]].tolist() == [2.4, 0.0, 2.3]


def test_history_without_records_draws_empty_panels():
    fig = plot_history({"new": History(steps=[], costs=[], accuracies=[])})
    assert fig.axes[0].get_yscale() == "linear"
    fig = plot_history({})
    assert len(fig.axes) == 2


def test_history_lines_legends_and_reference_lines():
    history = History(steps=[0, 10, 20], costs=[2.3, 2.0, 1.5], accuracies=[0.1, 0.25, 0.5])
    fig = plot_history({"He": history, "small": history}, title="two runs")
    cost_ax, accuracy_ax = fig.axes
    assert accuracy_ax.lines[0].get_ydata().tolist() == pytest.approx([10.0, 25.0, 50.0])
    assert cost_ax.lines[0].get_ydata().tolist() == pytest.approx([2.3, 2.0, 1.5])
    assert cost_ax.lines[0].get_xdata().tolist() == [0, 10, 20]
    assert [t.get_text() for t in cost_ax.get_legend().get_texts()] == ["He", "small", "ln 10"]
    assert [t.get_text() for t in accuracy_ax.get_legend().get_texts()] == [
        "He", "small", "chance"]
    assert cost_ax.lines[-1].get_ydata()[0] == pytest.approx(math.log(10))  # ln 10: chance cost
    assert accuracy_ax.lines[-1].get_ydata()[0] == 10  # 10 %: chance accuracy
    assert accuracy_ax.get_ylim() == (0, 100)
    assert cost_ax.get_xlabel() == accuracy_ax.get_xlabel() == "step"
    assert accuracy_ax.get_ylabel() == "training-batch accuracy (%)"
    assert (cost_ax.get_title(), accuracy_ax.get_title()) == ("cost", "accuracy")
    assert fig.get_suptitle() == "two runs"
    assert plot_history({"He": history}).get_suptitle() == ""


def test_history_redraws_into_given_axes():
    fig, axes = plt.subplots(1, 2)
    history = _history([2.3, 2.0])
    assert plot_history({"run": history}, axes=axes) is fig
    plot_history({"run": history}, axes=axes)
    assert len(axes[0].lines) == 2  # the run and ln 10, not stacked twice


def test_std_by_layer_draws_each_runs_spread_per_output(outputs):
    stats = activation_stats(outputs)
    fig = plot_std_by_layer({"run": stats, "half": {
        name: {"std": 0.5 * summary["std"]} for name, summary in stats.items()}})
    ax = fig.axes[0]
    names = list(CONV_LAYERS) + ["logits"]
    assert list(ax.lines[0].get_xdata()) == names
    assert ax.lines[0].get_ydata() == pytest.approx([stats[name]["std"] for name in names])
    assert ax.lines[1].get_ydata() == pytest.approx(
        [0.5 * stats[name]["std"] for name in names])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run", "half"]
    assert ax.get_title() == "Spread of each layer's outputs"
    fig.canvas.draw()
    assert ax.yaxis.get_gridlines()[0].get_visible()  # decades are easy to read off
    assert plot_std_by_layer({"run": stats}, title="mine").axes[0].get_title() == "mine"


def test_symmetric_limit_covers_the_largest_value_in_size():
    from course_utils.views.plots import symmetric_limit

    assert symmetric_limit(np.array([-3.0, 2.0])) == 3.0
    assert symmetric_limit(np.array([0.5])) == 0.5
    assert symmetric_limit(np.zeros(4)) == 1.0
    assert symmetric_limit(np.empty(0)) == 1.0


def test_digits_keep_their_size_whatever_the_count():
    from course_utils.views.plots import plot_digits

    images, labels = np.zeros((10, 28, 28, 1), np.float32), np.arange(10)
    five, ten = plot_digits(images, labels, count=5), plot_digits(images, labels, count=10)
    assert ten.get_figwidth() == pytest.approx(2 * five.get_figwidth())
    assert ten.get_figheight() == five.get_figheight()


def test_a_cost_falling_below_1_over_decades_gets_a_log_axis():
    fig = plot_history({"learning": _history([2.3, 0.4, 0.05])})
    assert fig.axes[0].get_yscale() == "log"


def test_a_flat_cost_reads_in_full_digits_without_an_offset():
    fig = plot_history({"stuck": _history([2.302593, 2.302585, 2.302590])})
    cost_ax = fig.axes[0]
    fig.canvas.draw()
    assert cost_ax.yaxis.get_offset_text().get_text() == ""
    labels = [tick.get_text() for tick in cost_ax.get_yticklabels() if tick.get_text()]
    assert all(label.startswith("2.3025") for label in labels), labels


def test_each_colourbar_sits_beside_its_own_heat_map():
    fig = plot_logits_and_predictions(_many_outputs(8), images=np.zeros((8, 28, 28, 1)))
    fig.canvas.draw()
    strip, logits, predictions = fig.axes[:3]
    assert not strip.axison  # the digits have no axis
    bars = {ax.get_ylabel(): ax.get_position() for ax in fig.axes[3:]}
    assert logits.get_position().x1 <= bars["logit value"].x0 < predictions.get_position().x0
    assert predictions.get_position().x1 <= bars["probability"].x0


def test_logits_redraw_into_given_axes_replaces_the_digits_too():
    fig, axes = plt.subplots(1, 3)
    images = np.zeros((8, 28, 28, 1), np.float32)
    for _ in range(2):
        plot_logits_and_predictions(_many_outputs(8), images=images, axes=axes)
    assert [len(ax.images) for ax in axes] == [1, 1, 1]
    assert len(axes[2].texts) == 8 * 10
