import math

import numpy as np
import pytest

from course_utils.core.network import CONV_LAYERS, CONV_WEIGHT_NAMES, WEIGHT_SHAPES, ConvNet
from course_utils.core.training import train
from course_utils.lab.diagnostics import dead_fractions, weight_gradients
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.lab.monitor import Recorder, plot_dashboard


@pytest.fixture(scope="module")
def train_set(subset):
    return subset.train_images[:600], subset.train_labels[:600]


def test_recorded_statistics_match_an_independent_computation(train_set):
    images, labels = train_set
    network = EXPERIMENTS["proper"].create_network(0)
    rate = 0.05
    recorder = Recorder(network, images, labels, rate)
    record = recorder.records[0]
    assert recorder.steps == [0]
    batch_images, batch_labels = images[:100], labels[:100]  # the batch of step 0
    gradients = weight_gradients(network, batch_images, batch_labels)
    for layer in WEIGHT_SHAPES:
        gradient, weights = gradients[layer].numpy(), network.weights[layer].numpy()
        assert record["gradient_std"][layer] == pytest.approx(np.std(gradient), rel=1e-3)
        assert record["update_ratio"][layer] == pytest.approx(
            rate * np.std(gradient) / np.std(weights), rel=1e-3)
    outputs = network.outputs(batch_images)
    dead = dead_fractions(outputs, "channel")
    for layer, name in zip(CONV_WEIGHT_NAMES, CONV_LAYERS):
        assert record["activation_std"][layer] == pytest.approx(np.std(outputs[name]), rel=1e-3)
        assert record["dead"][layer] == pytest.approx(dead[name])
    confident = (outputs["predictions"].max(axis=1) > 0.99).mean()
    assert record["overconfident"] == pytest.approx(confident)


def test_the_update_ratio_is_proportional_to_the_learning_rate(train_set):
    images, labels = train_set
    network = EXPERIMENTS["proper"].create_network(0)
    base = Recorder(network, images, labels, 1e-3).records[0]["update_ratio"]
    tenfold = Recorder(network, images, labels, 1e-2).records[0]["update_ratio"]
    for layer in WEIGHT_SHAPES:
        assert tenfold[layer] == pytest.approx(10 * base[layer], rel=1e-4)


def test_recorder_measures_the_batch_train_uses_at_each_recorded_step(train_set):
    images, labels = train_set
    network = EXPERIMENTS["proper"].create_network(0)
    recorder = Recorder(network, images, labels, 1e-3)
    history = train(network, images, labels, 1e-3, 25, record_every=10, progress=False,
                    callback=recorder)
    assert recorder.steps == [0, 10, 20, 25]
    assert history.steps == [0, 10, 20]
    # the recorder's cost at step 10 is the cost train records at step 10 (before its update)
    assert recorder.records[1]["cost"] == pytest.approx(history.costs[1], rel=1e-4)
    assert recorder.records[2]["cost"] == pytest.approx(history.costs[2], rel=1e-4)
    np.testing.assert_array_equal(recorder.batch(7)[1], labels[200:300])  # (7 * 100) % 500
    series = recorder.series("update_ratio")
    assert list(series) == list(WEIGHT_SHAPES) and series["layer1"].shape == (4,)
    assert recorder.series("cost").shape == (4,)


def _cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_softmax[np.arange(len(labels)), labels].mean())


@pytest.mark.parametrize("activation, batch_norm", [("tanh", False), ("tanh", True),
                                                    ("relu", True)])
def test_recorder_measures_the_network_as_built(train_set, activation, batch_norm):
    """Cost, spreads and update ratios of the network's own forward pass (its activation and
    its BatchNorm), checked against that forward pass and NumPy."""
    images, labels = train_set
    network = ConvNet.from_weights(EXPERIMENTS["proper"].create_weights(0),
                                   activation=activation, batch_norm=batch_norm)
    record = Recorder(network, images, labels, 1e-2).records[0]
    outputs = {name: value.numpy() for name, value in network.forward(images[:100]).items()}
    assert record["cost"] == pytest.approx(_cross_entropy(outputs["logits"], labels[:100]),
                                           rel=1e-4)
    suffix = "_bn" if batch_norm else "_conv"
    for layer in CONV_WEIGHT_NAMES:
        assert record["activation_std"][layer] == pytest.approx(
            np.std(outputs[layer + suffix]), rel=1e-3)
    gradients = weight_gradients(network, images[:100], labels[:100])
    for layer in WEIGHT_SHAPES:
        expected = 1e-2 * np.std(gradients[layer]) / np.std(network.weights[layer])
        assert record["update_ratio"][layer] == pytest.approx(expected, rel=1e-3)


