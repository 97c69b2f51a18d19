"""The playground: pick an initialization per layer and watch the network's outputs react.

:class:`Playground` is an ipywidgets box. Each of the five weight tensors gets a scheme dropdown
(N(0, 1), He, Xavier, ...) and a scale slider; three buttons load the post's experiments. Every
change redraws, for a fixed small batch of test digits:

- the histograms of layer1_conv..layer4_conv (one common x-scale, or one per layer),
- the logits and softmax predictions of the first few digits,
- a one-line verdict (exploding, vanishing or healthy) from :func:`course_utils.stats.verdict`.

A train button runs a few gradient-descent steps on a copy of the current weights, in chunks, in
a background thread, and draws the training curve as it goes.

Speed: a change redraws only what it must. The unit-scale draw of each (layer, scheme, seed) is
cached, so a scale change is a multiplication; only the changed layer's variable is reassigned;
the forward pass is a compiled function on a batch of 32 digits; and the pictures are persistent
matplotlib artists whose data are updated in place, then sent as PNG bytes to Image widgets.

Bad values (a negative, zero or NaN scale, an unknown scheme or layer) never raise from a
callback: the widget shows a message that says what is wrong and keeps the last good picture.
"""

import base64
from contextlib import contextmanager
import functools
import html
import io
import math
import threading

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
import numpy as np
import tensorflow as tf

from .experiments import EXPERIMENTS
from .initializers import SCHEME_LABELS, SCHEMES, check_scale, check_scheme, initial_weights
from .network import CONV_LAYERS, WEIGHT_SHAPES, ConvNet
from .stats import activation_stats, format_number, verdict
from .training import train

LAYERS = tuple(WEIGHT_SHAPES)
HISTOGRAM_SCALES = ("common", "per-layer")
SCALE_RANGE = (1e-3, 1e2)  # what the scale sliders offer
LEARNING_RATE_RANGE = (1e-7, 1.0)
DEFAULT_BATCH = 32
DEFAULT_TRAIN_STEPS = 30
TRAIN_CHUNK = 10  # steps between two updates of the progress bar and the curve
TRAIN_BATCH = 100  # images per gradient-descent step, as in the original
SHOWN_DIGITS = 8  # rows of the logits / predictions table
BINS = 60


def _preset(key):
    """The (scheme, scale) of each layer for one of the post's experiments."""
    if key == "large":
        return {layer: ("normal", 1.0) for layer in LAYERS}
    if key == "small":
        return {layer: ("normal", 0.01) for layer in LAYERS}
    if key == "proper":
        conv_layers = {layer: ("he", 1.0) for layer in LAYERS[:-1]}
        return {**conv_layers, LAYERS[-1]: ("xavier", 1.0)}
    raise ValueError(f"no preset for experiment {key!r}")


# One preset per experiment of the post, in the post's order, with the learning rate it used.
PRESETS = {key: _preset(key) for key in EXPERIMENTS}


def layer_seed(seed, layer):
    """The seed a layer's weights are drawn with: distinct for every (seed, layer) pair."""
    return 1000 * int(seed) + LAYERS.index(layer) + 1


