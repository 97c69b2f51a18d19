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


def test_tiny_outputs_get_scientific_tick_labels(outputs):
    # from hundredths down the x tick labels switch to scientific notation (an offset 1e-2)
    outputs["layer1_conv"] = np.linspace(-0.04, 0.04, 50)
    outputs["layer2_conv"] = np.linspace(-0.4, 0.4, 50)
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
