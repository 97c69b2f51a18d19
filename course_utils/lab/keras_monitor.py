"""The training dashboard for any Keras model: a callback for ``model.fit``.

What :class:`course_utils.lab.monitor.Recorder` records for the course's ConvNet, recorded for
a Sequential or functional ``tf.keras`` model built from standard layers, by the ecosystem's
own hook::

    dashboard = DashboardCallback(x_train[:100])    # a sample batch to measure the layers on
    model.fit(x_train, y_train, epochs=3, callbacks=[dashboard])
    plot_dashboard({"my model": dashboard}, "update_ratio")

At every ``record_every``-th training step (counted from 0 over every epoch of every ``fit``
it joins) it keeps, per layer name:

- ``activation_std``: the spread (:func:`course_utils.core.stats.spread`) of the output of
  each measured layer (by default every layer with weights, every activation layer and every
  merge layer such as ``Add``). That is the layer's *output*: for a Conv2D or Dense with a
  built-in ``activation="relu"`` it is after the ReLU. To see the pre-activation, as the
  Recorder does, give the layer no activation and follow it with an ``Activation`` or ``ReLU``
  layer (:func:`course_utils.core.network.keras_convnet` builds the course's ConvNet so);
- ``dead``: for every layer whose output goes through a ReLU (a Dense or Conv layer with
  ``activation="relu"``, a ``ReLU`` layer, an ``Activation("relu")``), the fraction of its
  units (a Dense unit; a conv channel, last axis) whose output is ``<= 0`` on every sample:
  :func:`course_utils.lab.diagnostics.dead_fraction` with ``"channel"``. ``relu(z) <= 0``
  exactly where ``z <= 0``, so this is the Recorder's count on the pre-activation;
- ``update_ratio``: for every kernel (a Dense or Conv layer's ``kernel``), the step the
  optimizer actually took, against the kernel itself:
  ``std(kernel_after - kernel_before) / std(kernel_before)``, by
  :func:`course_utils.lab.diagnostics.update_ratio` with the step in place of the gradient and
  a rate of 1. With plain SGD the step is ``learning_rate * gradient``: the Recorder's
  ``learning_rate * std(gradient) / std(weights)`` up to float rounding. With momentum or Adam
  it is what the optimizer really did, which is what the ratio is meant to watch;
- ``cost``: the ``loss`` that ``fit`` reports after that step (Keras's running mean over the
  epoch so far: the step's own cost on the first step of each epoch).

Where it measures. With a sample batch, the outputs are measured before the recorded step
runs, on that batch, as the Recorder does; the update ratio and the cost come from the step
itself. With no sample batch, they are measured on the batch the step trained on, just after
the step (the callback keeps a copy of each training batch; not with ``jit_compile=True``).
The layers run in inference mode (``training=False``): BatchNormalization uses its moving
statistics and Dropout passes everything, so measuring changes nothing in the model, and
``fit`` computes exactly what it computes without the callback.

Only the model's top-level layers are measured. A subclassed model has no graph of layer
outputs to read and is refused, as is a use outside ``model.fit`` (a custom training loop).
Recording every 10 steps costs about one forward pass on the sample batch per 10 steps, plus
a copy of the kernels (``python benchmarks/run.py --keras-monitor-only`` measures it).
"""

import numpy as np
import tensorflow as tf

from ..core.arguments import valid_choice, valid_count
from ..core.stats import spread
from .diagnostics import dead_fraction, update_ratio

