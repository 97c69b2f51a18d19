"""The playground's view: ipywidgets controls linked to a :class:`PlaygroundState`.

:class:`Playground` is an ipywidgets box. Each of the five weight tensors gets a scheme dropdown
(N(0, 1), He, Xavier, ...) and a scale slider; three buttons load the post's experiments, and a
switch puts ReLU (the post's) or tanh after the conv layers. Every change is applied to the state
(:mod:`course_utils.views.playground.state`, which holds the weights, runs the forward pass and
judges the outputs), then the view redraws, for the state's batch of digits:

- the histograms of layer1_conv..layer4_conv (one common x-scale, or one per layer),
- the logits and softmax predictions of the first few digits,
- a one-line verdict (exploding, vanishing or healthy) from
  :func:`course_utils.core.stats.diagnosis_line`.

Below them, a :class:`Trainer`: its train button trains a copy of the current weights in a
background thread (:meth:`PlaygroundState.train`, i.e. :func:`course_utils.core.training.train`) and
draws the training curve every few steps. The pictures are the panels of
:mod:`course_utils.views.playground.pictures`.

Bad values (a negative, zero or NaN scale, an unknown scheme or layer) never raise from a
callback: the widget shows a message that says what is wrong and keeps the last good picture.
"""

from contextlib import contextmanager
import functools
import html
import math
import threading

import ipywidgets as widgets

from ...core.initializers import SCHEME_LABELS, SCHEMES
from ...core.network import WEIGHT_SHAPES
from ...core.stats import format_number
from ...lab.experiments import EXPERIMENTS
from ..plots import SCALES
from .pictures import CurvePanel, HistogramPanel, LogitsTable
from .state import DEFAULT_BATCH, LAYERS, PRESETS, PlaygroundState

SCALE_RANGE = (1e-3, 1e2)  # what the scale sliders offer
LEARNING_RATE_RANGE = (1e-7, 1.0)
DEFAULT_TRAIN_STEPS = 30
TRAIN_CHUNK = 10  # steps between two updates of the progress bar and the curve
SHOWN_DIGITS = 8  # rows of the logits / predictions table
ACTIVATION_OPTIONS = (("ReLU", "relu"), ("tanh", "tanh"))  # (label, ConvNet activation)
ERROR = "<span style='color:#b00020'>{}</span>"


