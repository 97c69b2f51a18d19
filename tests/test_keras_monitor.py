"""The dashboard callback for any Keras model: its numbers against NumPy on Sequential and
functional models, against the course's Recorder on the post's ConvNet, what it refuses, and
that ``fit`` computes the same with it."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils.core.network import CONV_WEIGHT_NAMES, WEIGHT_SHAPES, ConvNet, keras_convnet
from course_utils.core.training import train
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.lab.keras_monitor import OUTSIDE_FIT, DashboardCallback
from course_utils.lab.monitor import Recorder, plot_dashboard

keras = tf.keras
layers = keras.layers
BATCH = 8
RNG = np.random.default_rng(0)
IMAGES = RNG.normal(size=(5 * BATCH, 6, 6, 1)).astype(np.float32)
LABELS = RNG.integers(0, 3, 5 * BATCH)
SAMPLE = IMAGES[:7]  # an odd number of rows: a reshape that pairs them up fails
FUNCTIONAL_LAYERS = ["conv", "bn", "conv2", "add", "relu", "ln", "hidden", "logits"]


def functional_model():
    """Conv2D (ReLU), BatchNorm, Conv2D, a residual Add, ReLU, LayerNorm, Dense (ReLU), Dense.
    Channel 0 of ``conv`` and units 0, 1 of ``hidden`` get a bias of -100: dead."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 1))
    conv = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    branch = layers.Conv2D(4, 3, padding="same", name="conv2")(
        layers.BatchNormalization(name="bn")(conv))
    hidden = layers.ReLU(name="relu")(layers.Add(name="add")([conv, branch]))
    hidden = layers.LayerNormalization(name="ln")(layers.Flatten(name="flatten")(hidden))
    hidden = layers.Dense(6, activation="relu", name="hidden")(hidden)
    model = keras.Model(inputs, layers.Dense(3, name="logits")(hidden))
    model.get_layer("conv").bias.assign([-100.0, 0, 0, 0])
    model.get_layer("hidden").bias.assign([-100.0, -100.0, 0, 0, 0, 0])
    return _compiled(model)


