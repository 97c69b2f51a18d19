import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from course_utils.core.initializers import fan_in_fan_out, he_stddev, xavier_limit
from course_utils.core.network import OUTPUT_NAMES, WEIGHT_SHAPES
from course_utils.core.stats import std_ratio
from course_utils.core.training import evaluate, set_seed
from course_utils.lab.experiments import (
    EXPERIMENTS,
    get_experiment,
    results_table,
    run_experiment,
)

LN_10 = math.log(10)  # the cost of a network that says 0.1 for every digit


@pytest.fixture(scope="module")
def results(subset):
    steps = {"large": 5, "small": 5, "proper": 60}
    return {key: run_experiment(key, subset, steps[key], seed=0, record_every=20, progress=False)
            for key in EXPERIMENTS}


@pytest.mark.parametrize("seed", [0, 7])
def test_the_notebooks_recipes_give_the_tables_weights(seed):
    # Notebooks 01-03 draw these in plain sight and compare them with create_weights.
    shapes = list(WEIGHT_SHAPES.values())
    set_seed(seed)
    large = [tf.random.normal(shape) for shape in shapes]
    set_seed(seed)
    small = [tf.random.normal(shape) * 0.01 for shape in shapes]
    set_seed(seed)
    proper = [tf.keras.initializers.HeNormal(seed=seed + n)(shape)
              for n, shape in enumerate(shapes[:4], start=1)]
    proper.append(tf.keras.initializers.GlorotUniform(seed=seed + 5)(shapes[4]))
    for key, visible in (("large", large), ("small", small), ("proper", proper)):
        hidden = EXPERIMENTS[key].create_weights(seed)
        for mine, theirs in zip(visible, hidden.values(), strict=True):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=key)


def test_creating_weights_does_not_switch_on_op_determinism():
    import subprocess
    import sys

    code = ("from tensorflow.python.framework import config\n"
            "from course_utils.lab.experiments import EXPERIMENTS\n"
            "for experiment in EXPERIMENTS.values():\n"
            "    experiment.create_network(0)\n"
            "print(config.is_op_determinism_enabled())\n"
            "from course_utils.core.training import set_seed\n"
            "set_seed(0)\n"
            "print(config.is_op_determinism_enabled())\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert run.stdout.split() == ["False", "True"]  # only the explicit step switches it on


def test_proper_weights_follow_he_and_xavier():
    weights = EXPERIMENTS["proper"].create_weights(seed=0)
    for layer, shape in WEIGHT_SHAPES.items():
        fan_in, fan_out = fan_in_fan_out(shape)
        values = weights[layer].numpy()
        if layer == "layer5":
            assert np.abs(values).max() <= xavier_limit(fan_in, fan_out)
            assert values.std() == pytest.approx(xavier_limit(fan_in, fan_out) / math.sqrt(3),
                                                 rel=0.05)
        else:
            tolerance = 0.15 if fan_in == 9 else 0.03  # layer1 has only 576 weights
            assert values.std() == pytest.approx(he_stddev(fan_in), rel=tolerance)


def test_large_weights_explode(results):
    large = results["large"]
    assert large.test_cost > 100
    assert std_ratio(large.activations) > 100
    assert max(-large.activations["logits"]["min"], large.activations["logits"]["max"]) > 1000
    assert large.activations["predictions"]["p5"] < 1e-6  # over-confident rows of 0 ...
    assert large.activations["predictions"]["max"] > 0.999  # ... and 1
    # The post's tiny learning rate keeps training finite (at 1e-3 the cost is NaN by step 4).
    assert large.history.diverged_at is None and all(map(math.isfinite, large.history.costs))


def test_small_weights_vanish_and_cost_ln_10(results):
    small = results["small"]
    assert round(small.test_cost, 4) == round(LN_10, 4) == 2.3026
    assert std_ratio(small.activations) < 0.02
    assert max(-small.activations["logits"]["min"], small.activations["logits"]["max"]) < 0.01
    assert small.activations["predictions"]["min"] > 0.0999
    assert small.activations["predictions"]["max"] < 0.1001


def test_proper_initialization_learns(results):
    proper = results["proper"]
    assert proper.test_accuracy > 0.5  # chance is 0.1
    assert 0.1 < std_ratio(proper.activations) < 10
    assert proper.history.costs[-1] < proper.history.costs[0]


def test_each_experiment_trains_at_its_own_learning_rate_by_default(results):
    for key, result in results.items():
        rate = EXPERIMENTS[key].learning_rate
        assert result.learning_rate == result.history.learning_rate == rate, key


def test_results_table_puts_ours_beside_the_posts(results):
    table = results_table(results.values())
    assert "15083" not in table  # rounded: 1.508e+04
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    for result in results.values():
        (row,) = [line for line in lines if line.startswith(result.experiment.title)]
        ours = [f"{result.test_cost:.4g}", f"{100 * result.test_accuracy:.2f}%"]
        post = [f"{result.experiment.post_test_cost:.4g}",
                f"{100 * result.experiment.post_test_accuracy:.2f}%"]
        assert all(cell in row.split() for cell in ours + post), row


def test_json_record(results, subset):
    record = results["small"].as_json()
    # Step 0 is recorded before the first update: the untrained network on the first batch.
    cost, accuracy = evaluate(EXPERIMENTS["small"].create_network(0),
                              subset.train_images[:100], subset.train_labels[:100])
    assert record["history"][0] == {"step": 0, "cost": pytest.approx(cost, rel=1e-5),
                                    "accuracy": pytest.approx(accuracy)}
    assert record["history"][0]["cost"] == pytest.approx(LN_10, abs=1e-3)
    assert [point["step"] for point in record["history"]] == [0]  # 5 steps, every 20th
    assert record["test_cost"] == pytest.approx(results["small"].test_cost)
    assert record["post_test_accuracy"] == EXPERIMENTS["small"].post_test_accuracy
    assert record["diverged_at"] is None
    assert record["learning_rate"] == results["small"].history.learning_rate
    assert set(record["activations"]) == {"layer1_conv", "layer2_conv", "layer3_conv",
                                          "layer4_conv", "logits", "predictions"}


def test_learning_rate_can_be_overridden(subset):
    result = run_experiment("small", subset, 1, learning_rate=0.5, progress=False,
                            keep_outputs=False)
    assert result.learning_rate == 0.5 and result.history.learning_rate == 0.5
    assert result.outputs is None  # not kept: only the statistics
    assert set(result.activations) == set(OUTPUT_NAMES)


def test_unknown_experiment():
    with pytest.raises(ValueError, match="unknown experiment 'medium'"):
        get_experiment("medium")


def test_an_experiment_needs_one_scheme_per_layer():
    four_layers = dataclasses.replace(EXPERIMENTS["proper"],
                                      schemes=EXPERIMENTS["proper"].schemes[:4])
    with pytest.raises(ValueError):
        dict(four_layers.layers)  # five weight tensors, four schemes: refused, not cut short


def test_progress_bar_is_shown_by_default(subset, capfd):
    run_experiment("small", subset, 3, keep_outputs=False)
    assert "3/3" in capfd.readouterr().err  # reproduce's learner sees the steps go by

