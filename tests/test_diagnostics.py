import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from course_utils.core.network import CONV_LAYERS, WEIGHT_SHAPES, ConvNet
from course_utils.lab.diagnostics import (
    dead_fractions,
    gradient_report,
    plot_dead_fractions,
    plot_gradient_report,
    update_ratio,
    weight_gradients,
)
from course_utils.lab.experiments import EXPERIMENTS


@pytest.fixture(scope="module")
def batch(subset):
    return subset.train_images[:20], subset.train_labels[:20]


@pytest.fixture(scope="module")
def reports(batch):
    return {key: gradient_report(EXPERIMENTS[key].create_network(0), *batch, learning_rate=1e-3)
            for key in ("large", "small", "proper")}


def test_gradients_match_a_finite_difference(batch):
    network = EXPERIMENTS["proper"].create_network(0)
    gradients = weight_gradients(network, *batch)
    assert list(gradients) == list(WEIGHT_SHAPES)
    gradient = gradients["layer5"].numpy()
    weights = network.weights["layer5"]
    original = weights.numpy()
    index = np.unravel_index(np.argmax(np.abs(gradient)), gradient.shape)

    def cost_with(shift):
        shifted = original.copy()
        shifted[index] += shift
        weights.assign(shifted)
        return float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=batch[1].astype(np.int32), logits=network.logits(batch[0]))))

    numeric = (cost_with(1e-2) - cost_with(-1e-2)) / 2e-2
    assert numeric == pytest.approx(gradient[index], rel=0.05)


@pytest.mark.parametrize("activation, batch_norm", [("tanh", False), ("relu", True)])
def test_gradients_are_those_of_the_networks_own_forward_pass(batch, activation, batch_norm):
    # the compiled gradients must use the network's nonlinearity and its BatchNorm, if any
    network = ConvNet.from_weights(EXPERIMENTS["proper"].create_weights(0), batch_norm=batch_norm,
                                   activation=activation)
    with tf.GradientTape() as tape:
        cost = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=batch[1].astype(np.int32), logits=network.logits(batch[0])))
    expected = tape.gradient(cost, list(network.weights.values()))
    gradients = weight_gradients(network, *batch)
    assert list(gradients) == list(WEIGHT_SHAPES)
    for layer, gradient in zip(WEIGHT_SHAPES, expected, strict=True):
        np.testing.assert_allclose(gradients[layer], gradient, rtol=1e-4, atol=1e-6)


def test_update_ratio_is_lr_times_gradient_std_over_weight_std():
    rng = np.random.default_rng(0)
    gradient, weights = rng.normal(0, 3.0, 1000), rng.normal(5.0, 2.0, 1000)
    expected = 0.1 * np.std(gradient) / np.std(weights)
    assert float(update_ratio(0.1, gradient, weights)) == pytest.approx(expected, rel=1e-5)
    assert float(update_ratio(0.1, gradient, np.ones(4))) == math.inf


def test_report_rows_are_the_spreads_and_the_update_ratio(batch, reports):
    network = EXPERIMENTS["proper"].create_network(0)
    gradients = weight_gradients(network, *batch)
    for layer, row in reports["proper"].items():
        assert row["gradient_std"] == pytest.approx(np.std(gradients[layer]), rel=1e-4)
        assert row["weight_std"] == pytest.approx(np.std(network.weights[layer]), rel=1e-5)
        assert row["update_ratio"] == pytest.approx(
            1e-3 * row["gradient_std"] / row["weight_std"], rel=1e-5)
    assert all(list(report) == list(WEIGHT_SHAPES) for report in reports.values())


def test_small_weights_have_vanishing_gradients(reports):
    # With zero biases the ReLU network is positively homogeneous: scaling all five weight
    # tensors by 0.01 scales each weight gradient by 0.01**4 (times the change in softmax - label).
    for layer in WEIGHT_SHAPES:
        small, large = reports["small"][layer], reports["large"][layer]
        ratio = small["gradient_std"] / large["gradient_std"]
        assert 1e-10 < ratio < 1e-7, layer
        assert small["update_ratio"] < 1e-5 < reports["proper"][layer]["update_ratio"], layer


def _outputs(values_by_layer):
    return {name: values_by_layer.get(name, np.ones((2, 2, 2, 3))) for name in CONV_LAYERS}


def test_dead_fractions_per_channel_and_per_neuron():
    layer = np.ones((2, 2, 2, 3))  # 2 images, 2x2 positions, 3 channels
    layer[..., 0] = -1.0  # channel 0 never fires: dead
    layer[:, 0, 0, 1] = 0.0  # channel 1 at one position is 0 for both images: dead neuron
    layer[0, 1, 1, 2] = -5.0  # channel 2 fires on image 1 at that position: alive
    fractions = dead_fractions(_outputs({"layer2_conv": layer}), unit="channel")
    assert fractions["layer2_conv"] == pytest.approx(1 / 3)
    assert fractions["layer1_conv"] == 0.0
    neurons = dead_fractions(_outputs({"layer2_conv": layer}), unit="neuron")
    assert neurons["layer2_conv"] == pytest.approx((4 + 1) / 12)