def sequential_model():
    """Conv2D, BatchNorm, Activation("relu"), LayerNorm, Dense (tanh), Dense."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((6, 6, 1)), layers.Conv2D(3, 3, name="conv"),
        layers.BatchNormalization(name="bn"), layers.Activation("relu", name="act"),
        layers.LayerNormalization(name="ln"), layers.Flatten(name="flatten"),
        layers.Dense(5, activation="tanh", name="hidden"), layers.Dense(3, name="logits")])
    return _compiled(model)


def _compiled(model, optimizer=None, **options):
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), **options)
    return model


class Snapshots(keras.callbacks.Callback):
    """The test's own record of every step: each layer's output on ``inputs`` (None: on the
    step's training batch, after the step), the kernels before and after, fit's loss."""

    def __init__(self, inputs=None):
        super().__init__()
        self.inputs, self.steps = inputs, []

    def on_train_batch_begin(self, batch, logs=None):
        self.steps.append({"before": self._kernels(), "outputs": self._outputs(self.inputs)})

    def on_train_batch_end(self, batch, logs=None):
        step = self.steps[-1]
        step.update(after=self._kernels(), loss=logs["loss"])
        if self.inputs is None:
            first = (len(self.steps) - 1) % (len(IMAGES) // BATCH) * BATCH
            step["outputs"] = self._outputs(IMAGES[first : first + BATCH])

    def _kernels(self):
        return {layer.name: layer.kernel.numpy() for layer in self.model.layers
                if hasattr(layer, "kernel")}

    def _outputs(self, inputs):
        if inputs is None:
            return None
        every = keras.Model(self.model.inputs[0], [layer.output for layer in self.model.layers])
        values = every(inputs, training=False)
        return {layer.name: value.numpy() for layer, value in zip(self.model.layers, values)}


def _fit(model, callbacks, epochs=1, **options):
    return model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=callbacks, **options)


def _dead(values):
    """NumPy: the share of units (last axis) that are <= 0 on every sample and position."""
    return np.mean(np.all(values.reshape(-1, values.shape[-1]) <= 0, axis=0))


def _check_against_numpy(dashboard, snapshots, names, dead_names):
    for step, record in zip(dashboard.steps, dashboard.records):
        seen = snapshots.steps[step]
        assert list(record["activation_std"]) == names
        for name in names:
            assert record["activation_std"][name] == pytest.approx(
                np.std(seen["outputs"][name].astype(np.float64)), rel=1e-5)
        assert record["dead"] == pytest.approx({name: _dead(seen["outputs"][name])
                                                for name in dead_names})
        assert list(record["dead"]) == dead_names
        assert record["update_ratio"] == pytest.approx({
            name: np.std(seen["after"][name] - before) / np.std(before)
            for name, before in seen["before"].items()}, rel=1e-5)
        assert record["cost"] == pytest.approx(seen["loss"], rel=1e-6)


@pytest.mark.filterwarnings("error::UserWarning")  # Keras warns when the inputs do not match
@pytest.mark.parametrize("build, names, dead_names", [
    (functional_model, FUNCTIONAL_LAYERS, ["conv", "relu", "hidden"]),
    (sequential_model, ["conv", "bn", "act", "ln", "hidden", "logits"], ["act"]),
])
def test_records_match_numpy_on_the_sample_batch(build, names, dead_names):
    model = build()
    dashboard, snapshots = DashboardCallback(SAMPLE, record_every=2), Snapshots(SAMPLE)
    _fit(model, [dashboard, snapshots], epochs=2)
    assert dashboard.steps == [0, 2, 4, 6, 8]
    _check_against_numpy(dashboard, snapshots, names, dead_names)
    assert set(dashboard.records[0]["update_ratio"]) == {"conv", "conv2", "hidden", "logits"} \
        if build is functional_model else {"conv", "hidden", "logits"}


def test_the_biased_units_are_counted_dead_and_the_others_not():
    dashboard = DashboardCallback(SAMPLE)
    _fit(functional_model(), [dashboard])
    assert dashboard.records[0]["dead"]["conv"] == 0.25  # channel 0 of 4
    assert dashboard.records[0]["dead"]["hidden"] == pytest.approx(2 / 6)
    np.testing.assert_array_equal(dashboard.series("dead")["conv"], [0.25])


def test_with_no_sample_it_measures_each_recorded_training_batch_after_its_step():
    model = functional_model()
    dashboard, snapshots = DashboardCallback(record_every=3), Snapshots()
    _fit(model, [dashboard, snapshots], epochs=2)
    assert dashboard.sample is None
    assert dashboard.steps == [0, 3, 6, 9]
    _check_against_numpy(dashboard, snapshots, FUNCTIONAL_LAYERS, ["conv", "relu", "hidden"])
    assert "train_step" not in vars(model)  # the model's own step is back, and the next fit
    assert model.train_function is None  # builds its train function from it


def test_defaults_record_every_10_steps_and_steps_go_on_over_fits():
    dashboard = DashboardCallback(SAMPLE)
    model = sequential_model()
    _fit(model, [dashboard], epochs=3)  # steps 0 .. 14
    assert dashboard.steps == [0, 10]
    _fit(model, [dashboard], epochs=2)  # steps 15 .. 24
    assert dashboard.steps == [0, 10, 20]
    assert len(dashboard.records) == 3


def test_layers_picks_the_measured_outputs_in_its_order():
    dashboard = DashboardCallback(SAMPLE, layers=("flatten", "hidden", "conv2"))
    _fit(functional_model(), [dashboard])
    assert list(dashboard.records[0]["activation_std"]) == ["flatten", "hidden", "conv2"]
    assert list(dashboard.records[0]["dead"]) == ["hidden"]
    assert len(dashboard.records[0]["update_ratio"]) == 4  # every kernel still


def test_only_plain_relus_count_dead_units():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((4,)), layers.Dense(4, name="plain"),
        layers.ReLU(name="relu"), layers.ReLU(negative_slope=0.1, name="leaky_slope"),
        layers.ReLU(threshold=0.5, name="threshold"), layers.LeakyReLU(name="leaky"),
        layers.Activation("tanh", name="tanh"), layers.Dense(3, activation="relu", name="out")])
    dashboard = DashboardCallback(np.ones((2, 4), np.float32), record_every=1)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((2, 4)), np.ones((2, 3)), verbose=0, callbacks=[dashboard])
    assert list(dashboard.records[0]["dead"]) == ["relu", "out"]
    assert list(dashboard.records[0]["activation_std"]) == [
        "plain", "relu", "leaky_slope", "threshold", "leaky", "tanh", "out"]


def test_fit_computes_the_same_with_the_callback():
    def run(callbacks):
        model = functional_model()
        history = _fit(model, callbacks, epochs=2)
        return model.get_weights(), history.history

    weights, history = run([])
    for callbacks in ([DashboardCallback(SAMPLE, record_every=1)],
                      [DashboardCallback(record_every=1)]):
        with_callback, history_with = run(callbacks)
        assert history_with == history
        for plain, recorded in zip(weights, with_callback, strict=True):
            np.testing.assert_array_equal(plain, recorded)


def test_the_actual_step_is_measured_with_momentum():
    model = _compiled(sequential_model(), keras.optimizers.SGD(0.1, momentum=0.9))
    dashboard, snapshots = DashboardCallback(SAMPLE, record_every=4), Snapshots(SAMPLE)
    _fit(model, [dashboard, snapshots])
    _check_against_numpy(dashboard, snapshots, ["conv", "bn", "act", "ln", "hidden", "logits"],
                         ["act"])


def test_it_agrees_with_the_recorder_on_the_posts_convnet(subset):
    """One batch of 20 digits, so that every step of both runs trains on it (fit: one step per
    epoch, so its reported loss is the step's own cost)."""
    images, labels = subset.train_images[:20], subset.train_labels[:20]
    network = EXPERIMENTS["proper"].create_network(0)
    network.biases["layer1"].assign(np.repeat([-100.0, 0.0], [8, 56]))  # 8 dead channels
    rate = 0.05
    model = keras_convnet(network, rate)
    dashboard = DashboardCallback(images, record_every=1)
    model.fit(images, labels, batch_size=20, epochs=3, shuffle=False, verbose=0,
              callbacks=[dashboard])
    recorder = Recorder(network, images, labels, rate, batch_size=20)
    train(network, images, labels, rate, 3, batch_size=20, record_every=1, progress=False,
          callback=recorder)
    assert dashboard.steps == recorder.steps[:3] == [0, 1, 2]
    for ours, theirs in zip(dashboard.records, recorder.records[:3]):
        assert ours["update_ratio"] == pytest.approx(theirs["update_ratio"], rel=1e-5)
        assert ours["cost"] == pytest.approx(theirs["cost"], rel=1e-5)
        for layer in CONV_WEIGHT_NAMES:
            assert ours["activation_std"][layer] == pytest.approx(
                theirs["activation_std"][layer], rel=1e-5)
            assert ours["dead"][f"{layer}_relu"] == theirs["dead"][layer]
    assert dashboard.records[0]["dead"]["layer1_relu"] == 8 / 64
    assert list(dashboard.records[0]["update_ratio"]) == list(WEIGHT_SHAPES)


def test_keras_convnet_copies_plain_networks_only():
    weights = EXPERIMENTS["proper"].create_weights(0)
    with pytest.raises(ValueError, match="plain networks only, not BatchNorm"):
        keras_convnet(ConvNet.from_weights(weights, batch_norm=True), 0.1)
    model = keras_convnet(ConvNet.from_weights(weights, activation="tanh"), 0.1)
    assert [layer.name for layer in model.layers[:3]] == ["layer1", "layer1_tanh", "layer2"]
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.1)


def test_series_and_the_dashboard_plot():
    dashboard = DashboardCallback(SAMPLE, record_every=2)
    assert dashboard.series("update_ratio") == {}
    assert dashboard.series("cost").shape == (0,)
    _fit(sequential_model(), [dashboard])
    ratios = dashboard.series("update_ratio")
    assert list(ratios) == ["conv", "hidden", "logits"]
    np.testing.assert_array_equal(ratios["conv"], [record["update_ratio"]["conv"]
                                                   for record in dashboard.records])
    np.testing.assert_array_equal(dashboard.series("cost"),
                                  [record["cost"] for record in dashboard.records])
    assert list(dashboard.series("dead")) == ["act"]
    figure = plot_dashboard({"sequential": dashboard}, "update_ratio")
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines[:3]] == ["conv", "hidden", "logits"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [0, 2, 4])
    with pytest.raises(ValueError, match="field"):
        dashboard.series("gradient_std")


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(3)

    def call(self, inputs):
        return self.dense(layers.Flatten()(inputs))