class Playground(widgets.VBox):
    """Scheme and scale per layer -> histograms, logits, predictions and a verdict, live.

    ``data`` is an :class:`~course_utils.data.MnistData` (by default the offline subset, loaded
    on first use): the first ``batch_size`` test digits are the fixed batch whose outputs are
    shown, and training uses its training digits. ``preset`` is the experiment shown first.

    For code and tests: ``controls[layer]["scheme" | "scale"]``, :meth:`stats`,
    :meth:`set_layer`, :meth:`apply_preset`, :meth:`train`, ``message.value`` and
    ``redraw_count``.
    """

    def __init__(self, data=None, seed=0, batch_size=DEFAULT_BATCH, preset="proper", dpi=80):
        super().__init__()
        if data is None:
            from .data import load_mnist

            data = load_mnist("subset")
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {preset!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if not 1 <= batch_size <= len(data.test_images):
            raise ValueError(
                f"batch_size must be between 1 and {len(data.test_images)}, got {batch_size!r}"
            )
        self.data = data
        self.seed = int(seed)
        self.images = tf.constant(data.test_images[:batch_size])
        self.redraw_count = 0
        self.training_thread = None
        self.history = None
        self._unit_weights = {}  # (layer, scheme, seed) -> unit-scale tensor
        self._outputs = None
        self._layers = None  # _conv_summaries of the outputs
        self._stats = None
        self._quiet = False  # True while several controls change at once
        self._stop_training = threading.Event()

        self._build_controls(preset)
        self._histograms = _HistogramPanel(dpi)
        self._logits = _LogitsTable(data.test_images[:SHOWN_DIGITS])
        self._curve = _CurvePanel(dpi)
        self._build_layout()

        settings = self._settings()
        weights = {layer: self._weights(layer, *settings[layer]) for layer in LAYERS}
        self.network = ConvNet.from_weights(weights)
        self._forward = tf.function(self.network.forward)
        self.learning_rate.value = EXPERIMENTS[preset].learning_rate
        self.redraw()

    def __repr__(self):
        # Short and stable: notebooks compare it (nbval) and print it.
        return f"Playground(seed={self.seed}, batch={int(self.images.shape[0])} digits)"

    # ----------------------------------------------------------------------------- the widgets

    def _build_controls(self, preset):
        options = [(SCHEME_LABELS[scheme], scheme) for scheme in SCHEMES]
        self.controls = {}
        rows = []
        for layer, (scheme, scale) in PRESETS[preset].items():
            shape = WEIGHT_SHAPES[layer]
            label = widgets.HTML(
                f"<b>{layer}</b> <code>{'x'.join(str(size) for size in shape)}</code>",
                layout=widgets.Layout(width="190px"),
            )
            dropdown = widgets.Dropdown(
                options=options, value=scheme, layout=widgets.Layout(width="210px")
            )
            slider = widgets.FloatLogSlider(
                value=scale, base=10, min=math.log10(SCALE_RANGE[0]),
                max=math.log10(SCALE_RANGE[1]), step=0.05, readout_format=".3g",
                description="scale x", continuous_update=False,
                layout=widgets.Layout(width="380px"),
            )
            dropdown.observe(functools.partial(self._on_control, layer), names="value")
            slider.observe(functools.partial(self._on_control, layer), names="value")
            self.controls[layer] = {"scheme": dropdown, "scale": slider}
            rows.append(widgets.HBox([label, dropdown, slider]))
        self._control_rows = widgets.VBox(rows)

        self.preset_buttons = {}
        for key, experiment in EXPERIMENTS.items():
            button = widgets.Button(
                description=experiment.title, tooltip=experiment.recipe,
                layout=widgets.Layout(width="auto"),
            )
            button.on_click(functools.partial(self._on_preset, key))
            self.preset_buttons[key] = button

        self.histogram_scale = widgets.ToggleButtons(
            options=HISTOGRAM_SCALES, value="common", description="x-scale",
            tooltips=["one x-range for all four layers", "each layer its own x-range"],
            style={"button_width": "90px"},
        )
        self.histogram_scale.observe(self._on_histogram_scale, names="value")

        self.verdict = widgets.HTML()
        self.message = widgets.HTML()

        self.learning_rate = widgets.FloatLogSlider(
            value=1e-3, base=10, min=math.log10(LEARNING_RATE_RANGE[0]),
            max=math.log10(LEARNING_RATE_RANGE[1]), step=0.5, readout_format=".0e",
            description="learning rate", style={"description_width": "initial"},
            continuous_update=False,
        )
        self.train_steps = widgets.IntSlider(
            value=DEFAULT_TRAIN_STEPS, min=10, max=200, step=10, description="steps",
            continuous_update=False,
        )
        self.train_button = widgets.Button(description="train", icon="play",
                                           button_style="success")
        self.train_button.on_click(self._on_train)
        self.progress = widgets.IntProgress(value=0, min=0, max=DEFAULT_TRAIN_STEPS,
                                            layout=widgets.Layout(width="200px"))
        self.train_status = widgets.HTML()

    def _build_layout(self):
        self.histogram_image = widgets.Image(format="png")
        self.logits_table = widgets.HTML()
        self.curve_image = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.children = [
            widgets.HTML("<b>Presets</b> (the post's three experiments):"),
            widgets.HBox(list(self.preset_buttons.values())),
            self._control_rows,
            self.verdict,
            self.message,
            self.histogram_scale,
            self.histogram_image,
            self.logits_table,
            widgets.HTML("<b>Train</b> a copy of these weights for a few steps:"),
            widgets.HBox([self.learning_rate, self.train_steps]),
            widgets.HBox([self.train_button, self.progress, self.train_status]),
            self.curve_image,
        ]

    # ------------------------------------------------------------------------------- the state

    def _settings(self):
        """``{layer: (scheme, scale)}`` as the controls show it now."""
        return {
            layer: (control["scheme"].value, control["scale"].value)
            for layer, control in self.controls.items()
        }

    def _weights(self, layer, scheme, scale):
        """The layer's weights: a cached unit-scale draw times ``scale`` (checked first)."""
        check_scheme(scheme)
        check_scale(scale)
        key = (layer, scheme, self.seed)
        if key not in self._unit_weights:
            self._unit_weights[key] = initial_weights(
                scheme, WEIGHT_SHAPES[layer], 1.0, layer_seed(self.seed, layer)
            )
        return self._unit_weights[key] * scale

    def weights(self):
        """The five weight tensors the controls describe now, as numpy arrays."""
        return {layer: self.network.weights[layer].numpy() for layer in LAYERS}

    def outputs(self):
        """The named outputs (numpy arrays) of the batch of digits for the current weights."""
        return dict(self._outputs)

    def stats(self):
        """:func:`~course_utils.stats.activation_stats` of the current outputs."""
        if self._stats is None:
            self._stats = activation_stats(self._outputs)
        return self._stats

    def verdict_text(self):
        """The verdict line shown under the controls."""
        return _verdict_of(self._layers)

    # -------------------------------------------------------------------------------- actions

    def set_layer(self, layer, scheme=None, scale=None):
        """Set one layer's scheme and/or scale and redraw once.

        Returns True when done; on a bad layer, scheme or scale, shows the problem in
        ``message`` and returns False, changing nothing.
        """
        try:
            if layer not in self.controls:
                raise ValueError(f"unknown layer {layer!r}; choose one of {LAYERS}")
            scheme = self.controls[layer]["scheme"].value if scheme is None else scheme
            scale = self.controls[layer]["scale"].value if scale is None else scale
            check_scheme(scheme)
            check_scale(scale)
            low, high = SCALE_RANGE
            if not low <= scale <= high:
                raise ValueError(
                    f"scale {scale:g} is outside the slider's range {low:g} .. {high:g}"
                )
        except (TypeError, ValueError) as error:
            self._show_problem(f"{layer}: {error}")
            return False
        with self._changing_several():
            self.controls[layer]["scheme"].value = scheme
            self.controls[layer]["scale"].value = scale
        return self.redraw([layer])

    def apply_preset(self, key):
        """Load one of the post's experiments ("large", "small", "proper") and redraw once."""
        if key not in PRESETS:
            self._show_problem(f"unknown preset {key!r}; choose one of {tuple(PRESETS)}")
            return False
        with self._changing_several():
            for layer, (scheme, scale) in PRESETS[key].items():
                self.controls[layer]["scheme"].value = scheme
                self.controls[layer]["scale"].value = scale
            self.learning_rate.value = EXPERIMENTS[key].learning_rate
        return self.redraw()

    def redraw(self, layers=LAYERS):
        """Reassign the weights of ``layers`` from the controls, run the batch, redraw.

        Returns True when the pictures show the controls' settings, False (with a message) when
        a setting is bad: then the pictures keep the last good state.
        """
        settings = self._settings()
        try:
            new = {layer: self._weights(layer, *settings[layer]) for layer in layers}
        except (TypeError, ValueError) as error:
            bad = next((layer for layer in layers if not _is_good(*settings[layer])), "weights")
            self._show_problem(f"{bad}: {error}")
            return False
        try:
            for layer, weights in new.items():
                self.network.weights[layer].assign(weights)
            outputs = {name: value.numpy() for name, value in self._forward(self.images).items()}
            self._outputs, self._stats = outputs, None
            self._layers = _conv_summaries(outputs)
            self._draw_outputs()
        except Exception as error:  # never let a callback take the widget down
            self._show_problem(f"could not redraw: {type(error).__name__}: {error}")
            return False
        self.message.value = _overflow_note(outputs)
        return True

    def _draw_outputs(self):
        outputs = self._outputs
        self.histogram_image.value = self._histograms.draw(self._layers,
                                                           self.histogram_scale.value)
        self.logits_table.value = self._logits.html(outputs)
        self.verdict.value = f"<b>verdict</b>: {_verdict_of(self._layers)}"
        self.redraw_count += 1

    def _show_problem(self, text):
        self.message.value = (
            f"<span style='color:#b00020'><b>not applied</b>: {_escape(text)}</span>"
        )

    @contextmanager
    def _changing_several(self):
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    # ------------------------------------------------------------------------------ callbacks

    def _on_control(self, layer, change):
        if self._quiet:
            return
        self.redraw([layer])

    def _on_preset(self, key, _button):
        self.apply_preset(key)

    def _on_histogram_scale(self, change):
        try:
            self.histogram_image.value = self._histograms.draw(self._layers, change["new"])
            self.redraw_count += 1
        except Exception as error:
            self._show_problem(f"could not redraw: {type(error).__name__}: {error}")

    def _on_train(self, _button):
        if self.training_thread is not None and self.training_thread.is_alive():
            self._stop_training.set()
            return
        self._stop_training.clear()
        self.training_thread = threading.Thread(target=self.train, daemon=True)
        self.training_thread.start()

    # ------------------------------------------------------------------------------- training

    def train(self, steps=None, learning_rate=None):
        """Train a copy of the current weights for ``steps`` steps (default: the controls).

        Runs :func:`course_utils.training.train` in chunks of :data:`TRAIN_CHUNK` steps on the
        training digits (batches of 100, in order, as the original), updating the progress bar
        and the training curve after each chunk. The explorer's own weights are not changed.
        Returns the :class:`~course_utils.training.History` of every step, or None (with a
        message) when the settings are bad.
        """
        steps = self.train_steps.value if steps is None else steps
        rate = self.learning_rate.value if learning_rate is None else learning_rate
        try:
            if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
                raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
            check_scale(rate)  # same rule: a finite number > 0
        except (TypeError, ValueError) as error:
            self.train_status.value = f"<span style='color:#b00020'>{_escape(error)}</span>"
            return None
        try:
            return self._train(int(steps), float(rate))
        except Exception as error:
            self.train_status.value = (
                f"<span style='color:#b00020'>training failed: "
                f"{_escape(type(error).__name__)}: {_escape(error)}</span>"
            )
            return None
        finally:
            self.train_button.description, self.train_button.icon = "train", "play"

    def _train(self, steps, rate):
        network = ConvNet.from_weights({layer: tf.identity(self.network.weights[layer])
                                        for layer in LAYERS})
        images, labels = self.data.train_images, self.data.train_labels
        self.train_button.description, self.train_button.icon = "stop", "stop"
        self.progress.max, self.progress.value = steps, 0
        self.curve_image.layout.display = None
        total = self.history = _ChunkedHistory(rate)
        done = 0
        while done < steps and not self._stop_training.is_set():
            chunk = min(TRAIN_CHUNK, steps - done)
            # The batches of steps done .. done + chunk, in the original's order.
            index = np.arange(done * TRAIN_BATCH, (done + chunk + 1) * TRAIN_BATCH) % len(labels)
            history = train(network, images[index], labels[index], rate, chunk,
                            batch_size=TRAIN_BATCH, record_every=1, progress=False)
            total.extend(history, offset=done)
            done += len(history.steps) if history.diverged_at is not None else chunk
            self.progress.value = min(done, steps)
            self.curve_image.value = self._curve.draw(total, steps)
            self.train_status.value = _escape(total.summary(steps))
            if history.diverged_at is not None:
                self.train_status.value = (
                    f"<span style='color:#b00020'>{_escape(history.message)}</span>"
                )
                break
        return total


class _ChunkedHistory:
    """The steps, costs and accuracies of several chunks of training, end to end."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.steps, self.costs, self.accuracies = [], [], []
        self.diverged_at = None

    def extend(self, history, offset):
        self.steps += [offset + step for step in history.steps]
        self.costs += history.costs
        self.accuracies += history.accuracies
        if history.diverged_at is not None:
            self.diverged_at = offset + history.diverged_at

    def summary(self, steps):
        if not self.steps:
            return "no step recorded"
        return (
            f"step {self.steps[-1] + 1} of {steps}: training-batch cost "
            f"{format_number(self.costs[-1], 3)}, accuracy {100 * self.accuracies[-1]:.0f} %"
        )


# ----------------------------------------------------------------------------------- pictures


class _Panel:
    """A matplotlib Figure (no pyplot) whose artists are updated in place and sent as PNG."""

    def __init__(self, figsize, dpi):
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)

    def png(self):
        buffer = io.BytesIO()
        self.canvas.print_png(buffer, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


class _HistogramPanel(_Panel):
    """layer1_conv..layer4_conv histograms, drawn like plots.plot_layer_histograms.

    The bars, titles and limits are updated in place (no new artists), and the x-axis has a
    few plain tick labels: matplotlib spends most of a render on text.
    """

    def __init__(self, dpi):
        super().__init__((11, 2.3), dpi)
        self.axes = self.figure.subplots(1, len(CONV_LAYERS))
        self.figure.subplots_adjust(left=0.02, right=0.98, bottom=0.13, top=0.8, wspace=0.1)
        self.bars = []
        self.titles = []
        ticks = FuncFormatter(lambda value, _position: format_number(value))
        for ax in self.axes:
            self.bars.append(ax.stairs(np.zeros(BINS), np.linspace(-1, 1, BINS + 1), fill=True,
                                       color="tab:blue"))
            ax.set_yticks([])
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
            ax.xaxis.set_major_formatter(ticks)
            ax.tick_params(axis="x", labelsize=8)
            self.titles.append(ax.set_title("", fontsize=10))

    def draw(self, layers, scale):
        """Redraw from :func:`_conv_summaries` on a ``"common"`` or ``"per-layer"`` x-scale."""
        if scale not in HISTOGRAM_SCALES:
            raise ValueError(f"histogram scale must be one of {HISTOGRAM_SCALES}, got {scale!r}")
        common = max(layer["limit"] for layer in layers.values())
        for ax, bars, title, name in zip(self.axes, self.bars, self.titles, CONV_LAYERS):
            layer = layers[name]
            limit = common if scale == "common" else layer["limit"]
            counts = _bin_counts(layer["values"], limit)
            bars.set_data(counts, np.linspace(-limit, limit, BINS + 1))
            ax.set_xlim(-limit, limit)
            ax.set_ylim(0, max(counts.max(), 1) * 1.05)
            note = f", {layer['dropped']} inf/NaN" if layer["dropped"] else ""
            title.set_text(f"{name}\nstd {format_number(layer['std'])}{note}")
        return self.png()


def _conv_summaries(outputs):
    """Per conv layer: its finite values, their std, the half-width of their range, the rest."""
    summaries = {}
    for name in CONV_LAYERS:
        values = np.asarray(outputs[name]).ravel()
        finite = np.isfinite(values)
        if not finite.all():
            values = values[finite]
        summaries[name] = {
            "values": values,
            "std": float(values.std(dtype=np.float64)) if values.size else float("nan"),
            "limit": _half_width(values),
            "dropped": int(finite.size - values.size),
        }
    return summaries


def _bin_counts(values, limit):
    """Counts of ``values`` in BINS equal bins over [-limit, limit] (the ends go in the ends)."""
    index = ((values + limit) * (BINS / (2 * limit))).astype(np.int64)
    np.clip(index, 0, BINS - 1, out=index)
    return np.bincount(index, minlength=BINS)


class _LogitsTable:
    """Digits, logits and softmax predictions of the first rows, as a coloured HTML table.

    The same picture as :func:`course_utils.plots.plot_logits_and_predictions` (logits on a
    red-blue scale symmetric around 0, predictions on viridis from 0 to 1, each cell with its
    value), but built as HTML: a few milliseconds instead of a matplotlib render.
    """

    def __init__(self, images):
        self.digits = [_digit_cell(image) for image in images]

    def html(self, outputs):
        rows = len(self.digits)
        logits = np.asarray(outputs["logits"], dtype=np.float64)[:rows]
        predictions = np.asarray(outputs["predictions"], dtype=np.float64)[:rows]
        finite = np.abs(logits[np.isfinite(logits)])
        limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        logit_colours = _hex_colours("RdBu_r", (logits + limit) / (2 * limit))
        prediction_colours = _hex_colours("viridis", predictions)
        header = "".join(f"<th>{digit}</th>" for digit in range(10))
        lines = [
            "<table style='border-collapse:collapse;font-size:10px;font-family:monospace'>",
            "<tr><th>digit</th>"
            f"<th colspan='10'>logits (colour range &plusmn;{format_number(limit)})</th>"
            "<th style='width:12px'></th>"
            "<th colspan='10'>predictions = softmax(logits)</th></tr>",
            f"<tr><th></th>{header}<th></th>{header}</tr>",
        ]
        for row in range(rows):
            cells = [self.digits[row]]
            for digit in range(10):
                text = "white" if abs(logits[row, digit]) > 0.6 * limit else "black"
                cells.append(_cell(_compact(logits[row, digit]), logit_colours[row, digit], text))
            cells.append("<td></td>")
            for digit in range(10):
                value = predictions[row, digit]
                text = "black" if value > 0.5 else "white"
                cells.append(_cell(f"{value:.2f}", prediction_colours[row, digit], text))
            lines.append("<tr>" + "".join(cells) + "</tr>")
        lines.append("</table>")
        return "\n".join(lines)


def _cell(text, background, colour):
    return (f"<td style='background:{background};color:{colour};text-align:center;"
            f"padding:1px 2px;min-width:34px'>{text}</td>")


def _compact(value):
    """Two significant figures in at most about six characters: 0.0023, -41, 2.5e4, inf."""
    text = format_number(float(value))
    return text.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def _hex_colours(cmap_name, fractions):
    """``#rrggbb`` strings of a colormap at ``fractions`` in [0, 1] (grey for NaN)."""
    from matplotlib import colormaps

    rgba = colormaps[cmap_name](np.clip(np.nan_to_num(fractions, nan=0.5), 0, 1))
    rgb = np.round(rgba[..., :3] * 255).astype(int)
    colours = np.empty(fractions.shape, dtype=object)
    for index in np.ndindex(fractions.shape):
        colours[index] = "#{:02x}{:02x}{:02x}".format(*rgb[index])
        if not np.isfinite(fractions[index]):
            colours[index] = "#999999"
    return colours


def _digit_cell(image):
    """A <td> holding a 28x28 digit as an inline PNG (dark ink on white, as the plots show it)."""
    from PIL import Image as PilImage

    pixels = np.round(255 * (1 - np.clip(image[:, :, 0], 0, 1))).astype(np.uint8)
    buffer = io.BytesIO()
    PilImage.fromarray(pixels, mode="L").save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f"<td style='padding:1px'><img src='data:image/png;base64,{data}' "
            "width='22' height='22' style='image-rendering:pixelated'></td>")


