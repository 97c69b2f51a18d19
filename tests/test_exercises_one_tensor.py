"""Notebook 1's one-tensor check, case by case, on made-up runs (no training).

test_exercises_large_weights.py trains the real runs; here the run is replaced by given costs, so
that each rule of the check is tried just inside and just outside its limit: a first cost of at
most 2 ln 10, no cost above 10 after step 0, a mean of the last 5 costs below 1.4.
"""

import math

import numpy as np
import pytest

from course_utils.lab.experiments import EXPERIMENTS
from course_utils.learner.exercises import check_one_tensor_scale, one_tensor

LN10 = math.log(10)
DATA = object()  # stands for the digits: the made-up run never looks at them


@pytest.fixture
def run(monkeypatch):
    """``run(first, costs, accuracies=None, diverged_at=None, **check_arguments)``: the check's
    Feedback for a run with that first cost and those per-step costs; ``run.calls`` records what
    the check built and trained."""
    calls = {}

    def network(layer, scale, seed):
        calls["network"] = (layer, scale, seed)
        return "network"

    def check(first, costs, accuracies=None, diverged_at=None, scales=None, **arguments):
        accuracies = [0.5] * len(costs) if accuracies is None else accuracies

        def first_cost(net, data):
            calls["first_data"] = data
            return first

        def train(net, data, learning_rate):
            calls["train"] = (net, data, learning_rate)
            return costs, accuracies, diverged_at

        monkeypatch.setattr(one_tensor, "_one_tensor_network", network)
        monkeypatch.setattr(one_tensor, "_first_cost", first_cost)
        monkeypatch.setattr(one_tensor, "_train_one_tensor", train)
        arguments.setdefault("learning_rate", 1e-10)
        arguments.setdefault("data", DATA)
        return check_one_tensor_scale({"layer4": 1e-6} if scales is None else scales, **arguments)

    check.calls = calls
    return check


def _costs(first=2.3, last=(0.9,) * 5, middle=1.5, spike=None, at=3, steps=30):
    costs = [first] + [middle] * (steps - 1 - len(last)) + list(last)
    if spike is not None:
        costs[at] = spike
    return costs


def test_a_good_run_passes_and_quotes_the_last_five_steps(run):
    costs = _costs(last=(0.5, 0.7, 0.9, 1.1, 1.3))  # mean 0.9; with the 1.5 before it, 1.0
    accuracies = [0.0] * 24 + [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]  # last 5: 80 %; last 6: 75 %
    feedback = run(2.3, costs, accuracies)
    assert feedback.passed, feedback
    assert "from 2.3 (ln 10 = 2.30) to 0.9 in 30 steps" in feedback.message
    assert f"batch accuracy {100 * np.mean(accuracies[-5:]):.0f} %" in feedback.message  # 80
    assert "layer4 x 1e-06 at learning rate 1e-10" in feedback.message


@pytest.mark.parametrize("first, passes", [
    (0.5 * LN10, True), (1.9 * LN10, True), (2 * LN10, True),  # "about ln 10": up to twice it
    (2.01 * LN10, False), (3 * LN10, False), (math.inf, False), (math.nan, False),
])
def test_the_first_cost_must_be_at_most_twice_ln_10(run, first, passes):
    feedback = run(first, _costs(first=min(first, 4.0)))
    assert feedback.passed is passes, (first, feedback)
    if not passes:
        assert "the first cost is still" in feedback.message
        assert "not small enough" in feedback.message and "train" not in run.calls


@pytest.mark.parametrize("spike, passes", [(6.0, True), (9.9, True), (10.0, True),
                                           (10.1, False), (50.0, False)])
def test_no_cost_after_step_0_may_pass_10(run, spike, passes):
    feedback = run(2.3, _costs(spike=spike))
    assert feedback.passed is passes, (spike, feedback)
    if not passes:
        assert f"at step 3 the cost jumped to {spike:.3g}" in feedback.message


def test_a_jump_at_step_1_counts_and_step_0_is_the_first_cost(run):
    feedback = run(2.3, _costs(spike=11.0, at=1))
    assert not feedback.passed and "at step 1 the cost jumped to 11" in feedback.message
    # step 0's cost is the first cost (checked against 2 ln 10), never a jump
    assert run(2.3, _costs(first=4.0)).passed