def test_gradient_samples_and_the_dashboard(train_set):
    images, labels = train_set
    network = EXPERIMENTS["proper"].create_network(0)
    recorder = Recorder(network, images, labels, 1e-3, histograms=True)
    train(network, images, labels, 1e-3, 10, record_every=5, progress=False, callback=recorder)
    assert len(recorder.gradient_samples) == len(recorder.steps) == 3
    assert recorder.gradient_samples[0]["layer1"].size == 3 * 3 * 64
    assert recorder.gradient_samples[0]["layer4"].size <= 20_000
    fig = plot_dashboard({"He": recorder})
    assert fig.axes[0].get_xlabel() == "training step"
    assert "log10" in fig.axes[0].get_ylabel()
    assert len(fig.axes[0].lines) == len(WEIGHT_SHAPES) + 1  # five layers and the 1e-3 line


def test_recorder_checks_its_arguments(train_set):
    images, labels = train_set
    network = EXPERIMENTS["proper"].create_network(0)
    with pytest.raises(ValueError, match="learning_rate"):
        Recorder(network, images, labels, 0.0)
    with pytest.raises(ValueError, match="shape"):
        Recorder(network, images[:, :20], labels, 1e-3)
    with pytest.raises(ValueError, match="learning_rate"):
        Recorder(network, images, labels, float("inf"))
    with pytest.raises(TypeError, match="learning_rate"):
        Recorder(network, images, labels, "0.1")
    with pytest.raises(ValueError, match="batch_size"):
        Recorder(network, images[:50], labels[:50], 1e-3)
    with pytest.raises(ValueError, match="labels"):
        Recorder(network, images, labels[:-1], 1e-3)
    with pytest.raises(ValueError, match="field"):
        Recorder(network, images, labels, 1e-3).series("weights")


def test_dashboard_panels_keep_their_shape(train_set):
    import matplotlib.pyplot as plt

    images, labels = train_set
    recorder = Recorder(EXPERIMENTS["proper"].create_network(0), images, labels, 1e-3)
    one = plot_dashboard({"a": recorder})
    three = plot_dashboard({"a": recorder, "b": recorder, "c": recorder}, diverged={"a": 0})
    width, height = one.get_size_inches()
    assert tuple(three.get_size_inches()) == pytest.approx((3 * width, height))  # one per run
    assert 1.0 < width / height < 1.5  # each panel a little wider than tall
    assert three.axes[0].get_legend() is not None  # the diverged run's step is named
    plt.close("all")


def test_a_batch_of_one_image_can_be_recorded(train_set):
    images, labels = train_set
    recorder = Recorder(EXPERIMENTS["proper"].create_network(0), images[:5], labels[:5], 1e-3,
                        batch_size=1)
    assert recorder.steps == [0] and np.isfinite(recorder.records[0]["cost"])


def test_a_diverged_network_is_not_called_confident(train_set):
    # N(0, 1) at rate 1 overflows within a few steps: its predictions are NaN, not "0 % sure"
    images, labels = train_set
    network = EXPERIMENTS["large"].create_network(0)
    recorder = Recorder(network, images, labels, 1.0)
    history = train(network, images, labels, 1.0, 8, record_every=1, progress=False,
                    callback=recorder)
    assert history.diverged_at is not None
    assert recorder.records[0]["overconfident"] > 0.9
    assert math.isnan(recorder.records[-1]["overconfident"])


class _Recorded:
    """What plot_dashboard reads of a Recorder (its steps and series), without training."""

    def __init__(self, steps, per_layer):
        self.steps = list(steps)
        self.per_layer = per_layer

    def series(self, field):
        return {name: np.asarray(values, dtype=float) for name, values in self.per_layer.items()}


def _recorded(steps=(0, 10, 20)):
    return _Recorded(steps, {"layer1": [1e-3, 1e-2, 1e-1][: len(steps)],
                             "layer2": [1e-5, 0.0, 1e-4][: len(steps)]})