class _CurvePanel(_Panel):
    """Training-batch cost (log scale) and accuracy against step."""

    def __init__(self, dpi):
        super().__init__((11, 2.6), dpi)
        self.cost_ax, self.accuracy_ax = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.07, right=0.99, bottom=0.2, top=0.86, wspace=0.2)
        (self.cost_line,) = self.cost_ax.plot([], [], ".-")
        (self.accuracy_line,) = self.accuracy_ax.plot([], [], ".-", color="tab:orange")
        self.cost_ax.set_yscale("log")
        self.cost_ax.axhline(math.log(10), color="gray", linestyle=":", label="ln 10")
        self.cost_ax.set(xlabel="step", title="training-batch cost")
        self.cost_ax.legend(fontsize=8)
        self.accuracy_ax.axhline(10, color="gray", linestyle=":", label="chance")
        self.accuracy_ax.set(xlabel="step", ylim=(0, 100), title="training-batch accuracy (%)")
        self.accuracy_ax.legend(fontsize=8)

    def draw(self, history, steps):
        costs = np.asarray(history.costs, dtype=float)
        costs = np.where(np.isfinite(costs) & (costs > 0), costs, np.nan)
        self.cost_line.set_data(history.steps, costs)
        self.accuracy_line.set_data(history.steps, 100 * np.asarray(history.accuracies))
        for ax in (self.cost_ax, self.accuracy_ax):
            ax.set_xlim(-0.5, max(steps, 1) - 0.5)
        finite = costs[np.isfinite(costs)]
        if finite.size:
            low, high = min(finite.min(), math.log(10)), max(finite.max(), math.log(10))
            self.cost_ax.set_ylim(low / 1.5, high * 1.5)
        return self.png()


# ------------------------------------------------------------------------------------ helpers


def _verdict_of(layers):
    """stats.verdict from the two standard deviations it needs (cheaper than all the stats)."""
    return verdict({name: {"std": layers[name]["std"]} for name in ("layer1_conv", "layer4_conv")})


def _overflow_note(outputs):
    bad = sum(int(np.size(v) - np.isfinite(v).sum()) for v in outputs.values())
    if not bad:
        return ""
    return (
        f"<span style='color:#b00020'>{bad} outputs overflowed to inf or NaN: "
        "the scales are too large for float32</span>"
    )


def _half_width(values):
    if values.size == 0:
        return 1.0
    limit = float(np.abs(values).max())
    return limit if limit > 0 else 1.0


def _is_good(scheme, scale):
    try:
        check_scheme(scheme)
        check_scale(scale)
    except (TypeError, ValueError):
        return False
    return True


def _escape(text):
    return html.escape(str(text))
