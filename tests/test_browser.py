"""The playground in a real browser: JupyterLab on localhost, driven by headless Chromium.

It starts JupyterLab in a subprocess and Debian's Chromium through Playwright (both from
benchmarks/jupyterlab_browser.py, which benchmarks/playground_picture.py shares), opens
notebooks/05_playground.ipynb, runs all cells from the Run menu, checks that the
widgets render, then picks another scheme, drags a scale slider, flips the histogram
x-scale and switches the activation to tanh and back to ReLU, checking that the histogram
picture changes each time; then loads the He + Xavier
preset, presses "train" and checks that the controls still answer while it trains and that the
training curve appears. On a failure, a screenshot of the page as it was is saved to a temporary
folder and its path printed (``pytest -s`` shows it).

Skipped when /usr/bin/chromium or the playwright package is missing (``apt-get install
chromium``; Playwright's own browser download is never used).
"""

import importlib.util
import json
from pathlib import Path
import time
import urllib.error
import urllib.request

import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "jupyterlab_browser", REPO / "benchmarks" / "jupyterlab_browser.py")
lab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab)
# What tests/test_binder.py and tests/test_site.py import from here.
CHROMIUM, CHROMIUM_ARGS, launch_chromium = lab.CHROMIUM, lab.CHROMIUM_ARGS, lab.launch_chromium
_free_port, _stop, jupyterlab_command = lab.free_port, lab.stop, lab.jupyterlab_command

