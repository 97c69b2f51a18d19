"""Training as the original series did it: plain gradient descent on batches of 100, in order.

Batch ``step`` is the images ``offset .. offset + batch_size`` with
``offset = (step * batch_size) % (num_train - batch_size)``: no shuffling (our subset split is
already shuffled). The cost is the mean softmax cross-entropy of the logits. Every
``record_every`` steps the training batch's cost and accuracy (before that step's update) go into
the :class:`History`, like the original's print-out every 100 steps.

Speed: a compiled function runs up to 100 steps in one call (their batches handed over at
once), so Python does almost nothing per step; the training set itself stays in NumPy, so no
second copy of it is made.

Precision: float32 by default (the lesson is about float32 numbers). ``precision="bfloat16"``
keeps the variables, the gradient-descent updates and the cost in float32 but runs the forward
pass (its convolutions and the matrix product) and so its gradients in bfloat16: weights, biases
and images are cast to bfloat16 before :func:`~course_utils.core.network.forward_pass`, the logits
back to float32 for the cost. On CPUs with bfloat16 instructions (AVX512-BF16 or AMX on x86,
the BF16 extension on Arm) oneDNN runs that faster; elsewhere it is emulated and slower, which
:func:`bfloat16_support` detects.
"""

from dataclasses import dataclass, field
import math
import os
from pathlib import Path
import platform
import sys
import warnings

import numpy as np
import tensorflow as tf

from .arguments import valid_choice, valid_count, valid_data, valid_positive
from .network import cost_and_outputs

DEFAULT_BATCH_SIZE = 100
PRECISIONS = ("float32", "bfloat16")
# /proc/cpuinfo flags of CPUs whose bfloat16 matrix instructions oneDNN uses
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX512-BF16, x86 AMX, Arm BF16


def set_seed(seed):
    """Seed Python, NumPy and TensorFlow, make TensorFlow's ops deterministic, and have it run
    one op at a time.

    Given the same seed, the weight draws, training and evaluation give the same numbers every
    run. Op determinism alone is not enough for BatchNorm networks: with several ops running at
    once, two identical BatchNorm runs drifted apart within a few steps (measured; plain
    networks did not). One op at a time (each op still uses every core) made them repeat bit for
    bit, at no measurable cost for plain networks. TensorFlow accepts that setting only before
    its first op, so call ``set_seed`` first, as the notebooks do; called later, it warns.
    """
    tf.keras.utils.set_random_seed(valid_count("seed", seed, minimum=0))
    tf.config.experimental.enable_op_determinism()
    _run_one_op_at_a_time()


def _run_one_op_at_a_time():
    if tf.config.threading.get_inter_op_parallelism_threads() == 1:
        return
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow has run an op already
        warnings.warn("set_seed came after TensorFlow's first op, so TensorFlow may still run "
                      "several ops at once: BatchNorm training can then differ slightly "
                      "between runs. Call set_seed before any TensorFlow work.", stacklevel=3)


@dataclass
class History:
    """Training-batch cost and accuracy (a fraction in [0, 1]) at the recorded steps.

    ``diverged_at`` is the first step whose cost was inf or NaN (None if training stayed finite);
    ``message`` then says what happened.
    """

    steps: list = field(default_factory=list)
    costs: list = field(default_factory=list)
    accuracies: list = field(default_factory=list)
    learning_rate: float = float("nan")
    diverged_at: int | None = None
    message: str = ""

    def as_records(self):
        """A list of ``{"step", "cost", "accuracy"}`` dicts (non-finite costs become None)."""
        return [
            {"step": step, "cost": _finite_or_none(cost), "accuracy": accuracy}
            for step, cost, accuracy in zip(self.steps, self.costs, self.accuracies)
        ]


