"""The playground of notebook 5: choose a scheme and a scale per layer, see what happens.

Three parts, so that the logic is tested without a browser and the view stays small:

- ``state``     :class:`PlaygroundState`: settings -> weights -> outputs, statistics, training
- ``view``      :class:`Playground`: the ipywidgets controls on top of a state
- ``pictures``  the panels the view draws in place (histograms, logits table, training curve)
"""

from .state import LAYERS, PRESETS, PlaygroundState
from .view import Playground

__all__ = ["LAYERS", "PRESETS", "Playground", "PlaygroundState"]