class Playground(widgets.VBox):
    """Scheme and scale per layer -> histograms, logits, predictions and a verdict, live.

    The arguments are :class:`~course_utils.views.playground.PlaygroundState`'s, plus ``dpi`` for
    the pictures. ``state`` is the state, ``training`` the train controls (:class:`Trainer`);
    for code and tests there are also ``controls[layer]["scheme" | "scale"]``, ``activation``
    (the ReLU / tanh switch), :meth:`set_layer`, :meth:`set_activation`, :meth:`apply_preset`,
    ``message.value`` and ``redraw_count``.
    """

    def __init__(self, data=None, seed=0, batch_size=DEFAULT_BATCH, preset="proper", dpi=80):
        super().__init__()
        self.state = PlaygroundState(data, seed, batch_size, preset)
        self.redraw_count = 0
        self._quiet = False  # True while several controls change at once
        self._histograms = HistogramPanel(dpi)
        self._logits = LogitsTable(self.state.images.numpy()[:SHOWN_DIGITS])  # the batch's first
        self.controls, rows = _layer_controls(self._on_control)
        self.preset_buttons = {}
        for key, experiment in EXPERIMENTS.items():
            self.preset_buttons[key] = widgets.Button(
                description=experiment.title, tooltip=experiment.recipe,
                layout=widgets.Layout(width="auto"))
            self.preset_buttons[key].on_click(lambda _button, key=key: self.apply_preset(key))
        self.histogram_scale = widgets.ToggleButtons(
            options=SCALES, value="common", description="x-scale",
            tooltips=["one x-range for all four layers", "each layer its own x-range"],
            style={"button_width": "90px"})
        self.histogram_scale.observe(lambda _change: self.redraw(), names="value")
        self.activation = widgets.ToggleButtons(
            options=ACTIVATION_OPTIONS, value=self.state.activation, description="activation",
            tooltips=["ReLU after each conv layer (the post's network)",
                      "tanh after each conv layer (notebook 7)"],
            style={"button_width": "70px"})
        self.activation.observe(self._on_activation, names="value")
        self.verdict, self.message, self.logits_table = (widgets.HTML() for _ in range(3))
        self.histogram_image = widgets.Image(format="png")
        self.training = Trainer(self.state, dpi)
        self.children = [
            widgets.HTML("<b>Presets</b> (the post's three experiments):"),
            widgets.HBox(list(self.preset_buttons.values())), self.activation, rows, self.verdict,
            self.message,
            self.histogram_scale, self.histogram_image, self.logits_table, self.training,
        ]
        self._show_state()
        self.redraw()

    def __repr__(self):
        # Short and stable: notebooks compare it (nbval) and print it.
        return f"Playground(seed={self.state.seed}, batch={int(self.state.images.shape[0])} digits)"

    def stats(self):
        """The state's :meth:`~course_utils.views.playground.PlaygroundState.stats`."""
        return self.state.stats()

    def verdict_text(self):
        """The verdict line shown under the controls."""
        return self.state.verdict()

    def set_layer(self, layer, scheme=None, scale=None):
        """Set one layer's scheme and/or scale; False (and a message) if a value is bad."""
        low, high = SCALE_RANGE
        if isinstance(scale, float) and 0 < scale < math.inf and not low <= scale <= high:
            return self._problem(f"{layer}: scale {scale:g} is outside the slider's range "
                                 f"{low:g} .. {high:g}")
        return self._apply(functools.partial(self.state.set_layer, layer, scheme, scale), layer)

    def apply_preset(self, key):
        """Load one of the post's experiments ("large", "small", "proper") and redraw once."""
        return self._apply(functools.partial(self.state.apply_preset, key))

    def set_activation(self, activation):
        """Put "relu" or "tanh" after every conv layer and redraw; False (and a message) if bad."""
        return self._apply(functools.partial(self.state.set_activation, activation), "activation")

    def _apply(self, change, about=None):
        try:
            change()
        except (TypeError, ValueError) as error:
            return self._problem(f"{about}: {error}" if about else str(error))
        except Exception as error:  # never let a callback take the widget down
            return self._problem(f"could not redraw: {type(error).__name__}: {error}")
        self._show_state()
        self.redraw()
        return True

    def _show_state(self):
        with self._changing_several():
            for layer, (scheme, scale) in self.state.layers.items():
                self.controls[layer]["scheme"].value = scheme
                self.controls[layer]["scale"].value = scale
            self.activation.value = self.state.activation
        self.training.show_learning_rate()

    def redraw(self):
        """Draw the pictures, verdict and message from the state (call it after changing
        ``self.state`` directly; the controls call it themselves)."""
        self.histogram_image.value = self._histograms.draw(self.state.conv_values(),
                                                           self.histogram_scale.value)
        self.logits_table.value = self._logits.html(self.state.outputs())
        self.verdict.value = f"<b>verdict</b>: {_escape(self.state.verdict())}"
        bad = self.state.nonfinite_count()
        self.message.value = ERROR.format(f"{bad} outputs overflowed to inf or NaN: the "
                                          "scales are too large for float32") if bad else ""
        self.redraw_count += 1

    def _problem(self, text):
        self.message.value = ERROR.format(f"<b>not applied</b>: {_escape(text)}")
        return False

    @contextmanager
    def _changing_several(self):
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _on_activation(self, change):
        if not self._quiet:
            self.set_activation(change["new"])

    def _on_control(self, layer, change):
        if not self._quiet:
            control = self.controls[layer]
            self._apply(functools.partial(self.state.set_layer, layer, control["scheme"].value,
                                          control["scale"].value), layer)


