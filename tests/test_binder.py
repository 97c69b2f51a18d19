"""Binder's configuration, run for real (MAINTAINING.md, "Binder").

mybinder.org builds the course with repo2docker, which runs binder/postBuild once when it builds
the image and binder/start at every launch. The tests check that:

- postBuild installs binder/overrides.json and binder/jupyter_server_config.json where
  JupyterLab and the Jupyter server read them. It runs from a temporary folder with
  NB_PYTHON_PREFIX set to a temporary prefix and `pip` replaced by a stub on PATH;
- a Jupyter server reading that prefix's configuration culls idle kernels with the course's
  values: a ServerApp is initialised in a subprocess and its kernel manager's traits are read;
- the Binder lock pins jupyter-server-proxy, as pyproject's `binder` extra asks;
- in JupyterLab started with that prefix's settings and configuration, closing a notebook's tab
  shuts its kernel down. Headless Chromium drives it through Playwright (the browser and
  arguments of tests/test_browser.py): it opens a throw-away notebook in a temporary root, runs
  its cell, checks that /api/kernels lists one kernel and that the server's log shows the
  culler running, closes the tab with its close icon and waits for /api/kernels to be empty;
- binder/start runs the command it is given, with TENSORBOARD_PROXY_URL under the server's
  prefix. That address, with TensorBoard's port in place of %PORT%, answers with TensorBoard's
  page through jupyter-server-proxy on a Jupyter server whose base URL is a JupyterHub user's
  prefix. With jupyter-server-proxy switched off, the same address answers 404 (the control).

The browser test skips when /usr/bin/chromium or the playwright package is missing. Every
server runs in its own process group and is stopped, with a time limit, whatever happens.
"""

