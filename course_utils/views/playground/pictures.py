"""The playground's pictures: matplotlib figures drawn without pyplot, and an HTML table.

Each panel keeps its figure and updates it in place, then hands PNG bytes (or HTML) to the
view. They draw what :mod:`course_utils.views.plots` draws for the notebooks, reusing its helpers:
the histograms are updated in place (a redraw must take well under 0.3 s), the training
curve is :func:`~course_utils.views.plots.plot_history` itself.
"""

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
import numpy as np

from ...core.arguments import valid_choice
from ...core.network import CONV_LAYERS
from ...core.stats import finite_values, format_number
from ..plots import SCALES, plot_history, symmetric_limit

BINS = 60


class _Panel:
    """A matplotlib Figure (no pyplot) whose artists are updated in place and sent as PNG."""

    def __init__(self, figsize, dpi):
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)

    def png(self):
        buffer = io.BytesIO()
        self.canvas.print_png(buffer, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


class HistogramPanel(_Panel):
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
        """Redraw from ``PlaygroundState.conv_values()`` on one of :data:`plots.SCALES`."""
        valid_choice("histogram scale", scale, SCALES)
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


def _bin_counts(values, limit):
    """Counts of ``values`` in BINS equal bins over [-limit, limit] (the ends go in the ends)."""
    index = ((values / limit + 1) * (BINS / 2)).astype(np.int64)  # no overflow near float32 max
    np.clip(index, 0, BINS - 1, out=index)
    return np.bincount(index, minlength=BINS)


class LogitsTable:
    """Digits, logits and softmax predictions of the first rows, as a coloured HTML table.

    The same picture as :func:`course_utils.views.plots.plot_logits_and_predictions` (logits on a
    red-blue scale symmetric around 0, predictions on viridis from 0 to 1, each cell with its
    value), but built as HTML: a few milliseconds instead of a matplotlib render.
    """

    def __init__(self, images):
        self.digits = [_digit_cell(image) for image in images]

    def html(self, outputs):
        rows = len(self.digits)
        logits = np.asarray(outputs["logits"], dtype=np.float64)[:rows]
        predictions = np.asarray(outputs["predictions"], dtype=np.float64)[:rows]
        limit = symmetric_limit(finite_values(logits))
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


class CurvePanel(_Panel):
    """Training-batch cost (log scale) and accuracy against step: plots.plot_history's picture."""

    def __init__(self, dpi):
        super().__init__((11, 2.6), dpi)
        self.axes = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.07, right=0.99, bottom=0.2, top=0.86, wspace=0.2)

    def draw(self, history, steps):
        """The curve of ``history`` on an x-axis of ``steps`` steps, as PNG bytes."""
        plot_history({"this run": history}, axes=self.axes)
        for ax in self.axes:
            ax.set_xlim(-0.5, max(steps, 1) - 0.5)
        return self.png()
