"""Write what the post looked at in TensorBoard: per-layer histograms and the cost.

Each run is one folder of event files that TensorBoard reads. In it:

- histograms ``layer1_conv`` .. ``layer4_conv`` and ``logits`` of one batch of images, at step 0
  (the freshly initialized network) and at the last step (after training);
- scalars ``cost`` and ``accuracy``: the training-batch values at each recorded step;
- with a :class:`course_utils.lab.monitor.Recorder` (``reproduce --tensorboard`` turns one on):
  histograms ``gradients/layer1`` .. ``gradients/layer5`` of the weight gradients, and scalars
  ``update_ratio/layerN`` (``lr * std(grad) / std(w)``; in TensorBoard's *Scalars* tab tick "log
  scale" for the y-axis) and ``log10_update_ratio/layerN`` (CS231n's rule of thumb: about -3),
  at every step the recorder measured.

To look at them in JupyterLab::

    %load_ext tensorboard
    %tensorboard --logdir runs

or in a terminal ``tensorboard --logdir runs`` and open the address it prints. TensorBoard gives
every histogram its own x-range (the post's complaint); compare layers on one scale with
:func:`course_utils.views.plots.plot_layer_histograms`.
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from ..core.network import CONV_LAYERS
from ..core.stats import even_subsample, finite_values

HISTOGRAM_NAMES = CONV_LAYERS + ("logits",)
# tf.summary.histogram needs memory in proportion to values x buckets (about 1.3 GB for the conv
# outputs of 100 images), so each histogram gets an evenly spaced subsample of at most this many.
MAX_HISTOGRAM_VALUES = 200_000


def write_histograms(writer, network, images, step):
    """Histograms of :data:`HISTOGRAM_NAMES` for ``images`` at ``step`` (inf and NaN left out).

    Layers with more than :data:`MAX_HISTOGRAM_VALUES` values are subsampled evenly.
    """
    outputs = network.outputs(images)
    with writer.as_default(step=step):
        for name in HISTOGRAM_NAMES:
            values = even_subsample(finite_values(outputs[name]), MAX_HISTOGRAM_VALUES)
            tf.summary.histogram(name, values)
    writer.flush()


def write_history(writer, history):
    """The recorded training-batch ``cost`` and ``accuracy`` (non-finite costs skipped)."""
    records = zip(history.steps, history.costs, history.accuracies, strict=True)
    with writer.as_default():
        for step, cost, accuracy in records:
            if np.isfinite(cost):
                tf.summary.scalar("cost", cost, step=step)
            tf.summary.scalar("accuracy", accuracy, step=step)
    writer.flush()


def write_monitor(writer, recorder):
    """A :class:`~course_utils.lab.monitor.Recorder`'s series: gradient histograms (if it kept
    them), and per weight tensor the update ratio, its log10 and the gradient std, at each
    record."""
    with writer.as_default():
        for index, (step, record) in enumerate(zip(recorder.steps, recorder.records)):
            for layer, ratio in record["update_ratio"].items():
                if np.isfinite(ratio):
                    tf.summary.scalar(f"update_ratio/{layer}", ratio, step=step)
                    if ratio > 0:
                        tf.summary.scalar(f"log10_update_ratio/{layer}", np.log10(ratio),
                                          step=step)
            for layer, std in record["gradient_std"].items():
                if np.isfinite(std):
                    tf.summary.scalar(f"gradient_std/{layer}", std, step=step)
            if index < len(recorder.gradient_samples):
                for layer, values in recorder.gradient_samples[index].items():
                    tf.summary.histogram(f"gradients/{layer}", values[np.isfinite(values)],
                                         step=step)
    writer.flush()


def log_run(logdir, initial_network, trained_network, images, history, final_step, recorder=None):
    """One TensorBoard run in ``logdir``: histograms at step 0 and ``final_step``, and the history
    (and the ``recorder``'s gradient histograms and update ratios, if one is given).

    ``initial_network`` is the network as initialized (before any training step); pass a fresh
    copy, since training changes a network in place.
    """
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(logdir))
    try:
        write_histograms(writer, initial_network, images, step=0)
        write_history(writer, history)
        write_histograms(writer, trained_network, images, step=final_step)
        if recorder is not None:
            write_monitor(writer, recorder)
    finally:
        writer.close()
    return logdir


def log_experiment_results(folder, results, images, steps, seed):
    """One run per experiment, ``folder/<key>``, from ``{key: ExperimentResult}``.

    The initial network is drawn again from the same ``seed`` (the draws are deterministic);
    a run that diverged gets its final histograms at the step where it stopped. A result run
    with ``monitor_every`` also gets its recorder's gradient histograms and update ratios.
    Returns the run folders.
    """
    folders = []
    for key, result in results.items():
        initial = result.experiment.create_network(seed)
        history = result.history
        final_step = history.diverged_at if history.diverged_at is not None else steps
        folders.append(
            log_run(Path(folder) / key, initial, result.network, images, history, final_step,
                    recorder=result.monitor)
        )
    return folders
