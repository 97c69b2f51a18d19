"""The playground's defaults and the reach of its sliders (notebook 5's widgets).

test_playground.py drives the state and test_widgets.py the view; here: what a playground built
with no arguments shows, that every slider can reach its own ends and the presets' values, and
that the train controls hand their values to the state.
"""

import math

import numpy as np
import pytest

from course_utils.core.training import History
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.views.playground import PRESETS, Playground, PlaygroundState


@pytest.fixture(scope="module")
def shared(subset):
    """One playground for the tests that leave it as they found it."""
    return Playground(data=subset, batch_size=8)


def _stop(slider, value):
    """Where ``value`` falls on ``slider``, counted in steps from its low end (a whole number
    when the slider can be dragged onto it exactly)."""
    position = math.log(value, slider.base) if hasattr(slider, "base") else value
    return (position - slider.min) / slider.step


def _is_a_stop(slider, value):
    stop = _stop(slider, value)
    return stop >= -1e-9 and abs(stop - round(stop)) < 1e-6


def test_a_state_without_arguments_is_notebook_5s_seed_0_batch_of_32(subset):
    state = PlaygroundState(data=subset)  # notebook 5: SEED = 0, BATCH_SIZE = 32, He + Xavier
    assert state.seed == 0 and state.layers == PRESETS["proper"]
    np.testing.assert_array_equal(state.images.numpy(), subset.test_images[:32])
    for layer, weights in EXPERIMENTS["proper"].create_weights(0).items():
        np.testing.assert_array_equal(state.weights()[layer], weights.numpy(), err_msg=layer)
    assert state.learning_rate == EXPERIMENTS["proper"].learning_rate


def test_a_new_playground_draws_once(shared):
    # the controls are set from the state quietly: building it is one redraw, not one per control
    assert shared.redraw_count == 1
    assert bytes(shared.histogram_image.value).startswith(b"\x89PNG")


def test_the_scale_sliders_reach_exactly_the_scales_set_layer_accepts(subset):
    playground = Playground(data=subset, batch_size=8)
    slider = playground.controls["layer2"]["scale"]
    low, high = slider.base ** slider.min, slider.base ** slider.max
    assert low <= 1e-3 and high >= 10  # notebook 5 asks for layer2 x 10
    for end, beyond in ((low, low / 1.01), (high, high * 1.01)):
        assert playground.set_layer("layer2", scale=beyond) is False, beyond
        assert "outside the slider&#x27;s range" in playground.message.value
        assert playground.set_layer("layer2", scale=end) is True, end
        assert playground.state.layers["layer2"][1] == end == slider.value


def test_every_slider_can_be_dragged_onto_its_ends_and_the_presets_values(shared):
    sliders = [control["scale"] for control in shared.controls.values()]
    for slider in sliders:
        ends = (slider.base ** slider.min, slider.base ** slider.max)
        assert all(_is_a_stop(slider, end) for end in ends), (slider.description, ends)
        for preset in PRESETS.values():
            for _scheme, scale in preset.values():
                assert _is_a_stop(slider, scale), scale
    rate = shared.training.learning_rate
    assert _is_a_stop(rate, rate.base ** rate.max)
    for experiment in EXPERIMENTS.values():
        assert _is_a_stop(rate, experiment.learning_rate), experiment.learning_rate
    steps = shared.training.steps
    assert steps.min >= 1
    assert all(_is_a_stop(steps, value) for value in (steps.value, steps.max)), steps


def test_showing_the_states_rate_does_not_change_it(subset):
    playground = Playground(data=subset, batch_size=8)
    playground.state.set_learning_rate(5.0)  # beyond the slider: the slider stops at its end
    playground.training.show_learning_rate()
    rate = playground.training.learning_rate
    assert rate.value == rate.base ** rate.max < 5.0
    assert playground.state.learning_rate == 5.0


def test_train_without_arguments_takes_the_sliders_values(subset, monkeypatch):
    playground = Playground(data=subset, batch_size=8)
    training = playground.training
    training.steps.value = 40
    training.learning_rate.value = 1e-2
    calls = []

    def fake_train(steps, learning_rate, on_step):
        calls.append((steps, learning_rate))
        return History(steps=[0], costs=[2.3], accuracies=[0.1])

    monkeypatch.setattr(playground.state, "train", fake_train)
    assert training.train().steps == [0]
    assert calls == [(40, pytest.approx(1e-2))]
    assert training.progress.max == 40
    assert training.train(steps=20) is not None and calls[-1] == (20, pytest.approx(1e-2))
    assert training.train(learning_rate=1e-4) is not None
    assert calls[-1] == (40, pytest.approx(1e-4))


def test_the_train_button_thread_does_not_keep_the_kernel_alive(subset, monkeypatch):
    playground = Playground(data=subset, batch_size=8)
    training = playground.training
    ran = []
    monkeypatch.setattr(training, "train", lambda: ran.append(True))
    training.button.click()
    training.thread.join(timeout=60)
    assert ran == [True]
    assert training.thread.daemon  # a kernel shut down mid-training does not wait for it
    training.button.click()  # the thread has ended: a click trains again, it does not stop
    training.thread.join(timeout=60)
    assert ran == [True, True] and not training._stop.is_set()



def test_a_batch_smaller_than_the_logits_table_shows_every_digit_of_it(subset):
    playground = Playground(data=subset, batch_size=3)  # the table holds up to 8 rows
    assert playground.logits_table.value.count("<tr>") == 2 + 3  # two header rows, one per digit


def test_the_learning_rate_slider_reaches_every_rate_of_notebook_4s_grid(shared):
    from course_utils.lab.lr_grid import HALF_DECADE_RATES

    rate = shared.training.learning_rate
    for grid_rate in HALF_DECADE_RATES:  # half a decade apart, rounded to two figures (3.2e-7)
        stop = _stop(rate, grid_rate)
        assert abs(stop - round(stop)) < 0.05, grid_rate
