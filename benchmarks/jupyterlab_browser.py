"""JupyterLab on localhost driven by headless Chromium: what the browser tests and
benchmarks/playground_picture.py share.

:func:`jupyterlab` starts a server (a free port, a random token, no browser of its own, the
repository as root, Binder's settings plus throw-away ones with autosave off) and always stops it;
:func:`launch_chromium` starts Debian's Chromium through Playwright (Playwright's own browser
download is never used); :func:`open_notebook` and :func:`run_cells` drive a notebook as a
learner does, from the Run menu; :func:`untouched` guards the committed notebook. Failures raise
``RuntimeError`` (no pytest here: a script uses it too).
"""

from contextlib import contextmanager
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

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
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
# Settings the server starts with: never write the notebook back, never ask the network.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
    # Keep every cell in the page (no virtual scrolling), so the prompts can all be seen.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# Binder's own defaults (binder/overrides.json), given to the server as user settings.
BINDER_OVERRIDES = json.loads((REPO / "binder" / "overrides.json").read_text())
SERVER_START_S = 90
RUN_CELLS_S = 240
IDLE_KERNEL = ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']"


def launch_chromium(playwright, profile):
    """Debian's Chromium, headless, driven by Playwright, with a throw-away profile folder."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000})


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyterlab(folder):
    """A JupyterLab server on localhost: yields its base URL and token; always stopped.

    Its settings, workspaces, IPython profile, log (``jupyterlab.log``) and runtime folder (the
    kernels' connection files, ``runtime/kernel-<id>.json``) go into ``folder``.
    """
    folder = Path(folder)
    port, token = free_port(), secrets.token_hex(16)
    _write_settings(folder / "lab-settings")
    for name in ("runtime", "workspaces", "ipython"):
        (folder / name).mkdir()
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "IPYTHONDIR": str(folder / "ipython"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    command = jupyterlab_command(REPO, port, token,
                                 f"--LabApp.user_settings_dir={folder / 'lab-settings'}",
                                 f"--LabApp.workspaces_dir={folder / 'workspaces'}")
    log_path = folder / "jupyterlab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for_server(server, f"{base}/api/status?token={token}", log_path)
            yield base, token
        finally:
            stop(server)


def jupyterlab_command(root, port, token, *options):
    """The command line of a JupyterLab server for ``root`` on 127.0.0.1:``port``.

    It opens no browser, takes ``token`` as its password and adds ``options`` (more
    ``--LabApp.*`` settings, say) at the end.
    """
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        *options,
    ]
    if os.geteuid() == 0:  # CI and these machines run as root
        command.append("--allow-root")
    return command


def _write_settings(settings):
    """LAB_SETTINGS and Binder's overrides (``"@scope/package:plugin"``) as user settings files."""
    merged = {name: dict(values) for name, values in LAB_SETTINGS.items()}
    for plugin, values in BINDER_OVERRIDES.items():
        package, plugin_name = plugin.rsplit(":", 1)
        merged.setdefault(f"{package}/{plugin_name}.jupyterlab-settings", {}).update(values)
    for name, values in merged.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))


def _wait_for_server(server, url, log_path):
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n"
                               f"{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n"
                       f"{log_path.read_text()}")


def stop(server):
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


@contextmanager
def untouched(notebook):
    """Restore ``notebook`` if the block changed it (then raise, unless the block raised) and
    remove the ``.ipynb_checkpoints`` folder that opening it made."""
    checkpoints = notebook.parent / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    before = notebook.read_bytes()
    try:
        yield
    finally:
        if not had_checkpoints and checkpoints.exists():
            shutil.rmtree(checkpoints)
        changed = notebook.read_bytes() != before
        if changed:
            notebook.write_bytes(before)
    if changed:
        raise RuntimeError(f"the browser session wrote to {notebook}; restored the committed one")


def open_notebook(page, base, token, notebook):
    """Open ``notebook`` (a path from the repository root) and wait for its idle kernel."""
    page.goto(f"{base}/lab/tree/{notebook}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=SERVER_START_S * 1000)
    wait_for_idle_kernel(page)


def wait_for_idle_kernel(page):
    """Wait until the notebook's kernel is idle, accepting a "Select Kernel" dialog if one shows.

    JupyterLab sometimes asks which kernel to start even when the notebook names one; this
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
        elif page.locator(IDLE_KERNEL).count():
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since > 2:
                return
        else:
            calm_since = None
        page.wait_for_timeout(250)
    raise RuntimeError(f"the notebook's kernel was not idle within {SERVER_START_S} s")


def run_cells(page, command, done):
    """Run > ``command`` (e.g. "Run All Cells"), then wait until no prompt shows ``[*]`` and
    the JavaScript predicate ``done`` holds (say, the last cell that had to run is numbered)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = (
        "() => [...document.querySelectorAll('.jp-InputPrompt')]"
        ".some(p => p.textContent.includes('*'))"
    )
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text=command).first.click()
        try:
            page.wait_for_function(started, timeout=20_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    page.wait_for_function(f"() => !({started})() && ({done})()", timeout=RUN_CELLS_S * 1000)
