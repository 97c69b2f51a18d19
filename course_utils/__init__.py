"""Helpers for the weight-initialization course.

One module per concept, each small enough to read in one sitting (lower ones first):

- ``arguments``     the argument validation every module shares (TypeError / ValueError)
- ``data``          MNIST: the offline 5000-digit subset, or full MNIST from an ``mnist.npz``
- ``network``       the post's 4-layer ConvNet, run on weights the notebook creates, and its cost
- ``stats``         per-layer statistics of the named outputs, and a diagnosis
- ``initializers``  fan-in / fan-out and the N(0, 1), He, Xavier, ... recipes
- ``training``      plain gradient descent on batches of 100, as the original did it
- ``plots``         histograms, logits and predictions, training curves
- ``experiments``   the post's three experiments and the numbers it reports
- ``diagnostics``   the update ratio, gradients and dead ReLUs
- ``monitor``       a training dashboard: per-layer statistics recorded while training
- ``lr_grid``       learning rate x network: the grid of short runs and its heat maps
- ``lsuv``          layer-sequential unit-variance initialization
- ``deep_stack``    a deep stack of dense layers: spreads through depth, measured and predicted
- ``tensorboard``   histograms and cost curves written for TensorBoard
- ``guesses``       predict, then see: the learner's recorded guess beside the measurement
- ``exercises``     checks with feedback for the exercises, and their folded solutions
- ``cli``           ``python -m course_utils reproduce``: the experiments, headless
- ``playground``    notebook 5's playground: its state, its widgets view and its pictures
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


_import_tensorflow_quietly()