def test_zero_counts_as_not_firing_and_nonfinite_gives_nan():
    fractions = dead_fractions(_outputs({"layer1_conv": np.zeros((2, 2, 2, 3)),
                                         "layer3_conv": np.full((2, 2, 2, 3), np.nan)}))
    assert fractions["layer1_conv"] == 1.0
    assert math.isnan(fractions["layer3_conv"])


def test_blank_borders_are_dead_neurons_but_no_filter_is_dead(subset):
    outputs = EXPERIMENTS["proper"].create_network(0).outputs(subset.test_images[:50])
    channels, neurons = dead_fractions(outputs, "channel"), dead_fractions(outputs, "neuron")
    assert channels["layer1_conv"] < 0.1
    assert neurons["layer1_conv"] > 0.1  # MNIST's corners are blank in every image


def test_bad_unit_and_shape_raise():
    with pytest.raises(ValueError, match="unknown unit .*choose one of"):
        dead_fractions(_outputs({}), unit="filter")
    with pytest.raises(ValueError, match="must have shape"):
        dead_fractions(_outputs({"layer4_conv": np.ones((2, 3))}))


def test_plots(reports):
    fig = plot_gradient_report({key: report for key, report in reports.items()})
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 3
    plt.close(fig)
    fig = plot_dead_fractions({"a": dict.fromkeys(CONV_LAYERS, 0.5),
                               "b": dict.fromkeys(CONV_LAYERS, 0.0)})
    heights = sorted(patch.get_height() for patch in fig.axes[0].patches)
    assert heights == [0.0] * 4 + [50.0] * 4
    # each layer's label sits under the middle of its group of two bars (0.4 wide each)
    centres = [patch.get_x() + patch.get_width() for patch in fig.axes[0].patches[:4]]
    np.testing.assert_allclose(fig.axes[0].get_xticks(), centres)
    plt.close(fig)


def _report(scale):
    return {layer: {"update_ratio": scale * 10.0 ** -i, "gradient_std": scale * (i + 1),
                    "weight_std": 1.0} for i, layer in enumerate(WEIGHT_SHAPES)}


def test_gradient_report_plot_draws_the_chosen_field_per_layer():
    fig = plot_gradient_report({"a": _report(1.0), "b": _report(2.0)})
    ax = fig.axes[0]
    assert list(ax.lines[0].get_xdata()) == list(WEIGHT_SHAPES)
    assert ax.lines[1].get_ydata() == pytest.approx([2.0 * 10.0 ** -i for i in range(5)])
    assert ax.get_xlabel() == "weight tensor"
    assert ax.get_ylabel() == "update ratio (log scale)" and ax.get_title() == "update ratio"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.yaxis.get_gridlines()[0].get_visible()  # decades are easy to read off
    plt.close(fig)
    fig = plot_gradient_report({"a": _report(1.0)}, field="gradient_std", title="mine")
    ax = fig.axes[0]
    assert ax.lines[0].get_ydata() == pytest.approx([1, 2, 3, 4, 5])
    assert ax.get_ylabel() == "gradient std (log scale)" and ax.get_title() == "mine"
    plt.close(fig)


def test_dead_fraction_bars_are_percentages_grouped_under_their_layer():
    fig = plot_dead_fractions({"only": {"layer1_conv": 0.25, "layer2_conv": 1.0,
                                        "layer3_conv": 0.0, "layer4_conv": 0.5}})
    ax = fig.axes[0]
    assert [patch.get_height() for patch in ax.patches] == [25.0, 100.0, 0.0, 50.0]
    assert all(patch.get_width() == pytest.approx(0.8) for patch in ax.patches)
    np.testing.assert_allclose(ax.get_xticks(), range(4))  # one bar: centred on its tick
    assert [label.get_text() for label in ax.get_xticklabels()] == list(CONV_LAYERS)
    assert ax.get_ylim() == (0, 100) and ax.get_ylabel() == "dead units (%)"
    assert ax.get_title() == "Units that never fire"
    plt.close(fig)
    runs = {name: dict.fromkeys(CONV_LAYERS, 0.1) for name in "abcd"}
    fig = plot_dead_fractions(runs, title="four runs")
    ax = fig.axes[0]
    assert all(patch.get_width() == pytest.approx(0.2) for patch in ax.patches)  # 0.8 / 4
    assert ax.get_title() == "four runs"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list("abcd")
    # the fourth run's bars sit three widths to the right of the first run's
    assert ax.patches[12].get_x() - ax.patches[0].get_x() == pytest.approx(0.6)
    plt.close(fig)