NOTEBOOK = "notebooks/05_playground.ipynb"
# Every code cell of the notebook has run (an error leaves the cells after it unnumbered).
ALL_RAN = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .every(p => /\\[\\d+\\]/.test(p.textContent))"""
REDRAW_S = 60
TRAIN_S = 180

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def sync_playwright():
    """Playwright's sync API, or a skip that says what is missing (checked before the server)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")
    return sync_playwright


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost: yields its base URL and token; always stopped."""
    with lab.jupyterlab(tmp_path) as server:
        yield server


@pytest.fixture
def untouched_notebook():
    """Fail if the test changed the committed notebook (restore it) or left checkpoints."""
    with lab.untouched(REPO / NOTEBOOK):
        yield


def test_the_playground_renders_and_redraws_in_jupyterlab(sync_playwright, jupyterlab,
                                                           untouched_notebook, tmp_path):
    base, token = jupyterlab
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, tmp_path / "chromium-profile")
        try:
            page = browser.new_page()
            page.set_default_timeout(REDRAW_S * 1000)
            lab.open_notebook(page, base, token, NOTEBOOK)

            lab.run_cells(page, "Run All Cells", ALL_RAN)
            page.get_by_text("He (conv) + Xavier (fully connected)").first.wait_for()

            playground = page.locator(".jp-OutputArea-output .widget-vbox").first
            playground.wait_for(state="visible")
            assert page.get_by_text("Error displaying widget").count() == 0
            sliders = playground.locator(".widget-hslider")
            assert sliders.count() >= 5
            for index in range(5):
                assert sliders.nth(index).is_visible()
            assert "healthy" in playground.locator(".widget-html").all_inner_texts().__str__()
            picture = playground.locator(".widget-image").first
            picture.scroll_into_view_if_needed()

            # 1. Another scheme for layer4: N(0, 1) instead of He.
            before = _picture_state(picture)
            playground.locator(".widget-dropdown select").nth(3).select_option(label="N(0, 1)")
            after_dropdown = _wait_for_new_picture(page, picture, before)
            assert after_dropdown["png"] != before["png"]
            assert "exploding" in playground.inner_text()

            # 2. Drag layer2's scale slider to the right.
            handle = sliders.nth(1).locator(".noUi-handle")
            readout = sliders.nth(1).locator(".widget-readout")
            old_readout = readout.inner_text()
            handle.scroll_into_view_if_needed()
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 40, y, steps=8)
            page.mouse.move(x + 80, y, steps=8)
            page.mouse.up()
            after_slider = _wait_for_new_picture(page, picture, after_dropdown)
            assert after_slider["png"] != after_dropdown["png"]
            assert readout.inner_text() != old_readout
            assert page.get_by_text("not applied").count() == 0

            # 3. The per-layer x-scale.
            playground.locator(".widget-toggle-buttons button", has_text="per-layer").click()
            after_toggle = _wait_for_new_picture(page, picture, after_slider)
            assert after_toggle["png"] != after_slider["png"]

            # 4. tanh instead of ReLU after the conv layers (notebook 7), then ReLU again.
            toggles = playground.locator(".widget-toggle-buttons button")
            toggles.filter(has_text="tanh").click()
            after_tanh = _wait_for_new_picture(page, picture, after_toggle)
            assert after_tanh["png"] != after_toggle["png"]
            toggles.filter(has_text="ReLU").click()
            after_relu = _wait_for_new_picture(page, picture, after_tanh)
            assert page.get_by_text("not applied").count() == 0

            # 5. Back to the He + Xavier preset (the weights above would make training diverge).
            playground.locator("button", has_text="He (conv) + Xavier").click()
            after_preset = _wait_for_new_picture(page, picture, after_relu)
            assert "healthy" in playground.inner_text()

            # 6. Train in the background; the controls still answer meanwhile.
            playground.locator("button", has_text="train").click()
            playground.locator("button", has_text="stop").wait_for()
            playground.locator(".widget-dropdown select").nth(2).select_option(label="LeCun")
            _wait_for_new_picture(page, picture, after_preset)
            status = playground.get_by_text("step 30 of 30")
            status.wait_for(timeout=TRAIN_S * 1000)
            assert "training-batch cost" in status.inner_text()
            curve = playground.locator(".widget-image").nth(1)
            assert curve.is_visible() and curve.get_attribute("src")
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure))
            print(f"\nscreenshot of the page when the test failed: {failure}")
            raise
        finally:
            browser.close()


def test_opening_a_notebook_starts_its_kernel_without_asking(sync_playwright, jupyterlab,
                                                             tmp_path):
    """With Binder's settings, opening a notebook lands in a running kernel: no "Select Kernel"
    dialog, in any of three openings (each from no kernel at all). The dialog came from a race
    (the notebook's kernel name not yet resolved when it opens) that a slow server makes likelier;
    ``autoStartDefaultKernel`` in binder/overrides.json settles it."""
    base, token = jupyterlab
    notebook = "notebooks/01_large_weights.ipynb"
    before = (REPO / notebook).read_bytes()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, tmp_path / "chromium-profile")
        try:
            for opening, path in enumerate([notebook] * 3):
                page = browser.new_page()
                page.goto(f"{base}/lab/tree/{path}?token={token}")
                page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(
                    timeout=lab.SERVER_START_S * 1000)
                deadline = time.monotonic() + lab.SERVER_START_S
                while not page.locator(lab.IDLE_KERNEL).count():
                    dialog = page.locator(".jp-Dialog")
                    assert not dialog.count(), (
                        f"opening {opening + 1}: a dialog asked {dialog.first.inner_text()!r}")
                    assert time.monotonic() < deadline, f"opening {opening + 1}: no kernel"
                    page.wait_for_timeout(250)
                page.close()
                _shut_down_every_kernel(base, token)
        finally:
            browser.close()
    assert (REPO / notebook).read_bytes() == before


def _shut_down_every_kernel(base, token):
    """Delete every session and kernel through the server's REST API, as if none was ever open."""
    for kind in ("sessions", "kernels"):
        with urllib.request.urlopen(f"{base}/api/{kind}?token={token}", timeout=10) as response:
            for item in json.loads(response.read()):
                request = urllib.request.Request(
                    f"{base}/api/{kind}/{item['id']}?token={token}", method="DELETE")
                try:
                    urllib.request.urlopen(request, timeout=30).close()
                except urllib.error.HTTPError as error:
                    if error.code != 404:  # a session's kernel goes with it
                        raise


def _picture_state(picture):
    return {"src": picture.get_attribute("src"), "png": picture.screenshot()}


def _wait_for_new_picture(page, picture, before):
    """Wait for the Image widget's src to change, then return its new state."""
    deadline = time.monotonic() + REDRAW_S
    while time.monotonic() < deadline:
        src = picture.get_attribute("src")
        if src and src != before["src"]:
            page.wait_for_timeout(300)  # let the browser paint the new image
            return _picture_state(picture)
        page.wait_for_timeout(100)
    pytest.fail("the playground's picture did not change within "
                f"{REDRAW_S} s (src {before['src']!r})")