FIELDS = ("activation_std", "dead", "update_ratio", "cost")
MEASURED_TYPES = ("ReLU", "Activation", "LeakyReLU", "ELU", "PReLU", "Softmax", "Add",
                  "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
OUTSIDE_FIT = ("DashboardCallback records inside model.fit(..., callbacks=[dashboard]) only: "
               "its hooks were called without fit setting it up (a custom training loop?)")


class DashboardCallback(tf.keras.callbacks.Callback):
    """Records the dashboard's per-layer statistics while ``model.fit`` trains (see the module
    docstring for what and how).

    ``sample`` (the one positional argument): the inputs to measure the layers on (an array, or
    what the model takes for several inputs); ``None`` measures on the training batches. The
    rest are keywords. ``record_every``: steps between two records (10). ``layers``: the names
    of the layers whose output is measured (by default those with weights, the activation
    layers and the merge layers). After ``fit``, ``steps`` holds the recorded steps and
    :meth:`series` the values, as the Recorder's do, so
    :func:`course_utils.lab.monitor.plot_dashboard` draws it.
    """

    def __init__(self, sample=None, *, record_every=10, layers=None):
        super().__init__()
        self.sample = None if sample is None else tf.nest.map_structure(tf.constant, sample)
        self.record_every = valid_count("record_every", record_every, minimum=1)
        if isinstance(layers, str):
            raise TypeError(f"layers must be a list of layer names, not the string {layers!r}")
        self.layer_names = None if layers is None else list(layers)
        self.steps = []
        self.records = []  # one dict per recorded step: {field: {name: value}} or {"cost": value}
        self._step = 0  # training steps seen over every fit, the next one's number
        self._fitting = False  # between on_train_begin and on_train_end
        self._built_for = None  # the model that the compiled measurement measures
        self._batch = None  # with no sample batch: the copy of the training batch
        self._pending = None  # the recorded step in progress: its outputs and kernels before

    def on_train_begin(self, logs=None):
        """Check the model and build the measurement (the layers' outputs, side by side)."""
        model = self.model
        if model is None:
            raise RuntimeError(OUTSIDE_FIT)
        if not _has_graph(model):
            raise TypeError(f"DashboardCallback needs a Sequential or functional model: the "
                            f"subclassed model {type(model).__name__} has no graph of layer "
                            f"outputs to measure")
        if model.steps_per_execution != 1:
            raise ValueError("DashboardCallback records one step at a time: compile the model "
                             "with steps_per_execution=1")
        if self._built_for is not model:  # a later fit of the same model reuses it
            self._build(model)
        if self.sample is None:
            self._batch = _keep_training_batches(model)
        self._fitting = True

    def _build(self, model):
        """The compiled measurement: the measured layers' outputs side by side, their spreads
        and dead fractions; and the kernels to watch."""
        layers = _measured_layers(model, self.layer_names)
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        outputs = tf.keras.Model(inputs, [layer.output for layer in layers])
        relu = [_ends_in_relu(layer) for layer in layers]
        self._names = [layer.name for layer in layers]
        self._dead_names = [name for name, dead in zip(self._names, relu) if dead]
        self._kernels = {layer.name: layer.kernel for layer in model.layers
                         if getattr(layer, "kernel", None) is not None}
        self._measured = tf.function(lambda inputs: _measure(outputs, relu, inputs))
        self._built_for = model

    def on_train_end(self, logs=None):
        """Give the model back its own ``train_step`` (with no sample batch)."""
        if self._batch is not None:
            del self.model.train_step
            self.model.train_function = None  # the next fit builds its own afresh
        self._fitting = False
        self._batch = self._pending = None

    def on_train_batch_begin(self, batch, logs=None):
        if not self._fitting:
            raise RuntimeError(OUTSIDE_FIT)
        if self._step % self.record_every:
            return
        measured = self._measure(self.sample) if self._batch is None else None
        kernels = {name: np.array(kernel) for name, kernel in self._kernels.items()}
        self._pending = (measured, kernels)

    def on_train_batch_end(self, batch, logs=None):
        if not self._fitting:
            raise RuntimeError(OUTSIDE_FIT)
        step, self._step = self._step, self._step + 1
        if self._pending is None:
            return
        measured, before = self._pending
        self._pending = None
        if measured is None:
            measured = self._measure(self._batch.value())
        ratios = {name: float(update_ratio(1.0, np.array(kernel) - before[name], before[name]))
                  for name, kernel in self._kernels.items()}
        self.steps.append(step)
        self.records.append({**measured, "update_ratio": ratios, "cost": float(logs["loss"])})

    def _measure(self, inputs):
        spreads, dead = self._measured(inputs)
        return {"activation_std": dict(zip(self._names, spreads.numpy().tolist())),
                "dead": {name: float(value) for name, value in zip(self._dead_names, dead)}}

    def series(self, field):
        """``{layer name: array over self.steps}`` for a per-layer field, or one array for
        ``"cost"``."""
        valid_choice("field", field, FIELDS)
        if field == "cost":
            return np.array([record["cost"] for record in self.records])
        names = self.records[0][field] if self.records else {}
        return {name: np.array([record[field][name] for record in self.records])
                for name in names}


def _has_graph(model):
    """True for a Sequential or functional model (its inputs lead to its outputs through a
    graph of layers); a subclassed model has no ``inputs``."""
    try:
        return bool(model.inputs)
    except AttributeError:
        return False


def _measured_layers(model, names):
    """The layers whose outputs are measured: ``names`` in order, or the default ones."""
    if names is None:
        return [layer for layer in model.layers
                if layer.weights or type(layer).__name__ in MEASURED_TYPES]
    by_name = {layer.name: layer for layer in model.layers}
    unknown = [name for name in names if name not in by_name]
    if unknown or not names:
        raise ValueError(f"layers must name layers of the model, from {list(by_name)}; "
                         f"got {names}")
    return [by_name[name] for name in names]


def _ends_in_relu(layer):
    """True if the layer's output is a plain ReLU's (so a unit that is 0 everywhere is dead)."""
    if type(layer).__name__ == "ReLU":
        config = layer.get_config()
        return not config.get("negative_slope") and not config.get("threshold")
    activation = getattr(layer, "activation", None)
    return activation is tf.keras.activations.relu


def _measure(outputs_model, relu, inputs):
    """The spread of each measured output, and the dead fraction of those after a ReLU."""
    outputs = outputs_model(inputs, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    spreads = tf.stack([spread(output) for output in outputs])
    dead = [dead_fraction(tf.reshape(output, (-1, 1, 1, output.shape[-1])))
            for output, is_relu in zip(outputs, relu) if is_relu]
    return spreads, dead


def _keep_training_batches(model):
    """Have ``fit``'s step keep a copy of its inputs (for measuring with no sample batch)."""
    if len(model.inputs) != 1:
        raise ValueError("DashboardCallback measures on the training batches only for a model "
                         "with one input: pass a sample batch")
    if model.jit_compile:
        raise ValueError("DashboardCallback cannot keep the training batches of a model "
                         "compiled with jit_compile=True: pass a sample batch")
    batch = tf.Variable(tf.zeros([], model.inputs[0].dtype), shape=tf.TensorShape(None))
    train_step = model.train_step

    def keeping_train_step(data):
        batch.assign(tf.keras.utils.unpack_x_y_sample_weight(data)[0])
        return train_step(data)

    model.train_step = keeping_train_step
    model.make_train_function(force=True)
    return batch
