"""Seed sweeps: the evidence behind notebooks 6 to 8's comparisons, and its saved data."""

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.core.data import load_mnist
from course_utils.core.initializers import fan_in_fan_out
from course_utils.core.stats import activation_stats, std_ratio
from course_utils.lab.seeds import SeedSweep, plot_seed_sweep, run_seed_sweep
from course_utils.lab.sweeps import DATA_DIR, SEEDS, SWEEPS, load_sweep, run_sweep

NAN = math.nan


def _sweep(accuracy, rates=(1e-3, 1e-2, 1e-1)):
    """A made-up sweep of one recipe: ``accuracy`` is (rates, seeds)."""
    accuracy = np.array([accuracy], dtype=float)
    outcome = np.where(np.isnan(accuracy), "diverged", "learns").astype(object)
    return SeedSweep("made_up", "Which rate?", ("A",), rates, (0, 1, 2), 10, accuracy,
                     1 - accuracy, outcome, {"dead": np.zeros_like(accuracy)})


def test_the_best_rate_has_the_best_median_and_no_diverged_seed():
    # 1e-1 has the best runs, but a seed diverged there; 1e-2 has the best single run among
    # the others, 1e-3 the best median
    sweep = _sweep([[0.5, 0.6, 0.7], [0.9, 0.4, 0.55], [0.99, NAN, 0.99]])
    assert sweep.best_rate("A") == 1e-3
    assert sweep.spread_at("A") == (0.5, 0.7)
    assert sweep.spread_at("A", 1e-2) == (0.4, 0.9)
    assert sweep.spread_at("A", 1e-2, "cost") == pytest.approx((0.1, 0.6))


def test_a_tie_picks_the_lower_rate_and_a_recipe_that_always_diverged_has_none():
    assert _sweep([[0.5] * 3, [0.5] * 3, [0.1] * 3]).best_rate("A") == 1e-3
    assert _sweep([[NAN, 0.5, 0.5]] * 3).best_rate("A") is None
    assert "a seed diverged at every rate" in _sweep([[NAN, 0.5, 0.5]] * 3).summary()


def test_the_learning_rates_of_one_seed_keep_their_gaps():
    sweep = _sweep([[0.5, 0.6, 0.7], [0.9, 0.4, 0.55], [0.99, NAN, 0.99]])
    sweep.outcome[0, 0, 1] = "learns little"
    sweep.outcome[0, 1, 0] = "overconfident"
    assert sweep.learning_rates("A", 0) == (1e-3, 1e-1)  # not 1e-2 between them
    assert sweep.learning_rates("A", 1) == (1e-2,)
    sweep.outcome[0, :, 2] = "at chance"
    assert sweep.learning_rates("A", 2) == ()


def test_a_sweep_survives_json_with_its_nans_outcomes_and_measures(tmp_path):
    sweep = _sweep([[0.5, 0.6, 0.7], [0.8, 0.4, 0.75], [0.99, NAN, 0.99]])
    sweep.save(tmp_path / "made_up.json")  # the file a sweep's data lives in, read back
    text = (tmp_path / "made_up.json").read_text()
    assert text.endswith("}\n") and "NaN" not in text  # strict JSON, NaN written as null
    back = SeedSweep.from_json(json.loads(text))
    np.testing.assert_array_equal(back.accuracy, sweep.accuracy)  # NaN where NaN
    assert back.outcome[0, 2, 1] == "diverged" and back.rates == sweep.rates
    assert back.values("dead", "A", 1e-2).tolist() == [0.0, 0.0, 0.0]
    assert back.summary() == sweep.summary()


def test_the_picture_shows_every_recipe_and_its_axes():
    sweep = _sweep([[0.5, 0.6, 0.7], [0.8, 0.4, 0.75], [0.99, NAN, 0.99]])
    figure = plot_seed_sweep(sweep)
    ax = figure.axes[0]
    assert ax.get_xlabel() == "learning rate" and ax.get_ylabel() == "test accuracy (%)"
    assert ax.get_xscale() == "log"
    assert [text.get_text() for text in ax.get_legend().get_texts()][0] == "A"
    median = ax.lines[0].get_ydata()
    np.testing.assert_allclose(median, [60, 75, 99])  # 1e-1: the seeds that did not diverge
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [0.1])  # x marks where a seed diverged
    plt.close(figure)
    two = SeedSweep.from_json({**sweep.as_json(), "rows": ["A", "B"],
                               **{what: sweep.as_json()[what] * 2
                                  for what in ("accuracy", "cost", "outcome")}})
    legend = plot_seed_sweep(two, rows=["B"]).axes[0].get_legend().get_texts()
    assert [text.get_text() for text in legend] == ["B", "x: a seed diverged", "a guess: 10 %"]
    assert "\nB " in two.summary(rows=["B"]) and "\nA " not in two.summary(rows=["B"])
    plt.close("all")


