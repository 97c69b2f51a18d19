"""Helpers for the weight-initialization course.

Four parts, one module per concept; a part imports only from the parts above it in this list:

``core``: what a training run is made of
    ``arguments`` (argument validation, TypeError / ValueError), ``data`` (MNIST: the offline
    subset or full MNIST from an ``mnist.npz``), ``network`` (the post's 4-layer ConvNet and its
    cost), ``initializers`` (fan-in / fan-out and the N(0, 1), He, Xavier, ... recipes),
    ``training`` (plain gradient descent on batches of 100, as the original did it), ``stats``
    (per-layer statistics of the named outputs, and a diagnosis)
``lab``: the experiments and what they measure
    ``experiments`` (the post's three experiments and the numbers it reports), ``diagnostics``
    (update ratio, gradients, dead ReLUs), ``monitor`` (the training dashboard),
    ``keras_monitor`` (the same dashboard for any Keras model, a ``fit`` callback), ``lsuv``,
    ``deep_stack`` (spreads through a deep stack of dense layers), ``lr_grid`` (learning rate x
    network: the grid of short runs)
``views``: what the learner looks at
    ``plots`` (histograms, logits and predictions, training curves), ``tensorboard``,
    ``playground`` (notebook 5's widgets: its state, its view and its pictures)
``learner``: the learner's side
    ``guesses`` (predict, then see), ``exercises`` (checks with feedback, folded solutions)

and ``cli``: ``python -m course_utils reproduce``, the experiments headless; ``kernel_room``:
before TensorFlow loads, where memory is capped (Binder's 2 GB), it shuts down idle kernels of
other notebooks if this one would not fit, and says which.
"""

__version__ = "0.1.0"


def _import_tensorflow_quietly():
    """Import TensorFlow with its C++ start-up lines hidden.

    At import, TensorFlow's C++ side writes timestamped lines with process ids to the process's
    stderr (oneDNN's note, the CPU's instruction sets), whatever ``TF_CPP_MIN_LOG_LEVEL`` says;
    they tell a learner nothing and would sit in every saved notebook. They go to /dev/null
    while TensorFlow loads; Python's own warnings and errors are not affected. A notebook
    imports ``course_utils`` in its first code cell, before TensorFlow.
    """
    import os
    import sys

    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr file descriptor at all: nothing to hide
        import tensorflow  # noqa: F401

        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _make_room_for_this_kernel():
    """Where memory is capped and short, shut down idle kernels of other notebooks before
    TensorFlow loads (``kernel_room``); nothing outside a Jupyter kernel or without a cap."""
    from course_utils.kernel_room import make_room_for_this_kernel

    make_room_for_this_kernel()


_make_room_for_this_kernel()
_import_tensorflow_quietly()
