"""Make notebooks/images/playground.png, the still picture of notebook 5's playground, and its
sidecar notebooks/images/playground.json.

The picture is the playground as a learner first sees it: JupyterLab on localhost opens
notebooks/05_playground.ipynb in headless Chromium (benchmarks/jupyterlab_browser.py, as the
browser tests do), runs the cells down to the one that displays the playground (Run > Run All
Above Selected Cell), and screenshots the widget: the He + Xavier preset, untouched, not trained.

At the moment of the screenshot the sidecar records what the picture shows: from the page, the
verdict line and each layer's scheme and scale readout; from the notebook's kernel (a silent
request that leaves the page as it is), each histogram's title, i.e. the std it displays, after
checking that the histogram in the page is the one those titles belong to. It also holds the
png's sha256. tests/test_playground.py checks the sidecar against the preset's numbers computed
in-process, and the png against that sha256.

Run from the repository root, with the test extra installed and Debian's Chromium at
/usr/bin/chromium (about a minute): ``python benchmarks/playground_picture.py``. Then look at
the picture and commit both files together. Nothing is written until every check has passed,
and the notebook is left as it was.
"""

import ast
import hashlib
import json
from pathlib import Path
import tempfile
import urllib.request

from jupyter_client import BlockingKernelClient
from jupyterlab_browser import (
    REPO,
    jupyterlab,
    launch_chromium,
    open_notebook,
    run_cells,
    untouched,
)
from playwright.sync_api import sync_playwright

NOTEBOOK = "notebooks/05_playground.ipynb"
PICTURE = REPO / "notebooks" / "images" / "playground.png"
SIDECAR = PICTURE.with_suffix(".json")
REDRAW_S = 60
WINDOW = {"width": 1400, "height": 1600}  # tall enough for the whole widget in the notebook
MARGIN = 4  # pixels of the page kept around the widget
# Every code cell above the selected one has run (an error leaves the rest unnumbered).
RAN_ABOVE = """() => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
    const selected = cells.findIndex(cell => cell.classList.contains('jp-mod-active'));
    return cells.slice(0, selected).filter(cell => cell.classList.contains('jp-CodeCell'))
        .every(cell => /\\[\\d+\\]/.test(cell.querySelector('.jp-InputPrompt').textContent));
}"""
# Evaluated in the notebook's kernel: the histograms' titles and the sha256 of their picture.
KERNEL_EXPRESSIONS = {
    "titles": "[title.get_text() for title in playground._histograms.titles]",
    "sha256": "__import__('hashlib').sha256(playground.histogram_image.value).hexdigest()",
}


def main():
    with tempfile.TemporaryDirectory() as folder, untouched(REPO / NOTEBOOK):
        folder = Path(folder)
        with jupyterlab(folder) as (base, token), sync_playwright() as playwright:
            browser = launch_chromium(playwright, folder / "chromium-profile")
            try:
                page = browser.new_page()
                page.set_default_timeout(REDRAW_S * 1000)
                page.set_viewport_size(WINDOW)
                open_notebook(page, base, token, NOTEBOOK)
                playground = _open_playground(page)
                png, shown = _take_picture(page, playground)
                kernel = _ask_kernel(base, token, folder / "runtime")
            finally:
                browser.close()
    if kernel["sha256"] != shown.pop("histogram_sha256"):
        raise RuntimeError("the page's histogram is not the one the kernel drew")
    shown["std"] = dict(title.split("\nstd ") for title in kernel["titles"])
    shown["png_sha256"] = hashlib.sha256(png).hexdigest()
    PICTURE.write_bytes(png)
    SIDECAR.write_text(json.dumps(shown, indent=2) + "\n")
    print(f"wrote {PICTURE.relative_to(REPO)} and {SIDECAR.relative_to(REPO)}:\n"
          f"{json.dumps(shown, indent=2)}")


def _open_playground(page):
    """Select the cell after the playground's, run every cell above it; the widget's box."""
    display = page.locator(".jp-CodeCell", has_text="display(playground)")
    display.locator("xpath=following-sibling::*[1]").locator(".jp-InputPrompt").click()
    run_cells(page, "Run All Above Selected Cell", RAN_ABOVE)
    playground = display.locator(".jp-OutputArea-output .widget-vbox").first
    playground.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=playground.locator(".widget-image").first.element_handle())
    return playground


def _take_picture(page, playground):
    """The widget's screenshot (PNG bytes) and what the page shows of it at that moment."""
    page.mouse.move(0, 0)  # no hover effect or tooltip in the picture
    playground.evaluate("box => box.scrollIntoView({block: 'center'})")
    box = playground.bounding_box()
    panel = page.locator(".jp-NotebookPanel-notebook").bounding_box()
    if box["y"] - MARGIN < panel["y"] or box["y"] + box["height"] + MARGIN > (
            panel["y"] + panel["height"]):
        raise RuntimeError(f"the playground ({box['height']:.0f} px) does not fit in the "
                           f"notebook's panel ({panel['height']:.0f} px): enlarge WINDOW")
    png = page.screenshot(animations="disabled", clip={
        "x": box["x"] - MARGIN, "y": box["y"] - MARGIN,
        "width": box["width"] + 2 * MARGIN, "height": box["height"] + 2 * MARGIN})
    rows = playground.locator(".widget-hbox").filter(has=page.locator(".widget-dropdown"))
    layers = {}
    for index in range(rows.count()):
        row = rows.nth(index)
        select = row.locator("select")
        layers[row.locator(".widget-html").inner_text().split()[0]] = {
            "scheme": select.evaluate(
                "s => s.options[s.selectedIndex].text.replace(/\\u00a0/g, ' ')"),
            "scale": row.locator(".widget-readout").inner_text(),
        }
    histogram = playground.locator(".widget-image").first.evaluate(
        "async img => [...new Uint8Array(await (await fetch(img.src)).arrayBuffer())]")
    return png, {
        "made_by": "python benchmarks/playground_picture.py",
        "notebook": NOTEBOOK,
        "verdict": playground.locator(".widget-html", has_text="verdict").inner_text(),
        "layers": layers,
        "histogram_sha256": hashlib.sha256(bytes(histogram)).hexdigest(),
    }


def _ask_kernel(base, token, runtime):
    """KERNEL_EXPRESSIONS evaluated in the notebook's kernel, as Python values.

    A silent execute request with user expressions: nothing is printed, counted or changed in
    the page. The kernel is found through the server's sessions and its connection file.
    """
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as response:
        (kernel_id,) = [session["kernel"]["id"] for session in json.loads(response.read())
                        if session["path"] == NOTEBOOK]
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        reply = client.execute_interactive("", silent=True, store_history=False,
                                           user_expressions=KERNEL_EXPRESSIONS, timeout=60)
    finally:
        client.stop_channels()
    values = {}
    for name, value in reply["content"]["user_expressions"].items():
        if value["status"] != "ok":
            raise RuntimeError(f"the kernel could not evaluate {KERNEL_EXPRESSIONS[name]!r}: "
                               f"{value['ename']}: {value['evalue']}")
        values[name] = ast.literal_eval(value["data"]["text/plain"])
    return values


if __name__ == "__main__":
    main()