def test_each_seed_trains_on_its_own_draw_and_data():
    rows = {"He + Xavier": SWEEPS["defaults"].rows["He + Xavier"]}
    sweep = run_seed_sweep("tiny", "?", rows, (1e-2,), (0, 1), 2, progress=False)
    assert sweep.accuracy.shape == (1, 1, 2)
    first, second = sweep.values("accuracy", "He + Xavier", 1e-2)
    assert first != second


def test_the_starts_rows_build_the_networks_their_names_say():
    data = load_mnist("subset", seed=0)
    images = data.test_images[:100]
    rows = SWEEPS["starts"].rows
    build, _ = rows["global scale"](data, 0)
    scaled = build()
    # one factor for every layer, chosen so that layer4_conv's spread equals layer1_conv's
    assert std_ratio(activation_stats(scaled.outputs(images))) == pytest.approx(1, rel=0.01)
    assert scaled.weights["layer1"].numpy().std() < 0.2  # N(0, 1) times about 0.05
    build, _ = rows["constant"](data, 0)
    for weights in build().weights.values():
        np.testing.assert_allclose(weights.numpy(), 1 / fan_in_fan_out(weights.shape)[0])
    build, standardized = rows["He + Xavier, standardized pixels"](data, 0)
    assert abs(float(standardized.train_images.mean())) < 1e-3
    assert float(standardized.train_images.std()) == pytest.approx(1, rel=1e-3)


def test_clear_errors():
    with pytest.raises(ValueError, match="no sweep called 'nope'; the sweeps are defaults"):
        run_sweep("nope")
    with pytest.raises(FileNotFoundError, match="python -m course_utils sweep nope"):
        load_sweep("nope")


@pytest.mark.parametrize("name", SWEEPS)
def test_the_saved_sweeps_are_the_ones_defined(name):
    saved, defined = load_sweep(name), SWEEPS[name]
    assert (saved.question, saved.rows, saved.rates, saved.steps, saved.seeds) == (
        defined.question, tuple(defined.rows), tuple(defined.rates), defined.steps, SEEDS)
    assert (DATA_DIR / f"{name}.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name, row, rate", [
    ("defaults", "He + Xavier", 1e-2),
    ("dead_filters", "N(0, 1) x 0.01", 1e-1),
    ("batchnorm", "N(0, 1) x 0.01 + BN", 1e-3),
])
def test_a_part_of_each_saved_sweep_runs_again_to_the_same_result(name, row, rate):
    # the first seed of one cell, re-run now; float kernels differ between CPUs, so the
    # accuracy may move by a few test images, and the outcome must not change
    again = run_sweep(name, seeds=SEEDS[:1], rows=(row,), rates=(rate,), progress=False)
    saved = load_sweep(name)
    assert again.values("outcome", row, rate)[0] == saved.values("outcome", row, rate)[0]
    assert again.values("accuracy", row, rate)[0] == pytest.approx(
        saved.values("accuracy", row, rate)[0], abs=0.02)
    for measure, values in again.measures.items():
        assert values[0, 0, 0] == pytest.approx(saved.values(measure, row, rate)[0], abs=0.05)


def test_the_summary_gives_each_recipe_its_best_rate_and_ranges_there():
    sweep = _sweep([[0.5, 0.6, 0.7], [0.9, 0.4, 0.55], [0.99, NAN, 0.99]])
    title, settings, header, row = sweep.summary().split("\n")
    assert title == "Which rate?"
    assert settings == "3 seeds, 10 steps, rates 0.001, 0.01, 0.1"
    assert header.split() == ["recipe", "best", "rate", "test", "accuracy", "test", "cost"]
    # at 1e-3 the accuracies run from 0.5 to 0.7, so the costs (1 - accuracy) from 0.3 to 0.5
    assert row.split() == ["A", "0.001", "50", "..", "70", "%", "0.3", "..", "0.5"]


def test_the_picture_keeps_recipes_apart_and_draws_each_seed_range():
    sweep = _sweep([[0.5, 0.6, 0.7], [0.8, 0.4, 0.75], [0.99, NAN, 0.99]])
    two = SeedSweep.from_json({**sweep.as_json(), "rows": ["A", "B"],
                               **{what: sweep.as_json()[what] * 2
                                  for what in ("accuracy", "cost", "outcome")}})
    ax = plot_seed_sweep(two).axes[0]
    medians = [line for line in ax.lines if line.get_label() in ("A", "B")]
    rates = np.array(two.rates)
    # the first recipe's points sit a little left of each rate, the second's a little right
    assert np.all(medians[0].get_xdata() < rates) and np.all(medians[1].get_xdata() > rates)
    np.testing.assert_allclose(medians[0].get_xdata() * medians[1].get_xdata(), rates**2)
    # a bar per rate from the lowest to the highest seed that ran; 1e-1 ignores its NaN seed
    bars = ax.collections[0].get_segments()
    np.testing.assert_allclose([(bar[0][1], bar[1][1]) for bar in bars],
                               [(50, 70), (40, 80), (99, 99)])
    # a ring at the best rate (1e-2: best median among the rates where no seed diverged)
    ring = [line for line in ax.lines if line.get_marker() == "o"
            and line.get_markerfacecolor() == "none"][0]
    assert ring.get_xdata()[0] == pytest.approx(medians[0].get_xdata()[1])
    assert ring.get_ydata()[0] == pytest.approx(75)
    guess = [line for line in ax.lines if line.get_label() == "a guess: 10 %"][0]
    assert set(guess.get_ydata()) == {10}  # chance for ten digits
    diverged = [line for line in ax.lines if line.get_marker() == "x" and len(line.get_xdata())]
    assert all(0 < y < 10 for line in diverged for y in line.get_ydata())  # below chance
    assert ax.yaxis.get_gridlines()[0].get_visible()
    plt.close("all")


