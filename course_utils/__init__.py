"""Helpers for the weight-initialization course.

One module per concept, each small enough to read in one sitting:

- ``data``          MNIST: the offline 5000-digit subset, or full MNIST from an ``mnist.npz``
- ``network``       the post's 4-layer ConvNet, run on weights the notebook creates
- ``initializers``  fan-in / fan-out and the N(0, 1), He, Xavier, ... recipes
- ``training``      plain gradient descent on batches of 100, as the original did it
- ``stats``         per-layer statistics of the named outputs, and a verdict
- ``plots``         histograms, logits and predictions, training curves
- ``experiments``   the post's three experiments and the numbers it reports
- ``cli``           ``python -m course_utils reproduce``: the experiments, headless
- ``playground``    the playground's state: settings, weights, outputs, verdict, training
- ``widgets``       the playground's view: ipywidgets controls on top of that state
- ``panels``        the playground's pictures (drawn in place, reusing ``plots``)
- ``checks``        the argument checks every module shares (TypeError / ValueError)
- ``depth``         the spread of pre-activations through a deep ReLU stack, against theory
- ``diagnostics``   gradient norms and dead ReLUs
- ``tensorboard``   histograms and cost curves written for TensorBoard
- ``exercises``     checks with feedback for the exercises of notebook 6
"""

__version__ = "0.1.0"