def train(
    network,
    images,
    labels,
    learning_rate,
    steps,
    batch_size=DEFAULT_BATCH_SIZE,
    record_every=100,
    progress=True,
    start_step=0,
    callback=None,
    precision="float32",
):
    """Train ``network`` in place with plain gradient descent and return its :class:`History`.

    Runs the steps ``start_step .. start_step + steps - 1`` (the step number picks the batch, so
    a run continued with ``start_step`` takes the same batches as one long run).
    ``progress`` shows a progress bar (:func:`progress_bar`; ``False`` for none). A run whose
    cost turns inf or NaN stops at that step; the history keeps what was recorded up to it
    (that step's cost too, if it was a recorded step) and says why in ``history.message``,
    which is also printed when ``progress`` is on.
    ``callback(step, history)``, if given, is called at every recorded step (multiples of
    ``record_every``) and at the end, with the number of the next step to run; if it returns
    True, training stops there.
    ``precision`` is ``"float32"`` or ``"bfloat16"`` (see the module's docstring); bfloat16 on a
    CPU without bfloat16 instructions warns (:func:`bfloat16_support`).
    """
    compute_dtype = _compute_dtype(precision)
    images, labels = valid_data(images, labels, batch_size)
    learning_rate = valid_positive("learning_rate", learning_rate)
    steps = valid_count("steps", steps, minimum=0)
    start_step = valid_count("start_step", start_step, minimum=0)
    record_every = valid_count("record_every", record_every, minimum=1)
    run_chunk = _compile_chunk(network, images, labels, batch_size, compute_dtype)
    rate = tf.constant(learning_rate, dtype=tf.float32)
    history = History(learning_rate=learning_rate)
    bar = progress_bar(steps, progress)
    step, end = start_step, start_step + steps
    while step < end:
        chunk = min(record_every - step % record_every, end - step)
        costs, accuracies = run_chunk(tf.constant(step), tf.constant(chunk), rate)
        costs, accuracies = costs.numpy(), accuracies.numpy()
        if step % record_every == 0:
            history.steps.append(step)
            history.costs.append(float(costs[0]))
            history.accuracies.append(float(accuracies[0]))
        bad = np.flatnonzero([cost_blew_up(cost) for cost in costs])
        if bad.size:
            history.diverged_at = step + int(bad[0])
            history.message = (
                f"training stopped: the cost became {costs[bad[0]]} at step {history.diverged_at} "
                f"(learning rate {learning_rate:g} is too large for these weights); "
                "the history holds what was recorded up to it"
            )
            if progress:  # a run without a bar (a grid's cell, a callback's) stays quiet
                print(history.message, file=sys.stderr)
            break
        step += chunk
        bar.update(chunk)
        if callback is not None and callback(step, history):
            break
    bar.close()
    return history


def cost_blew_up(cost, limit=None):
    """True if ``cost`` says the run blew up: it is inf or NaN, or above ``limit`` (if given).

    The one rule the course stops a run by: :func:`train` stops at an inf or NaN cost, the
    learning-rate grid also at a cost above a multiple of the first one.
    """
    return not math.isfinite(cost) or (limit is not None and cost > limit)


def batch_offset(step, batch_size, num_images):
    """The index of the first image of the batch of ``step`` (a step number or a NumPy array of
    them): ``(step * batch_size) % (num_images - batch_size)``, or 0 when the images make only
    one batch."""
    span = num_images - batch_size
    return (step * batch_size) % span if span > 0 else step * 0


def evaluate(network, images, labels, batch_size=DEFAULT_BATCH_SIZE, precision="float32"):
    """Test cost and accuracy: the mean over batches of 100, as the series' code batched them.

    Images that do not fill a last whole batch are left out, as there. Unlike the series' scripts
    for the N(0, 1) and x0.01 runs, which also ran their optimizer on every test batch (a
    training step on test images), this only measures: the weights do not change.
    ``precision`` as in :func:`train` (the cost itself is always computed in float32).
    """
    compute_dtype = _compute_dtype(precision)
    images, labels = valid_data(images, labels, batch_size)
    num_batches = len(labels) // batch_size
    images = tf.reshape(images[: num_batches * batch_size], (num_batches, batch_size, 28, 28, 1))
    labels = tf.reshape(labels[: num_batches * batch_size], (num_batches, batch_size))
    costs, accuracies = _evaluate_batches(network.parameters, images, labels, compute_dtype,
                                          _activation(network))
    return float(np.mean(costs.numpy())), float(np.mean(accuracies.numpy()))


def _activation(network):
    """The network's nonlinearity (a plain string: each one gets its own compiled trace)."""
    return getattr(network, "activation", "relu")


def _batch_cost_and_accuracy(parameters, images, labels, compute_dtype=tf.float32,
                             activation="relu"):
    if compute_dtype != tf.float32:  # bfloat16: the casts' gradients come back as float32
        parameters = [tf.cast(parameter, compute_dtype) for parameter in parameters]
        images = tf.cast(images, compute_dtype)
    cost, outputs = cost_and_outputs(parameters, images, labels, activation)
    correct = tf.equal(tf.argmax(outputs["logits"], axis=1, output_type=tf.int32), labels)
    return cost, tf.reduce_mean(tf.cast(correct, tf.float32))


def _compile_chunk(network, images, labels, batch_size, compute_dtype=tf.float32):
    """``run_chunk(start, count, learning_rate)``: run ``count`` steps from step ``start``.

    Memory: the training set stays a NumPy array. Each call of the compiled function gets only
    the batches of at most :data:`_MAX_CHUNK_STEPS` steps, copied out in order; a TensorFlow copy
    of the whole set (0.2 GB for full MNIST, twice that while converting, and kept alive by the
    compiled function's graph until Python's cycle collector ran) is never made.
    """
    parameters = network.parameters
    activation = _activation(network)

    def run_chunk(start, count, learning_rate):
        start, count = int(start), int(count)
        costs, accuracies = [], []
        for first in range(start, start + count, _MAX_CHUNK_STEPS):
            steps = np.arange(first, min(first + _MAX_CHUNK_STEPS, start + count))
            rows = batch_offset(steps, batch_size, len(labels))[:, None] + np.arange(batch_size)
            chunk_costs, chunk_accuracies = _run_batches(
                parameters, tf.constant(images[rows]), tf.constant(labels[rows]), learning_rate,
                compute_dtype, activation,
            )
            costs.append(chunk_costs)
            accuracies.append(chunk_accuracies)
        return tf.concat(costs, axis=0), tf.concat(accuracies, axis=0)

    return run_chunk