def test_measures_are_kept_for_the_runs_that_did_not_diverge():
    rows = {"N(0, 1)": SWEEPS["batchnorm"].rows["N(0, 1)"]}
    calls = []

    def measure(network, data):
        calls.append(network)
        return {"first weight": float(network.weights["layer1"].numpy().flat[0])}

    # N(0, 1) at a rate of 1e3 blows up within a few steps; at 1e-9 it barely moves
    sweep = run_seed_sweep("tiny", "?", rows, (1e-9, 1e3), (0,), 3, measure=measure,
                           progress=False)
    assert sweep.values("outcome", "N(0, 1)", 1e3)[0] == "diverged"
    assert sweep.values("outcome", "N(0, 1)", 1e-9)[0] != "diverged"
    kept = sweep.values("first weight", "N(0, 1)", 1e-9)[0]
    assert len(calls) == 1 and kept == float(calls[0].weights["layer1"].numpy().flat[0])
    assert math.isnan(sweep.values("first weight", "N(0, 1)", 1e3)[0])


def test_a_sweep_run_shows_its_progress_and_keeps_its_measure(capsys):
    sweep = run_sweep("dead_filters", seeds=(0,), rows=("He + Xavier",), rates=(1e-3,))
    assert "row" in capsys.readouterr().err  # the progress bar, by default
    assert set(sweep.measures) == {f"dead {layer}" for layer in
                                   ("layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv")}
    assert sweep.rows == ("He + Xavier",) and sweep.steps == SWEEPS["dead_filters"].steps


def test_the_lsuv_row_starts_every_layer_at_unit_spread_on_its_own_seed():
    data = load_mnist("subset", seed=0)
    build, same_data = SWEEPS["batchnorm"].rows["LSUV"](data, 0)
    assert same_data is data
    stats = activation_stats(build().outputs(data.train_images[:100]))
    for output in ("layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv", "logits"):
        assert stats[output]["std"] == pytest.approx(1, abs=0.02)
    other, _ = SWEEPS["batchnorm"].rows["LSUV"](data, 1)
    assert not np.allclose(build().weights["layer1"].numpy(), other().weights["layer1"].numpy())


@pytest.mark.parametrize("row, keras_initializer", [
    ("Keras default", "GlorotUniform"),  # Keras's Conv2D and Dense
    ("PyTorch default", None),  # kaiming_uniform_ with a = sqrt(5): std = 1 / sqrt(3 fan_in)
])
def test_the_defaults_rows_draw_the_frameworks_spreads(row, keras_initializer):
    import tensorflow as tf

    build, _ = SWEEPS["defaults"].rows[row](load_mnist("subset", seed=0), 0)
    for layer, weights in build().weights.items():
        if keras_initializer:
            expected = float(np.std(getattr(tf.keras.initializers, keras_initializer)(seed=1)(
                weights.shape)))
        else:
            expected = 1 / math.sqrt(3 * fan_in_fan_out(weights.shape)[0])
        assert float(np.std(weights.numpy())) == pytest.approx(expected, rel=0.1), layer


def test_the_batchnorm_sweeps_rows_normalize_exactly_where_their_labels_say():
    data = load_mnist("subset", seed=0)
    for label, build in SWEEPS["batchnorm"].rows.items():
        network_builder, _ = build(data, 0)
        assert network_builder().batch_norm == label.endswith("+ BN"), label


def test_the_normal_conv_xavier_last_row_keeps_n01_convs_and_a_xavier_logits_layer():
    build, _ = SWEEPS["batchnorm"].rows["N(0, 1) conv, Xavier last + BN"](
        load_mnist("subset", seed=0), 0)
    weights = {layer: values.numpy() for layer, values in build().weights.items()}
    for layer in ("layer1", "layer2", "layer3", "layer4"):
        assert weights[layer].std() == pytest.approx(1, rel=0.1), layer
    fan_in, fan_out = fan_in_fan_out(weights["layer5"].shape)
    assert weights["layer5"].std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.05)