@pytest.mark.parametrize("last, passes", [(1.39, True), (1.4, False), (1.41, False)])
def test_the_mean_of_the_last_five_costs_must_be_below_1_4(run, last, passes):
    feedback = run(2.3, _costs(last=(last,) * 5, middle=2.0))
    assert feedback.passed is passes, (last, feedback)
    if not passes:
        assert "learns too slowly" in feedback.message and "still above 1.4" in feedback.message


def test_a_slow_run_that_also_climbed_is_told_it_overshoots(run):
    # above the target at the end, and a peak more than 1 above the first cost: overshooting
    feedback = run(2.3, _costs(last=(1.5,) * 5, spike=3.5))
    assert not feedback.passed and "the steps overshoot for this tensor" in feedback.message
    assert "up to 3.5 (step 3)" in feedback.message
    # a peak less than 1 above the first cost is not an overshoot: the run is slow
    feedback = run(2.3, _costs(last=(1.5,) * 5, spike=3.2))
    assert not feedback.passed and "learns too slowly" in feedback.message
    # a peak below the spike limit does not spoil a run that ends below the target
    assert run(2.3, _costs(spike=8.0)).passed


def test_a_cost_that_ends_above_where_it_started_rose(run):
    feedback = run(2.0, _costs(first=2.0, last=(2.2,) * 5, middle=2.1))
    assert not feedback.passed
    assert "the cost rose from 2 to 2.2" in feedback.message and "peaking at" in feedback.message


def test_a_run_that_diverged_says_at_which_step(run):
    feedback = run(2.3, _costs(), diverged_at=7)
    assert not feedback.passed
    assert "went to NaN or inf at step 7" in feedback.message


@pytest.mark.parametrize("rate", [0, 0.0, -1e-7, None, "1e-7", math.nan])
def test_a_learning_rate_that_is_not_positive_is_refused_before_training(run, rate):
    feedback = run(2.3, _costs(), learning_rate=rate)
    assert not feedback.passed and "learning rate must be a positive number" in feedback.message
    assert "train" not in run.calls


@pytest.mark.parametrize("scale", [0, 0.0, -1e-6, "1e-6", None])
def test_a_scale_that_is_not_positive_is_refused(run, scale):
    feedback = run(2.3, _costs(), scales={"layer4": scale})
    assert not feedback.passed and "A scale must be a positive number" in feedback.message
    assert "network" not in run.calls


def test_by_default_the_check_trains_notebook_1s_seed_0_draws_at_its_rate(run, subset):
    run(2.3, _costs())  # made-up runs from here on
    assert check_one_tensor_scale({"layer4": 1e-6}).passed  # no rate, seed or data given
    assert run.calls["network"] == ("layer4", 1e-6, 0)
    _net, data, rate = run.calls["train"]
    assert rate == EXPERIMENTS["large"].learning_rate  # notebook 1's rate
    assert data is run.calls["first_data"]
    np.testing.assert_array_equal(data.train_images, subset.train_images)  # split with seed 0
    assert check_one_tensor_scale({"layer4": 1e-6}, seed=3, data=DATA).passed
    assert run.calls["network"] == ("layer4", 1e-6, 3) and run.calls["first_data"] is DATA


def test_the_first_cost_is_the_cost_of_step_0s_batch(subset):
    from course_utils.core.training import train

    network = one_tensor._one_tensor_network("layer4", 1e-6, 0)
    expected = EXPERIMENTS["large"].create_weights(0)
    for layer, weights in network.weights.items():
        factor = 1e-6 if layer == "layer4" else 1.0
        np.testing.assert_allclose(weights.numpy(), factor * expected[layer].numpy(), rtol=1e-6)
    first = one_tensor._first_cost(network, subset)
    history = train(network, subset.train_images, subset.train_labels, 1e-10, 1,
                    record_every=1, progress=False)
    assert first == pytest.approx(history.costs[0], rel=1e-5)


def test_the_check_records_every_one_of_its_30_steps_quietly(monkeypatch, capfd):
    from course_utils.core import training

    seen = {}

    def fake_train(network, images, labels, learning_rate, steps, **options):
        seen.update(options, steps=steps, learning_rate=learning_rate)
        return training.History(steps=list(range(steps)), costs=[2.3] * steps,
                                accuracies=[0.1] * steps)

    monkeypatch.setattr(training, "train", fake_train)
    capfd.readouterr()
    data = type("Data", (), {"train_images": None, "train_labels": None})()
    costs, accuracies, diverged = one_tensor._train_one_tensor("network", data, 1e-10)
    assert seen["steps"] == 30 and seen["record_every"] == 1 and seen["progress"] is False
    assert len(costs) == len(accuracies) == 30 and diverged is None
