"""A Binder session, simulated: a Jupyter server and its kernels inside a 2 GiB memory cgroup.

mybinder.org gives each session 2 GiB, enforced by a Linux memory cgroup (page cache counts).
This script builds such a cgroup (v1 ``memory.limit_in_bytes``, or v2 ``memory.max``), starts
JupyterLab inside it with Binder's configuration from ``binder/`` (its server config: the idle
kernel culler), and plays three learners through the server's own REST and websocket API, as
JupyterLab's front end does:

(a) ``in-order``: opens 01 to 08 one after the other, runs every cell, and closes the tab before
    opening the next. Binder's ``overrides.json`` sets JupyterLab's ``kernelShutdown``, so
    closing a tab shuts its kernel down (``tests/test_binder.py`` checks that in Chromium); here
    the learner's tab close is the same REST call, ``DELETE /api/sessions/<id>``.
(b) ``two-heaviest``: the two notebooks with the largest kernels (04 and 08) run at the same
    time, both kernels alive until both finish.
(c) ``tabs-open``: opens 01, 02, 03 and 04 one after the other, runs every cell, and leaves
    every tab open: each session stays, with a websocket connected to its kernel, as an open
    tab's is (so the culler, ``cull_connected: false``, spares it). Each notebook's first cell
    imports ``course_utils``, whose ``kernel_room`` shuts down idle kernels where the new one
    would not fit; what it told the learner (the first cell's output) is in the figures.

It reports the cgroup's peak usage, the time processes spent stalled waiting for memory
(``/proc/pressure/memory``, "some" and "full", system-wide: nothing outside the cgroup is short
of memory here, so it is the cgroup's), how often the limit was hit, OOM kills and kernels lost
(a kernel that died or restarted, or a cell that never finished; restarts the server logged
count too, for the kernels of tabs left open that nobody reads from), and the kernels the
course shut down. Goal: none lost, none stalled (waiting for memory at most 1 % of the time);
the exit status is 1 otherwise.

Shared libraries are charged to the cgroup that first reads them, so the page cache is dropped
first (``echo 3 > /proc/sys/vm/drop_caches``): TensorFlow's code is then charged to the session,
as on Binder.

Run as root on Linux, on a quiet machine: ``python benchmarks/binder_session.py`` (all three
learners), ``--learner in-order`` (or ``two-heaviest``, ``tabs-open``) for one, ``--limit-gib 2``.
"""

import argparse
import asyncio
import json
import os
from pathlib import Path
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HEAVIEST = ("04_side_by_side.ipynb", "08_training_dynamics.ipynb")
TABS_OPEN = NOTEBOOKS[:4]  # 01 to 04
LEARNERS = ("in-order", "two-heaviest", "tabs-open")
SERVER_CONFIG = ROOT / "binder" / "jupyter_server_config.json"
CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")
GIB = 2**30
CELL_TIMEOUT_S = 1800
# A session counts as stalled when its processes waited for memory more than this share of its
# time (PSI "some"); a thrashing one waits most of the time.
STALLED_SHARE = 0.01