import json
import os
from pathlib import Path
import secrets
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
import pytest
from test_browser import (  # noqa: F401  (sync_playwright: a fixture, found by its name)
    _free_port,
    _stop,
    jupyterlab_command,
    launch_chromium,
    sync_playwright,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
HUB_PREFIX = "/user/learner-abc/"  # what JupyterHub sets JUPYTERHUB_SERVICE_PREFIX to
CULLING = {"cull_idle_timeout": 600, "cull_interval": 60, "cull_connected": False,
           "cull_busy": False}
SERVER_START_S = 90
KERNEL_GONE_S = 30


def _start(command, log_path, **popen):
    """Start ``command`` in its own process group, its output going to ``log_path``."""
    with open(log_path, "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **popen)


def _get(url, token=None, timeout=10):
    """(status, body) of a GET; ``token`` goes into the Authorization header."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def _wait_until_answering(process, url, log_path, token=None):
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[:3]} exited with {process.returncode}:\n"
                        f"{log_path.read_text()}")
        try:
            if _get(url, token, timeout=2)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {SERVER_START_S} s:\n{log_path.read_text()}")


def _isolated_env(tmp_path, **extra):
    """The environment with Jupyter's per-user folders moved into ``tmp_path``."""
    folders = {name: tmp_path / name for name in ("jupyter-config", "runtime", "ipython")}
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(folders["jupyter-config"]),  # no ~/.jupyter
        "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
        "IPYTHONDIR": str(folders["ipython"]),
        **extra,
    }


# ----------------------------------------------------------------------------------------------
# postBuild and what it installs


def _run_post_build(tmp_path):
    """Run binder/postBuild from an empty folder with a stub `pip`; return (result, prefix,
    the stub's log of its arguments)."""
    prefix, stubs, work = tmp_path / "prefix", tmp_path / "stubs", tmp_path / "work"
    for folder in (prefix, stubs, work):
        folder.mkdir(exist_ok=True)
    pip_log = tmp_path / "pip-arguments.txt"
    (stubs / "pip").write_text('#!/bin/sh\necho "$@" >> "$PIP_LOG"\nexit 0\n')
    (stubs / "pip").chmod(0o755)
    env = {**os.environ, "NB_PYTHON_PREFIX": str(prefix), "PIP_LOG": str(pip_log),
           "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(BINDER / "postBuild")], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)
    return result, prefix, pip_log


@pytest.fixture
def binder_prefix(tmp_path):
    """A prefix (NB_PYTHON_PREFIX on Binder) that binder/postBuild has filled."""
    result, prefix, _ = _run_post_build(tmp_path)
    assert result.returncode == 0, result.stderr
    return prefix


def test_post_build_installs_the_course_and_both_settings_files(tmp_path):
    result, prefix, pip_log = _run_post_build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert pip_log.read_text().splitlines() == ["install --no-deps -e ."]
    installed = {
        "overrides.json": prefix / "share/jupyter/lab/settings/overrides.json",
        "jupyter_server_config.json": prefix / "etc/jupyter/jupyter_server_config.json",
    }
    for name, path in installed.items():
        assert path.read_bytes() == (BINDER / name).read_bytes(), path
    # What each file says (the browser and culling tests below check what it does).
    overrides = json.loads((BINDER / "overrides.json").read_text())
    assert overrides == {"@jupyterlab/notebook-extension:tracker": {
        "kernelShutdown": True, "autoStartDefaultKernel": True}}
    config = json.loads((BINDER / "jupyter_server_config.json").read_text())
    assert config == {"MappingKernelManager": CULLING}


def test_post_build_runs_twice_but_never_overwrites_another_server_config(tmp_path):
    assert _run_post_build(tmp_path)[0].returncode == 0
    assert _run_post_build(tmp_path)[0].returncode == 0  # the same file: nothing to refuse
    server_config = tmp_path / "prefix/etc/jupyter/jupyter_server_config.json"
    server_config.write_text('{"ServerApp": {"shutdown_no_activity_timeout": 600}}')
    result = _run_post_build(tmp_path)[0]
    assert result.returncode == 1
    assert "exists already" in result.stderr
    assert "shutdown_no_activity_timeout" in server_config.read_text()


# The effective values, read from the kernel manager of a ServerApp that loaded its
# configuration the way the server on Binder does (its config path, here the prefix's).
_READ_CULLING = textwrap.dedent("""
    import json
    from jupyter_server.serverapp import ServerApp
    app = ServerApp()
    app.initialize(argv=[], find_extensions=False, new_httpserver=False)
    manager = app.kernel_manager
    names = ["cull_idle_timeout", "cull_interval", "cull_connected", "cull_busy"]
    print(json.dumps({"class": type(manager).__name__,
                      "values": {name: getattr(manager, name) for name in names}}))
""")


def test_the_jupyter_server_culls_idle_kernels_with_the_binder_config(binder_prefix, tmp_path):
    env = _isolated_env(tmp_path, JUPYTER_CONFIG_PATH=str(binder_prefix / "etc/jupyter"))
    result = subprocess.run([sys.executable, "-c", _READ_CULLING], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout.strip().splitlines()[-1])
    assert "MappingKernelManager" in effective["class"]  # the culler's traits live there
    assert effective["values"] == CULLING


def test_the_binder_lock_pins_jupyter_server_proxy():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert "course-utils[binder]" in extras["test"]  # the tests below need it installed
    lock = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", "-")):
            requirement = Requirement(line.split("#", 1)[0])
            lock[canonicalize_name(requirement.name)] = requirement
    assert "--extra binder" in (BINDER / "requirements.txt").read_text().splitlines()[1]
    for wanted in map(Requirement, extras["binder"]):
        pinned = lock[canonicalize_name(wanted.name)]
        (version,) = (Version(spec.version) for spec in pinned.specifier)
        assert wanted.specifier.contains(version), f"the lock pins {pinned}, pyproject {wanted}"


# ----------------------------------------------------------------------------------------------
# Closing a notebook's tab shuts its kernel down (binder/overrides.json, in a real JupyterLab)


THROW_AWAY = "closing.ipynb"


@pytest.fixture
def lab_on_binder_settings(binder_prefix, tmp_path):
    """JupyterLab with the settings and server config postBuild installed, serving a temporary
    root that holds a one-cell notebook; yields its base URL and token; always stopped."""
    root = tmp_path / "root"
    root.mkdir()
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "add", "metadata": {},
                   "outputs": [], "source": ["x = 1 + 1\n", "x"]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / THROW_AWAY).write_text(json.dumps(notebook))
    # The learner's own settings: none about kernels. Only no network calls from the page.
    user_settings = tmp_path / "user-settings" / "@jupyterlab" / "apputils-extension"
    user_settings.mkdir(parents=True)
    (user_settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    port, token = _free_port(), secrets.token_hex(16)
    command = jupyterlab_command(
        root, port, token,
        # Where JupyterLab reads overrides.json: <app_settings_dir>/overrides.json. On Binder
        # that is the default, <prefix>/share/jupyter/lab/settings; here the folder is named.
        f"--LabApp.app_settings_dir={binder_prefix / 'share/jupyter/lab/settings'}",
        f"--LabApp.user_settings_dir={tmp_path / 'user-settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}")
    env = _isolated_env(tmp_path, JUPYTER_CONFIG_PATH=str(binder_prefix / "etc/jupyter"))
    log_path = tmp_path / "jupyterlab.log"
    server = _start(command, log_path, cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(server, f"{base}/api/status", log_path, token)
        yield base, token, log_path
    finally:
        _stop(server)
        print(f"\nJupyterLab's log: {log_path}")


def _kernels(base, token):
    status, body = _get(f"{base}/api/kernels", token)
    assert status == 200, body
    return json.loads(body)


@pytest.mark.browser
@pytest.mark.slow
def test_closing_a_notebooks_tab_shuts_its_kernel_down(sync_playwright,  # noqa: F811
                                                       lab_on_binder_settings, tmp_path):
    base, token, log_path = lab_on_binder_settings
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, tmp_path / "chromium-profile")
        try:
            page = browser.new_page()
            page.set_default_timeout(SERVER_START_S * 1000)
            page.goto(f"{base}/lab/tree/{THROW_AWAY}?token={token}")
            _run_the_cell_once_the_kernel_is_connected(page, base, token)
            assert page.locator(".jp-NotebookPanel .jp-OutputArea-output").first.inner_text() \
                == "2"
            assert len(_kernels(base, token)) == 1
            # The server read binder/jupyter_server_config.json: its culler runs.
            assert ("Culling kernels with idle durations > 600 seconds at 60 second intervals"
                    in log_path.read_text())
            page.keyboard.press("Control+s")  # saved, so closing asks nothing
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=THROW_AWAY)
            page.locator(".lm-DockPanel-tabBar .jp-mod-dirty").wait_for(state="detached")

            tab.locator(".lm-TabBar-tabCloseIcon").click()

            tab.wait_for(state="detached")
            deadline = time.monotonic() + KERNEL_GONE_S
            while (kernels := _kernels(base, token)) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert kernels == [], (
                f"the notebook's tab is closed, but {len(kernels)} kernel(s) still run after "
                f"{KERNEL_GONE_S} s: {kernels}")
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure))
            print(f"\nscreenshot of the page when the test failed: {failure}")
            raise
        finally:
            browser.close()