_MAX_CHUNK_STEPS = 100


# The compiled functions take the network's variables as arguments rather than capturing one
# network, so a single trace serves every network of the course (no retracing per run).


@tf.function(reduce_retracing=True)
def _run_batches(parameters, batches_images, batches_labels, learning_rate,
                 compute_dtype=tf.float32, activation="relu"):
    """One gradient-descent step per batch of a (steps, batch, 28, 28, 1) array, in order.

    ``compute_dtype`` and ``activation`` are Python values: one trace per precision and per
    nonlinearity, so a ReLU network's trace never depends on a tanh network trained before it.
    """
    count = tf.shape(batches_labels)[0]
    costs = tf.TensorArray(tf.float32, size=count)
    accuracies = tf.TensorArray(tf.float32, size=count)
    for i in tf.range(count):
        with tf.GradientTape() as tape:
            cost, accuracy = _batch_cost_and_accuracy(
                parameters, batches_images[i], batches_labels[i], compute_dtype, activation
            )
        gradients = tape.gradient(cost, parameters)
        for variable, gradient in zip(parameters, gradients):
            variable.assign_sub(learning_rate * gradient)
        costs = costs.write(i, cost)
        accuracies = accuracies.write(i, accuracy)
    return costs.stack(), accuracies.stack()


@tf.function(reduce_retracing=True)
def _evaluate_batches(parameters, images, labels, compute_dtype=tf.float32, activation="relu"):
    """Cost and accuracy of each batch of a (batches, batch, 28, 28, 1) array."""
    return tf.map_fn(
        lambda batch: _batch_cost_and_accuracy(parameters, batch[0], batch[1], compute_dtype,
                                               activation),
        (images, labels),
        fn_output_signature=(tf.float32, tf.float32),
        parallel_iterations=1,  # one batch at a time: ten at once would hold ten batches' outputs
    )


def bfloat16_support(cpuinfo="/proc/cpuinfo"):
    """``(supported, reason)``: does this CPU have the bfloat16 instructions oneDNN uses?

    Read from the flags in ``cpuinfo`` (Linux): ``avx512_bf16`` or ``amx_bf16`` (x86: Intel
    Cooper Lake and Sapphire Rapids onwards, AMD Zen 4 onwards) or ``bf16`` (Arm, e.g. AWS
    Graviton 3). Where the file cannot be read (macOS, Windows) support is unknown and reported
    as missing: TensorFlow's fast bfloat16 kernels are oneDNN's on Linux. Without these
    instructions bfloat16 is emulated, and usually slower than float32. ``reason`` is a
    sentence for the user either way.
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False, (f"cannot tell whether this CPU ({platform.machine() or 'unknown'}, "
                       f"{platform.system() or 'unknown system'}) has bfloat16 instructions: "
                       f"{cpuinfo} is not readable")
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    found = [flag for flag in BFLOAT16_FLAGS if flag in flags]
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip() == "0":
        return False, ("TF_ENABLE_ONEDNN_OPTS=0 turns off oneDNN, whose kernels make bfloat16 "
                       "fast on CPUs")
    if found:
        return True, f"this CPU has bfloat16 instructions ({', '.join(found)} in {cpuinfo})"
    return False, (f"this CPU has no bfloat16 instructions (none of {', '.join(BFLOAT16_FLAGS)} "
                   f"among the flags in {cpuinfo}): bfloat16 is emulated there, usually slower "
                   "than float32")


def _compute_dtype(precision):
    """The forward pass's dtype for ``precision``; warns if bfloat16 is not supported (Python
    shows the warning once for each line of code that triggers it)."""
    if valid_choice("precision", precision, PRECISIONS) == "float32":
        return tf.float32
    supported, reason = bfloat16_support()
    if not supported:
        warnings.warn(f"precision='bfloat16' may be slower than float32 here: {reason}",
                      RuntimeWarning, stacklevel=3)
    return tf.bfloat16


def progress_bar(total, enabled, unit="step"):
    """A tqdm bar for ``total`` units: a widget in Jupyter (kept when done, so the notebook shows
    how long the cell took), text on stderr in a terminal (cleared when done). None shown when
    ``enabled`` is false or there is nothing to do."""
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm as notebook_tqdm

    return tqdm(total=total, disable=not enabled or total == 0, file=sys.stderr, unit=unit,
                leave=issubclass(tqdm, notebook_tqdm))


def _finite_or_none(value):
    return value if math.isfinite(value) else None
