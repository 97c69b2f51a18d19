"""pytest set-up shared by the unit tests and the nbval run of notebooks/.

nbval compares each cell's outputs with the ones saved in the notebook. The course's policy
(see README, "Tests") is that stderr is not compared: progress bars and TensorFlow's warnings go
there and vary from run to run. Everything a lesson claims is printed to stdout.
"""

import matplotlib

matplotlib.use("Agg")

try:
    from nbval.plugin import IPyNbCell
except ImportError:  # nbval not installed: only the unit tests run
    IPyNbCell = None


def _without_stderr(outputs):
    return [
        output
        for output in outputs
        if not (output.get("output_type") == "stream" and output.get("name") == "stderr")
    ]


if IPyNbCell is not None and not getattr(IPyNbCell, "_course_ignores_stderr", False):
    _compare_outputs = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        return _compare_outputs(self, _without_stderr(test), _without_stderr(ref), skip_compare)

    IPyNbCell.compare_outputs = compare_outputs
    IPyNbCell._course_ignores_stderr = True