class MemoryCgroup:
    """A fresh memory cgroup with a limit; its usage, peak, limit hits and OOM kills."""

    def __init__(self, name, limit_bytes):
        if (CGROUP_V1 / "memory.limit_in_bytes").exists():
            self.version, self.path = 1, CGROUP_V1 / name
        elif "memory" in (CGROUP_V2 / "cgroup.controllers").read_text().split():
            self.version, self.path = 2, CGROUP_V2 / name
        else:
            raise SystemExit("no memory cgroup controller (v1 or v2) is mounted here")
        if self.path.exists():
            self.path.rmdir()
        self.path.mkdir()
        limit = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        (self.path / limit).write_text(str(limit_bytes))
        if self.version == 2:
            (self.path / "memory.swap.max").write_text("0")
        self.limit = limit_bytes

    def read(self, name):
        return (self.path / name).read_text()

    def usage(self):
        return int(self.read("memory.usage_in_bytes" if self.version == 1 else "memory.current"))

    def peak(self):
        return int(self.read("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"))

    def limit_hits(self):
        if self.version == 1:
            return int(self.read("memory.failcnt"))
        return _fields(self.read("memory.events"))["max"]

    def oom_kills(self):
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        return _fields(self.read(name)).get("oom_kill", 0)

    def anonymous(self):
        """Bytes of anonymous memory (the processes' own; the rest of the usage is page cache)."""
        return _fields(self.read("memory.stat"))["rss" if self.version == 1 else "anon"]

    def processes(self):
        return [int(pid) for pid in self.read("cgroup.procs").split()]

    def join(self):
        """Put the calling process into the cgroup (used between fork and exec)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self):
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def _fields(text):
    return {key: int(value) for key, value in (line.split() for line in text.splitlines())}


def pressure_totals():
    """Microseconds that some / all non-idle tasks were stalled on memory, since boot."""
    totals = {}
    for line in Path("/proc/pressure/memory").read_text().splitlines():
        kind, *fields = line.split()
        totals[kind] = int(dict(field.split("=") for field in fields)["total"])
    return totals


class Sampler(threading.Thread):
    """Every 0.2 s: the cgroup's anonymous memory and how many of its processes wait in state D
    (uninterruptible: here, for a page to come back from disk)."""

    def __init__(self, cgroup):
        super().__init__(daemon=True)
        self.cgroup, self.stop = cgroup, threading.Event()
        self.samples, self.d_state_samples, self.anonymous_peak = 0, 0, 0

    def run(self):
        while not self.stop.wait(0.2):
            self.samples += 1
            self.anonymous_peak = max(self.anonymous_peak, self.cgroup.anonymous())
            states = []
            for pid in self.cgroup.processes():
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text()
                    states.append(stat.rsplit(")", 1)[1].split()[0])
                except (OSError, IndexError):
                    pass
            self.d_state_samples += "D" in states


class Server:
    """JupyterLab inside the cgroup, configured as on Binder, on a free port with a token."""

    def __init__(self, cgroup, workdir):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={ROOT}"]
        if SERVER_CONFIG.exists():
            command.append(f"--config={SERVER_CONFIG}")
        if os.geteuid() == 0:
            command.append("--allow-root")
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
               "IPYTHONDIR": str(workdir / "ipython"), "TF_CPP_MIN_LOG_LEVEL": "2",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        self.log = (workdir / "server.log").open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, preexec_fn=cgroup.join,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"JupyterLab did not start; see {workdir / 'server.log'}")

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_notebook(server, notebook, close_tab=True):
    """Open ``notebook`` as JupyterLab does (a session and its kernel), run every code cell over
    the kernel's websocket, then close the tab (delete the session) unless ``close_tab`` is
    false. Returns a result dict, and the open websocket (None once the tab is closed)."""
    from jupyter_client.jsonutil import json_default
    from jupyter_client.session import Session
    from tornado.websocket import websocket_connect

    relative = str(notebook.relative_to(ROOT))
    session = server.request("POST", "/api/sessions", {
        "path": relative, "name": notebook.name, "type": "notebook",
        "kernel": {"name": "python3"}})
    kernel_id = session["kernel"]["id"]
    url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels?token={server.token}"
    socket_ = await websocket_connect(url, max_message_size=1 << 30)
    messages = Session(key=b"", username="learner")
    cells = [cell for cell in json.loads(notebook.read_text())["cells"]
             if cell["cell_type"] == "code"]
    result = {"notebook": notebook.name, "cells": len(cells), "cells_done": 0, "error": None,
              "kernel_restarts": 0, "first_cell_output": ""}
    start = time.monotonic()
    try:
        for cell in cells:
            message = messages.msg("execute_request", {
                "code": "".join(cell["source"]), "silent": False, "store_history": True,
                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
            message["channel"] = "shell"
            await socket_.write_message(json.dumps(message, default=json_default))
            output = [] if result["cells_done"] == 0 else None
            reply = await _wait_for_reply(socket_, message["header"]["msg_id"], result, output)
            if output:
                result["first_cell_output"] = "".join(output)
            if reply is None:
                result["error"] = "the kernel went away or the cell timed out"
                break
            if reply["content"]["status"] != "ok":
                result["error"] = (f"{reply['content'].get('ename')}: "
                                   f"{reply['content'].get('evalue')}")
                break
            result["cells_done"] += 1
    finally:
        result["seconds"] = round(time.monotonic() - start, 1)
        kernel = server.request("GET", f"/api/kernels/{kernel_id}")
        result["kernel_state_at_end"] = kernel["execution_state"]
        if close_tab:
            socket_.close()
            server.request("DELETE", f"/api/sessions/{session['id']}")  # the learner closes it
            socket_ = None
    return result, socket_


async def _wait_for_reply(socket_, msg_id, result, output=None):
    """The shell reply to ``msg_id``, or None; the cell's stdout and stderr go into ``output``
    (a list) when one is given."""
    deadline = time.monotonic() + CELL_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(socket_.read_message(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            return None
        if raw is None:
            return None
        if isinstance(raw, bytes):  # a widget's message with binary buffers (iopub): not a reply
            continue
        message = json.loads(raw)
        if message.get("msg_type") == "status" and message["content"].get(
                "execution_state") in ("restarting", "dead"):
            result["kernel_restarts"] += 1
            return None
        if (output is not None and message.get("msg_type") == "stream"
                and message.get("parent_header", {}).get("msg_id") == msg_id):
            output.append(message["content"]["text"])
        if (message.get("channel") == "shell"
                and message.get("parent_header", {}).get("msg_id") == msg_id):
            return message
    return None


async def _in_order(server):
    results = []
    for notebook in NOTEBOOKS:
        results.append((await run_notebook(server, notebook))[0])
        print(f"  {results[-1]}", flush=True)
    return results


async def _two_heaviest(server):
    notebooks = [ROOT / "notebooks" / name for name in HEAVIEST]
    runs = await asyncio.gather(*(run_notebook(server, notebook) for notebook in notebooks))
    for result, _ in runs:
        print(f"  {result}", flush=True)
    return [result for result, _ in runs]


async def _tabs_open(server):
    """01 to 04 one after the other, every tab left open: its session and a connected
    websocket stay until the session ends (or until the course shuts that kernel down)."""
    results, sockets = [], []
    try:
        for notebook in TABS_OPEN:
            result, socket_ = await run_notebook(server, notebook, close_tab=False)
            results.append(result)
            sockets.append(socket_)
            print(f"  {result}", flush=True)
    finally:
        for socket_ in sockets:
            socket_.close()
    return results


PLAYS = {"in-order": _in_order, "two-heaviest": _two_heaviest, "tabs-open": _tabs_open}


def play(learner, limit_bytes, workdir):
    """One learner's session in a fresh cgroup and a fresh server; its figures."""
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")  # cold caches: TensorFlow is charged here
    cgroup = MemoryCgroup(f"course-binder-{learner}", limit_bytes)
    sampler = Sampler(cgroup)
    pressure_before = pressure_totals()
    start = time.monotonic()
    server = Server(cgroup, workdir)
    sampler.start()
    try:
        results = asyncio.run(PLAYS[learner](server))
        kernels_left = server.request("GET", "/api/kernels")
    finally:
        sampler.stop.set()
        sampler.join()
        server.stop()
    pressure_after = pressure_totals()
    restarts_logged = (workdir / "server.log").read_text().count("KernelRestarter: restarting")
    told_by = {r["notebook"]: r["first_cell_output"] for r in results if r["first_cell_output"]}
    figures = {
        "learner": learner,
        "limit_gib": limit_bytes / GIB,
        "cgroup_version": cgroup.version,
        "peak_gib": round(cgroup.peak() / GIB, 3),
        "anonymous_peak_gib": round(sampler.anonymous_peak / GIB, 3),
        "limit_hits": cgroup.limit_hits(),
        "oom_kills": cgroup.oom_kills(),
        "stalled_some_s": round((pressure_after["some"] - pressure_before["some"]) / 1e6, 2),
        "stalled_full_s": round((pressure_after["full"] - pressure_before["full"]) / 1e6, 2),
        "d_state_s": round(sampler.d_state_samples * 0.2, 1),
        "seconds": round(time.monotonic() - start, 1),
        # a notebook that failed or whose kernel restarted while it ran; the server's log also
        # shows restarts of kernels nobody was reading from (a tab left open)
        "kernels_lost": max(sum(r["error"] is not None or r["kernel_restarts"] > 0
                                for r in results), restarts_logged),
        "restarts_logged": restarts_logged,
        "kernels_shut_by_course": sum(told.split("shut down to make room")[0].count(".ipynb")
                                      for told in told_by.values()),
        "told": told_by,
        "kernels_left_running": len(kernels_left),
        "notebooks": results,
    }
    cgroup.remove()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", choices=LEARNERS, action="append",
                        help="which learner to play (repeatable; default all three)")
    parser.add_argument("--limit-gib", type=float, default=2.0, help="the cgroup's limit")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results"
                        / "binder_session.json", help="where to write the figures")
    args = parser.parse_args()
    if os.geteuid() != 0 or sys.platform != "linux":
        raise SystemExit("run as root on Linux: it creates a memory cgroup and drops caches")
    import tempfile

    all_figures = []
    for learner in args.learner or LEARNERS:
        print(f"learner {learner}: {args.limit_gib} GiB cgroup", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            workdir = Path(folder)
            for name in ("runtime", "ipython"):
                (workdir / name).mkdir()
            figures = play(learner, int(args.limit_gib * GIB), workdir)
        all_figures.append(figures)
        print(json.dumps({k: v for k, v in figures.items() if k != "notebooks"}), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(all_figures, indent=1))
    print("\n| learner | peak (anonymous) | limit hits | stalled (some / full) | D-state | "
          "OOM kills | kernels lost | shut down by the course | time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for f in all_figures:
        print(f"| {f['learner']} | {f['peak_gib']:.2f} ({f['anonymous_peak_gib']:.2f}) GiB of "
              f"{f['limit_gib']:g} | "
              f"{f['limit_hits']} | {f['stalled_some_s']} / {f['stalled_full_s']} s | "
              f"{f['d_state_s']} s | {f['oom_kills']} | "
              f"{f['kernels_lost']} of {len(f['notebooks'])} | "
              f"{f['kernels_shut_by_course']} | {f['seconds']} s |")
    for f in all_figures:
        for notebook, told in f["told"].items():
            print(f"{f['learner']}, {notebook} told the learner: {told.strip()}")
    failed = any(f["kernels_lost"] or f["oom_kills"]
                 or f["stalled_some_s"] > STALLED_SHARE * f["seconds"] for f in all_figures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
