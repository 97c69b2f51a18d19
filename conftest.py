"""pytest set-up shared by the unit tests and the nbval run of notebooks/.

nbval compares each cell's outputs with the ones saved in the notebook. The course's policy
(see MAINTAINING.md, "Tests") is that stderr is not compared: progress bars and TensorFlow's
warnings go there and vary from run to run. Everything a lesson claims is printed to stdout.
"""

import matplotlib

matplotlib.use("Agg")


def pytest_collectstart(collector):
    """nbval's documented hook: add "stderr" to what a notebook's cells do not compare.

    nbval turns each stream output into ``{"stderr": text}`` before comparing, and leaves out
    the keys listed in its notebook collector's ``skip_compare``.
    """
    if str(getattr(collector, "path", "")).endswith(".ipynb") and hasattr(
        collector, "skip_compare"
    ):
        collector.skip_compare = (*collector.skip_compare, "stderr")
