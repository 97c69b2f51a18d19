"""The playground in a real browser: JupyterLab on localhost, driven by headless Chromium.

It starts JupyterLab in a subprocess (a free port, a random token, no browser of its own, the
repository as root, throw-away settings with autosave off), opens notebooks/05_playground.ipynb
in Debian's Chromium through Playwright, runs all cells from the Run menu, checks that the
widgets render, then picks another scheme, drags a scale slider, flips the histogram
x-scale and switches the activation to tanh and back to ReLU, checking that the histogram
picture changes each time; then loads the He + Xavier
preset, presses "train" and checks that the controls still answer while it trains and that the
training curve appears. A screenshot is saved to a temporary folder and its path printed
(``pytest -s`` shows it); on a failure, a screenshot of the page as it was is saved beside it.

Skipped when /usr/bin/chromium or the playwright package is missing (``apt-get install
chromium``; Playwright's own browser download is never used).
"""

import json
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the test skips; the name only has to exist
    PlaywrightTimeout = TimeoutError

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "notebooks/05_playground.ipynb"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
# Settings the test's JupyterLab starts with: never write the notebook back, never ask the network.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
    # Keep every cell in the page (no virtual scrolling), so the test sees all the prompts.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# Binder's own defaults (binder/overrides.json), given to the test's JupyterLab as user settings.
BINDER_OVERRIDES = json.loads((Path(__file__).resolve().parent.parent / "binder" / "overrides.json")
                              .read_text())
SERVER_START_S = 90
RUN_ALL_S = 240
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


def launch_chromium(playwright, profile):
    """Debian's Chromium, headless, driven by Playwright, with a throw-away profile folder."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000})


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost: yields its base URL and token; always stopped."""
    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-settings"
    merged = {name: dict(values) for name, values in LAB_SETTINGS.items()}
    for plugin, values in BINDER_OVERRIDES.items():  # "@scope/package:plugin"
        package, plugin_name = plugin.rsplit(":", 1)
        merged.setdefault(f"{package}/{plugin_name}.jupyterlab-settings", {}).update(values)
    for name, values in merged.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    for folder in ("runtime", "workspaces", "ipython"):
        (tmp_path / folder).mkdir()
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    log = (tmp_path / "jupyterlab.log").open("w")
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={REPO}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]
    if os.geteuid() == 0:  # CI and these machines run as root
        command.append("--allow-root")
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(server, f"{base}/api/status?token={token}", tmp_path / "jupyterlab.log")
        yield base, token
    finally:
        _stop(server)
        log.close()


def _wait_for_server(server, url, log_path):
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log_path.read_text()}")


def _stop(server):
    """SIGTERM to the server's own process group (it shuts its kernels down), then SIGKILL."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture
def untouched_notebook():
    """Fail if the test changed the committed notebook (restore it) or left checkpoints."""
    path = REPO / NOTEBOOK
    checkpoints = path.parent / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    before = path.read_bytes()
    yield
    if not had_checkpoints and checkpoints.exists():
        shutil.rmtree(checkpoints)
    if path.read_bytes() != before:
        path.write_bytes(before)
        pytest.fail(f"the browser session wrote to {NOTEBOOK}; restored the committed version")


def test_the_playground_renders_and_redraws_in_jupyterlab(sync_playwright, jupyterlab,
                                                           untouched_notebook, tmp_path):
    base, token = jupyterlab
    screenshot = tmp_path / "playground.png"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, tmp_path / "chromium-profile")
        try:
            page = browser.new_page()
            page.set_default_timeout(REDRAW_S * 1000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
            _wait_for_idle_kernel(page)

            _run_all_cells(page)

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

            playground.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot), full_page=False)
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure))
            print(f"\nscreenshot of the page when the test failed: {failure}")
            raise
        finally:
            browser.close()
    print(f"\nscreenshot of the playground in JupyterLab: {screenshot}")
    assert screenshot.stat().st_size > 10_000


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
                    timeout=SERVER_START_S * 1000)
                deadline = time.monotonic() + SERVER_START_S
                idle = ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']"
                while not page.locator(idle).count():
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


def _wait_for_idle_kernel(page):
    """Wait until the notebook's kernel is idle, accepting a "Select Kernel" dialog if one shows.

    JupyterLab sometimes asks which kernel to start even when the notebook names one; the test
    takes the one it proposes (the notebook's Python 3). Returns once the kernel has been idle
    with no dialog open for two seconds in a row.
    """
    deadline = time.monotonic() + SERVER_START_S
    calm_since = None
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and "Kernel" in dialog.first.inner_text():
            dialog.first.locator(".jp-mod-accept").first.click()
            calm_since = None
        elif page.locator(
            ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']"
        ).count():
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since > 2:
                return
        else:
            calm_since = None
        page.wait_for_timeout(250)
    pytest.fail(f"the notebook's kernel was not idle within {SERVER_START_S} s")


def _run_all_cells(page):
    """Run > Run All Cells, then wait until every code cell has run (no [*] prompt left)."""
    started = (
        "() => [...document.querySelectorAll('.jp-InputPrompt')]"
        ".some(p => p.textContent.includes('*'))"
    )
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(started, timeout=20_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 &&
                prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=RUN_ALL_S * 1000,
    )
    page.get_by_text("He (conv) + Xavier (fully connected)").first.wait_for()


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
