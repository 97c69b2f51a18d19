import math

import numpy as np
import pytest
import tensorflow as tf

from course_utils.experiments import (
    EXPERIMENTS,
    LN_10,
    get_experiment,
    layer_fans,
    results_table,
    run_experiment,
)
from course_utils.initializers import he_stddev, xavier_limit
from course_utils.network import OUTPUT_NAMES, WEIGHT_SHAPES
from course_utils.stats import std_ratio
from course_utils.training import set_seed


@pytest.fixture(scope="module")
def results(subset):
    steps = {"large": 5, "small": 5, "proper": 60}
    return {key: run_experiment(key, subset, steps[key], seed=0, record_every=20, progress=False)
            for key in EXPERIMENTS}


def test_the_recipes_are_the_posts(subset):
    # The notebooks create the weights in plain sight; the recipes here must give the same tensors.
    set_seed(7)
    visible = [tf.Variable(tf.random.normal(shape) * 0.01) for shape in WEIGHT_SHAPES.values()]
    hidden = EXPERIMENTS["small"].create_weights(seed=7)
    for mine, theirs in zip(visible, hidden.values()):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_proper_weights_follow_he_and_xavier():
    weights = EXPERIMENTS["proper"].create_weights(seed=0)
    for layer, (fan_in, fan_out) in layer_fans().items():
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
    assert large.learning_rate == 1e-7


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
    assert proper.learning_rate == 1e-3


def test_results_table_puts_ours_beside_the_posts(results):
    table = results_table(results.values())
    assert "15083" not in table  # rounded: 1.508e+04
    assert "1.508e+04" in table and "81.88%" in table and "97.29%" in table
    assert len(table.splitlines()) == 2 + 3


def test_json_record(results):
    record = results["small"].as_json()
    assert record["history"][0] == {"step": 0, "cost": pytest.approx(LN_10, abs=1e-3),
                                    "accuracy": pytest.approx(record["history"][0]["accuracy"])}
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