class Trainer(widgets.VBox):
    """Learning rate, steps, a train/stop button, progress and the training curve of a state.

    The button trains a copy of the state's weights in a background thread; a second click
    stops it. :meth:`train` does the same in the calling thread.
    """

    def __init__(self, state, dpi=80):
        super().__init__()
        self.state = state
        self.thread, self.history = None, None
        self._stop, self._showing = threading.Event(), False
        self._curve = CurvePanel(dpi)
        self.learning_rate = _log_slider(LEARNING_RATE_RANGE, 0.5, ".0e", "learning rate")
        self.learning_rate.style = {"description_width": "initial"}
        self.learning_rate.observe(self._on_learning_rate, names="value")
        self.steps = widgets.IntSlider(value=DEFAULT_TRAIN_STEPS, min=10, max=200, step=10,
                                       description="steps", continuous_update=False)
        self.button = widgets.Button(description="train", icon="play", button_style="success")
        self.button.on_click(self._on_click)
        self.progress = widgets.IntProgress(max=DEFAULT_TRAIN_STEPS,
                                            layout=widgets.Layout(width="200px"))
        self.status = widgets.HTML()
        self.curve_image = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.children = [
            widgets.HTML("<b>Train</b> a copy of these weights for a few steps:"),
            widgets.HBox([self.learning_rate, self.steps]),
            widgets.HBox([self.button, self.progress, self.status]), self.curve_image,
        ]
        self.show_learning_rate()

    def show_learning_rate(self):
        """Move the slider to the state's learning rate (a preset sets one)."""
        self._showing = True
        self.learning_rate.value = self.state.learning_rate
        self._showing = False

    def train(self, steps=None, learning_rate=None):
        """Train a copy of the weights (default: the sliders' steps and rate); its History.

        The progress bar and curve follow every :data:`TRAIN_CHUNK` steps. Returns None (with a
        message) when a setting is bad or training fails.
        """
        steps = self.steps.value if steps is None else steps
        rate = self.learning_rate.value if learning_rate is None else learning_rate
        try:
            steps, rate = self.state.check_training(steps, rate)
        except (TypeError, ValueError) as error:
            self.status.value = ERROR.format(_escape(error))
            return None
        self.button.description, self.button.icon = "stop", "stop"
        self.progress.max, self.progress.value = steps, 0
        self.curve_image.layout.display = None
        try:
            self.history = self.state.train(steps, rate, functools.partial(self._on_step, steps))
        except Exception as error:
            self.status.value = ERROR.format(_escape(f"{type(error).__name__}: {error}"))
            return None
        finally:
            self.button.description, self.button.icon = "train", "play"
        if self.history.diverged_at is not None:
            self.status.value = ERROR.format(_escape(self.history.message))
        return self.history

    def _on_learning_rate(self, change):
        if not self._showing:
            self.state.set_learning_rate(change["new"])  # the slider offers only good values

    def _on_click(self, _button):
        if self.thread is not None and self.thread.is_alive():
            self._stop.set()
            return
        self._stop.clear()
        self.thread = threading.Thread(target=self.train, daemon=True)
        self.thread.start()

    def _on_step(self, steps, step, history):
        if step % TRAIN_CHUNK == 0 or step == steps:
            self.progress.value = step
            self.curve_image.value = self._curve.draw(history, steps)
            self.status.value = _escape(_summary(history, steps))
        return self._stop.is_set()


def _layer_controls(on_change):
    """``{layer: {"scheme": Dropdown, "scale": FloatLogSlider}}`` and a box of labelled rows."""
    controls, rows = {}, []
    for layer, shape in WEIGHT_SHAPES.items():
        dropdown = widgets.Dropdown(options=[(SCHEME_LABELS[s], s) for s in SCHEMES],
                                    layout=widgets.Layout(width="210px"))
        slider = _log_slider(SCALE_RANGE, 0.05, ".3g", "scale x", width="380px")
        for control in (dropdown, slider):
            control.observe(functools.partial(on_change, layer), names="value")
        controls[layer] = {"scheme": dropdown, "scale": slider}
        label = f"<b>{layer}</b> <code>{'x'.join(str(size) for size in shape)}</code>"
        rows.append(widgets.HBox([widgets.HTML(label, layout=widgets.Layout(width="190px")),
                                  dropdown, slider]))
    return controls, widgets.VBox(rows)


def _log_slider(value_range, step, readout, description, width=None):
    low, high = (math.log10(value) for value in value_range)
    layout = widgets.Layout(width=width) if width else widgets.Layout()
    return widgets.FloatLogSlider(value=1.0, base=10, min=low, max=high, step=step,
                                  readout_format=readout, description=description,
                                  continuous_update=False, layout=layout)


def _summary(history, steps):
    return (f"step {history.steps[-1] + 1} of {steps}: training-batch cost "
            f"{format_number(history.costs[-1], 3)}, accuracy {100 * history.accuracies[-1]:.0f} %")


def _escape(text):
    return html.escape(str(text))


__all__ = ["LAYERS", "PRESETS", "Playground"]