def test_a_subclassed_model_is_refused_in_one_sentence():
    model = _compiled(Subclassed())
    with pytest.raises(TypeError, match="^DashboardCallback needs a Sequential or functional "
                       "model: the subclassed model Subclassed has no graph of layer outputs "
                       "to measure$"):
        _fit(model, [DashboardCallback(SAMPLE)])


def test_hooks_called_outside_fit_are_refused():
    dashboard = DashboardCallback(SAMPLE)
    for hook in (dashboard.on_train_begin, lambda: dashboard.on_train_batch_begin(0),
                 lambda: dashboard.on_train_batch_end(0, {"loss": 1.0})):
        with pytest.raises(RuntimeError) as refused:
            hook()
        assert str(refused.value) == OUTSIDE_FIT
    model = sequential_model()
    dashboard.set_model(model)  # a custom loop that hands over the model
    with pytest.raises(RuntimeError, match="custom training loop"):
        dashboard.on_train_batch_begin(0)
    with pytest.raises(RuntimeError, match="custom training loop"):
        dashboard.on_train_batch_end(0, {"loss": 1.0})
    _fit(model, [dashboard])
    with pytest.raises(RuntimeError, match="custom training loop"):  # after fit, as before
        dashboard.on_train_batch_begin(0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="record_every"):
        DashboardCallback(SAMPLE, record_every=0)
    assert DashboardCallback(SAMPLE, record_every=1).record_every == 1
    with pytest.raises(TypeError, match="record_every"):
        DashboardCallback(SAMPLE, record_every=2.5)
    with pytest.raises(TypeError, match="positional"):  # everything but the sample is a keyword
        DashboardCallback(SAMPLE, 2)
    with pytest.raises(TypeError, match="list of layer names, not the string 'conv'"):
        DashboardCallback(SAMPLE, layers="conv")
    for names in (["conv", "nope"], []):
        with pytest.raises(ValueError, match="layers must name layers of the model"):
            _fit(sequential_model(), [DashboardCallback(SAMPLE, layers=names)])


def test_what_it_cannot_record_is_refused():
    model = _compiled(sequential_model(), steps_per_execution=2)
    with pytest.raises(ValueError, match="one step at a time: compile the model with "
                       "steps_per_execution=1"):
        _fit(model, [DashboardCallback(SAMPLE)])
    # Keras turns XLA off while op determinism is on (the course's set_seed turns it on, so an
    # earlier test may have): off for this case, as in a learner's process without set_seed
    from tensorflow.python.framework import config as tf_config

    deterministic = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    try:
        model = _compiled(sequential_model(), jit_compile=True)
        assert model.jit_compile
        with pytest.raises(ValueError, match="jit_compile=True: pass a sample batch"):
            _fit(model, [DashboardCallback()])
    finally:
        if deterministic:
            tf_config.enable_op_determinism()
    first, second = keras.Input((2,)), keras.Input((2,))
    two_inputs = _compiled(keras.Model([first, second],
                                       layers.Dense(3)(layers.Add()([first, second]))))
    with pytest.raises(ValueError, match="one input: pass a sample batch"):
        two_inputs.fit([np.ones((4, 2))] * 2, np.zeros(4), verbose=0,
                       callbacks=[DashboardCallback()])