def test_dashboard_lines_are_log10_of_the_field_per_layer():
    import matplotlib.pyplot as plt

    fig = plot_dashboard({"He": _recorded(), "small": _recorded()}, title="two runs")
    first = fig.axes[0]
    assert [line.get_label() for line in first.lines[:2]] == ["layer1", "layer2"]
    assert first.lines[0].get_ydata() == pytest.approx([-3, -2, -1])
    assert list(first.lines[0].get_xdata()) == [0, 10, 20]
    assert first.lines[1].get_ydata()[1] == -math.inf  # an update ratio of 0: off the chart
    assert first.lines[2].get_ydata()[0] == pytest.approx(-3)  # CS231n's 1e-3
    assert first.lines[2].get_linestyle() == "--"
    assert first.get_ylabel() == "log10(lr * std(grad) / std(w))"
    assert fig.axes[1].get_ylabel() == ""  # the panels share their y-axis
    assert [ax.get_title() for ax in fig.axes] == ["He", "small"]
    assert all(ax.get_xlabel() == "training step" for ax in fig.axes)
    assert first.get_legend() is None and fig.axes[1].get_legend() is not None  # one legend
    assert fig.get_suptitle() == "two runs"
    assert all(ax.yaxis.get_gridlines()[0].get_visible() for ax in fig.axes)
    plt.close("all")


def test_dashboard_reference_line_only_for_the_update_ratio():
    import matplotlib.pyplot as plt

    assert len(plot_dashboard({"a": _recorded()}, reference=None).axes[0].lines) == 2
    fig = plot_dashboard({"a": _recorded()}, reference=1e-2)
    assert fig.axes[0].lines[-1].get_ydata()[0] == pytest.approx(-2)
    fig = plot_dashboard({"a": _recorded()}, field="activation_std")
    assert len(fig.axes[0].lines) == 2  # no 1e-3 line on the spreads
    assert fig.axes[0].get_ylabel() == "log10 std(pre-activation)"
    assert plot_dashboard({"a": _recorded()}, field="gradient_std").axes[0].get_ylabel() == (
        "log10 std(gradient)")
    assert plot_dashboard({"a": _recorded()}, field="dead").axes[0].get_ylabel() == "log10 dead"
    plt.close("all")


def test_dashboard_x_axis_reaches_the_last_recorded_or_diverged_step():
    import matplotlib.pyplot as plt

    fig = plot_dashboard({"a": _recorded((0, 10, 20)), "b": _recorded((0, 10))})
    assert all(ax.get_xlim() == pytest.approx((-1.0, 21.0)) for ax in fig.axes)
    fig = plot_dashboard({"a": _recorded((0, 10)), "b": _recorded((0, 10))}, diverged={"b": 30})
    assert fig.axes[0].get_xlim() == pytest.approx((-1.5, 31.5))  # the same for every run
    diverged_line = fig.axes[1].lines[-1]
    assert list(diverged_line.get_xdata()) == [30, 30] and diverged_line.get_color() == "red"
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()][-1] == (
        "cost inf/NaN (step 30)")
    assert len(fig.axes[0].lines) == 3  # no red line where the run did not diverge
    fig = plot_dashboard({"a": _recorded((0, 10))}, diverged={"a": None}, last_step=40)
    assert fig.axes[0].get_xlim() == pytest.approx((-2.0, 42.0))
    fig = plot_dashboard({"a": _recorded((0,))})  # only step 0 recorded: still a unit range
    assert fig.axes[0].get_xlim() == pytest.approx((-0.05, 1.05))
    plt.close("all")


def test_dashboard_draws_into_given_axes_untitled():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    assert plot_dashboard({"a": _recorded(), "b": _recorded()}, axes=axes, titles=False) is fig
    assert len(fig.axes) == 2 and [ax.get_title() for ax in axes] == ["", ""]
    plt.close("all")


def test_dashboard_panels_share_one_y_scale_and_whole_step_ticks():
    import matplotlib.pyplot as plt

    tiny = _Recorded((0, 1, 2), {"layer1": [1e-7, 1e-7, 1e-6]})
    fig = plot_dashboard({"a": _recorded(), "tiny": tiny}, diverged={"tiny": 3})
    fig.canvas.draw()
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()  # runs compare at a glance
    fig = plot_dashboard({"tiny": tiny})  # three steps: no tick at step 0.5
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 2 and np.allclose(ticks, np.round(ticks))  # steps are whole numbers
    plt.close("all")