def _run_the_cell_once_the_kernel_is_connected(page, base, token):
    """Run the notebook's one cell (Ctrl+Enter) and wait for its prompt to show a number.

    The page can look idle a moment before its kernel connection is up; a cell run then does
    nothing. So: wait until the server counts the page's connection to an idle kernel, and run
    again if the prompt stays empty.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + SERVER_START_S
    while not any(kernel["connections"] and kernel["execution_state"] == "idle"
                  for kernel in _kernels(base, token)):
        if time.monotonic() > deadline:
            pytest.fail(f"no connected, idle kernel within {SERVER_START_S} s")
        time.sleep(0.5)
    prompt = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").first
    for attempt in range(3):
        page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first.click()
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function("p => /\\[\\d+\\]/.test(p.textContent)",
                                   arg=prompt.element_handle(), timeout=15_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


# ----------------------------------------------------------------------------------------------
# TensorBoard through jupyter-server-proxy (binder/start)


def _start_script(command, **env):
    """Run ``bash binder/start <command>`` in the environment plus ``env``; return its stdout."""
    environment = {key: value for key, value in os.environ.items()
                   if key != "JUPYTERHUB_SERVICE_PREFIX"}
    result = subprocess.run(["bash", str(BINDER / "start"), *command],
                            env={**environment, **env}, capture_output=True, text=True,
                            timeout=30, check=True)
    return result.stdout


def _exported(output):
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_start_sets_tensorboards_proxy_url_under_the_hubs_prefix():
    on_hub = _exported(_start_script(["env"], JUPYTERHUB_SERVICE_PREFIX=HUB_PREFIX))
    assert on_hub["TENSORBOARD_PROXY_URL"] == "/user/learner-abc/proxy/%PORT%/"
    alone = _exported(_start_script(["env"]))
    assert alone["TENSORBOARD_PROXY_URL"] == "/proxy/%PORT%/"


def test_start_hands_over_to_the_servers_command():
    assert _start_script(["sh", "-c", 'echo "$0|$1"', "a b", "c"]) == "a b|c\n"


@pytest.fixture(scope="module")
def tensorboard(tmp_path_factory):
    """TensorBoard on 127.0.0.1 with an empty log folder: yields its port; always stopped."""
    folder = tmp_path_factory.mktemp("tensorboard")
    (folder / "logs").mkdir()
    port = _free_port()
    log_path = folder / "tensorboard.log"
    process = _start([sys.executable, "-m", "tensorboard.main", "--logdir", str(folder / "logs"),
                      "--host", "127.0.0.1", "--port", str(port)], log_path, cwd=folder,
                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        _wait_until_answering(process, f"http://127.0.0.1:{port}/", log_path)
        yield port
    finally:
        _stop(process)


@pytest.fixture
def jupyter_server_on_the_hub(tmp_path):
    """Start a Jupyter server under HUB_PREFIX, with or without jupyter-server-proxy."""
    servers = []

    def start(proxy):
        port, token = _free_port(), secrets.token_hex(16)
        command = [
            sys.executable, "-m", "jupyter_server",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.base_url={HUB_PREFIX}",
            f"--ServerApp.root_dir={tmp_path}",
            f"--ServerApp.jpserver_extensions=jupyter_server_proxy={proxy}",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        log_path = tmp_path / f"jupyter-server-proxy-{proxy}.log"
        server = _start(command, log_path, cwd=tmp_path, env=_isolated_env(tmp_path))
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        _wait_until_answering(server, f"{base}{HUB_PREFIX}api/status", log_path, token)
        return base, token

    yield start
    for server in servers:
        _stop(server)


def _tensorboard_address(port):
    """The path %tensorboard frames on Binder: binder/start's TENSORBOARD_PROXY_URL with the
    port in place of %PORT%, as tensorboard.notebook does."""
    read = ["python3", "-c", "import os; print(os.environ['TENSORBOARD_PROXY_URL'])"]
    url = _start_script(read, JUPYTERHUB_SERVICE_PREFIX=HUB_PREFIX).strip()
    return url.replace("%PORT%", str(port))


@pytest.mark.slow
@pytest.mark.parametrize("proxy", [True, False], ids=["with-proxy", "control-without-proxy"])
def test_tensorboard_answers_through_the_jupyter_server_under_the_hubs_prefix(
        tensorboard, jupyter_server_on_the_hub, proxy):
    base, token = jupyter_server_on_the_hub(proxy)
    path = _tensorboard_address(tensorboard)
    assert path == f"/user/learner-abc/proxy/{tensorboard}/"

    status, body = _get(base + path, token)

    if proxy:
        assert status == 200, body[:500]
        assert "<title>TensorBoard</title>" in body and "<tb-webapp" in body, body[:500]
        # Without the token the server does not hand TensorBoard out.
        status, body = _get(base + path)
        assert "<tb-webapp" not in body
    else:
        assert status == 404, body[:500]
        assert "<tb-webapp" not in body
