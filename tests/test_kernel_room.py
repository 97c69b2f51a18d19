"""course_utils.kernel_room: room for a notebook's kernel where memory is capped (Binder).

The decision on made-up figures; the cgroup's limit read from a fake /sys tree; and the whole
path against a real Jupyter server with real kernels: started in a temporary folder on a free
port with a token, four kernels opened as notebooks' sessions, one kept busy, and the room made
for the youngest with made-up limits (the real ones here cap nothing).
"""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest

from course_utils import kernel_room
from course_utils.kernel_room import (
    Kernel,
    cgroup_memory,
    kernels_to_shut,
    make_room_for_this_kernel,
    message,
)

NEED = 1_300_000_000


def gb(figure):
    """Bytes, a whole number, from decimal GB."""
    return round(figure * 10**9)


def kernel(name, state="idle", last=0, memory=500_000_000, notebook=True):
    return Kernel(name, f"notebooks/{name}.ipynb" if notebook else None, state, last, memory)


# ----------------------------------------------------------------------------------------------
# The decision


def test_enough_room_shuts_nothing():
    kernels = [kernel("01", last=1), kernel("02", last=2)]
    assert kernels_to_shut(gb(2), gb(0.7), NEED, kernels, "this") == ([], gb(1.3))


def test_the_least_recently_active_idle_kernel_goes_first_and_only_as_many_as_needed():
    kernels = [kernel("03", last=3), kernel("01", last=1), kernel("02", last=2)]
    shut, free = kernels_to_shut(gb(2), gb(1.2), NEED, kernels, "this")
    assert [k.id for k in shut] == ["01"] and free == gb(1.3)
    shut, free = kernels_to_shut(gb(2), gb(1.7), NEED, kernels, "this")
    assert [k.id for k in shut] == ["01", "02"] and free == gb(1.3)
    shut, free = kernels_to_shut(gb(2), gb(1.7) + 1, NEED, kernels, "this")
    assert [k.id for k in shut] == ["01", "02", "03"] and free == gb(1.8) - 1


def test_busy_kernels_this_kernel_and_kernels_without_a_notebook_are_never_shut():
    kernels = [kernel("busy", state="busy", last=0), kernel("this", last=1),
               kernel("console", last=2, notebook=False), kernel("starting", "starting", last=3),
               kernel("unknown memory", last=4, memory=0), kernel("02", last=5)]
    shut, free = kernels_to_shut(gb(2), gb(1.9), NEED, kernels, "this")
    assert [k.id for k in shut] == ["02"]
    assert free == gb(0.6)  # still short: all that could be shut was


def test_what_the_learner_reads():
    shut = [kernel("01_large_weights"), kernel("02_small_weights")]
    told = message(shut, gb(1.5), NEED)
    assert "kernels of 01_large_weights.ipynb, 02_small_weights.ipynb were shut down" in told
    assert 'outputs stay on the pages, marked "No Kernel"' in told and "Only" not in told
    assert "kernel of 01_large_weights.ipynb was shut down" in message(shut[:1], gb(1.5), NEED)
    short = message([], gb(0.62), NEED)
    assert short.startswith("Only 0.6 GB of memory is free") and "about 1.3 GB" in short
    assert "close the tabs" in short and "Running Terminals and Kernels panel" in short
    assert "shut down to make room" not in short
    assert message(shut[:1], gb(0.9), NEED).count("Only 0.9 GB") == 1


def test_no_limit_or_no_kernel_does_nothing_and_asks_no_server(monkeypatch):
    def no_server(*args):
        raise AssertionError("asked for a server")

    monkeypatch.setattr(kernel_room, "find_server", no_server)
    this = ("this", "/nowhere/kernel-this.json")
    assert make_room_for_this_kernel(kernel=None) == []  # pytest is no kernel
    monkeypatch.setattr(kernel_room, "cgroup_memory", lambda: None)  # a laptop: no cap
    assert make_room_for_this_kernel(kernel=this) == []
    assert make_room_for_this_kernel(memory=(gb(2), gb(0.5)), kernel=this) == []  # room left


def test_short_memory_with_no_server_says_so_plainly(capsys, tmp_path):
    this = ("this", str(tmp_path / "kernel-this.json"))
    assert make_room_for_this_kernel(memory=(gb(2), gb(1.5)), kernel=this,
                                     runtime_dirs=[tmp_path]) == []
    assert capsys.readouterr().out.startswith("Only 0.5 GB of memory is free")


# ----------------------------------------------------------------------------------------------
# The cgroup's limit


def fake_cgroups(root, proc_lines, files):
    """A fake /proc/self/cgroup with ``proc_lines`` and a /sys/fs/cgroup tree under ``root``."""
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "proc_cgroup").write_text("\n".join(proc_lines) + "\n")
    return root / "proc_cgroup"


def test_v2_limit_less_the_page_cache(tmp_path):
    proc = fake_cgroups(tmp_path, ["0::/user/session"], {
        "user/session/memory.max": "2147483648\n",
        "user/session/memory.current": "2000000000\n",
        "user/session/memory.stat": "anon 900000000\nfile 1000000000\nshmem 100000000\n",
    })
    assert cgroup_memory(proc, tmp_path) == (2147483648, 1_100_000_000)


def test_v1_limit_of_the_memory_controller_line(tmp_path):
    proc = fake_cgroups(tmp_path, ["5:cpu,cpuacct:/other", "4:memory:/binder", "0::/"], {
        "memory/binder/memory.limit_in_bytes": "2147483648\n",
        "memory/binder/memory.usage_in_bytes": "1500000000\n",
        "memory/binder/memory.stat": "cache 7\ntotal_cache 500000000\ntotal_shmem 0\n",
    })
    assert cgroup_memory(proc, tmp_path) == (2147483648, 1_000_000_000)


def test_a_container_that_shows_its_cgroup_as_its_root(tmp_path):
    proc = fake_cgroups(tmp_path, ["0::/kubepods/pod1/container"], {
        "memory.max": "2000000000\n", "memory.current": "300000000\n",
        "memory.stat": "file 100000000\nshmem 0\n"})
    assert cgroup_memory(proc, tmp_path) == (2_000_000_000, 200_000_000)


@pytest.mark.parametrize("limit", ["max", "9223372036854771712"])
def test_max_or_a_huge_number_is_no_limit(tmp_path, limit):
    proc = fake_cgroups(tmp_path, ["0::/"], {
        "memory.max": limit + "\n", "memory.current": "1\n", "memory.stat": "file 0\n"})
    assert cgroup_memory(proc, tmp_path) is None


def test_no_cgroup_files_is_no_limit(tmp_path):
    proc = fake_cgroups(tmp_path, ["0::/"], {})
    assert cgroup_memory(proc, tmp_path) is None
    assert cgroup_memory(tmp_path / "no such file", tmp_path) is None


# ----------------------------------------------------------------------------------------------
# A real Jupyter server


class JupyterServer:
    """``jupyter server`` on a free port with a token, its runtime folder in ``folder``."""

    def __init__(self, folder):
        from test_browser import _free_port

        self.runtime = folder / "runtime"
        self.runtime.mkdir()
        for name in ("a", "b", "c", "this"):
            (folder / f"{name}.ipynb").write_text(json.dumps(
                {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{port}/"
        command = [sys.executable, "-m", "jupyter_server", "--no-browser",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={folder}"] + (["--allow-root"] * (os.geteuid() == 0))
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(self.runtime)}
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen(command, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._wait(lambda: self.call("GET", "api/status"), "the server to start")

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, method=method, data=data,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def open_notebook(self, name):
        """A notebook's session, as opening its tab makes it; its kernel's id."""
        return self.call("POST", "api/sessions", {"path": f"{name}.ipynb", "type": "notebook",
                                                  "name": name, "kernel": {"name": "python3"}}
                         )["kernel"]["id"]

    def state(self, kernel_id):
        return self.call("GET", f"api/kernels/{kernel_id}")["execution_state"]

    def _wait(self, check, what, seconds=60):
        deadline = time.monotonic() + seconds
        while True:
            try:
                if check():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {seconds} s for {what}")
            time.sleep(0.2)

    def stop(self):
        from test_browser import _stop

        _stop(self.process)
        self.log.close()


@pytest.fixture
def server(tmp_path):
    started = JupyterServer(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def connect(server, kernel_id):
    """A client of the kernel through its connection file, as a notebook's tab would be. The
    kernel's first answer makes the server's state for it "idle" (until then, "starting")."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(server.runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return client


def run_a_cell(server, client, kernel_id):
    """Run a cell and wait until the server has seen the kernel idle again: its last activity."""
    client.execute("1 + 1", reply=True, timeout=60)
    server._wait(lambda: server.state(kernel_id) == "idle", "an idle kernel")


def test_a_real_server_shuts_the_oldest_idle_kernels_only_as_many_as_needed(server, capsys):
    ids = {name: server.open_notebook(name) for name in ("a", "b", "c", "this")}
    clients = [connect(server, kernel_id) for kernel_id in ids.values()]
    for client, kernel_id in zip(clients, ids.values()):  # last active: a, then b, c, this
        run_a_cell(server, client, kernel_id)
    clients[0].execute("import time\ntime.sleep(120)")  # a, the oldest, is busy
    server._wait(lambda: server.state(ids["a"]) == "busy", "a busy kernel")
    try:
        memories = kernel_room.kernel_memories()
        assert all(memories.get(kernel_id, 0) > 10**6 for kernel_id in ids.values()), memories
        this = (ids["this"], str(server.runtime / f"kernel-{ids['this']}.json"))
        # One byte short: one kernel goes, the oldest idle one (b), not the busy a.
        shut = make_room_for_this_kernel(NEED, (gb(5), gb(3.7) + 1), this)
        assert [kernel.id for kernel in shut] == [ids["b"]]
        assert "b.ipynb was shut down" in capsys.readouterr().out
        left = {kernel["id"] for kernel in server.call("GET", "api/kernels")}
        assert left == {ids["a"], ids["c"], ids["this"]}
        assert {session["path"] for session in server.call("GET", "api/sessions")} == {
            "a.ipynb", "c.ipynb", "this.ipynb"}
        # Far too short: every idle kernel but this one goes, and the learner is told so.
        shut = make_room_for_this_kernel(NEED, (gb(5), gb(5)), this)
        assert [kernel.id for kernel in shut] == [ids["c"]]
        told = capsys.readouterr().out
        assert "c.ipynb was shut down" in told and "GB of memory is free" in told
        left = {kernel["id"] for kernel in server.call("GET", "api/kernels")}
        assert left == {ids["a"], ids["this"]} and server.state(ids["a"]) == "busy"
    finally:
        for client in clients:
            client.stop_channels()


def test_a_kernel_the_server_does_not_run_finds_no_server(server, capsys):
    """An idle kernel of a server is safe from a kernel that server does not run."""
    kernel_id = server.open_notebook("a")
    client = connect(server, kernel_id)
    try:
        run_a_cell(server, client, kernel_id)
        stranger = ("not-a-kernel-of-this-server", str(server.runtime / "kernel-x.json"))
        assert make_room_for_this_kernel(NEED, (gb(2), gb(1.9)), stranger) == []
        assert capsys.readouterr().out.startswith("Only 0.1 GB")
        assert [kernel["id"] for kernel in server.call("GET", "api/kernels")] == [kernel_id]
    finally:
        client.stop_channels()


def test_this_kernel_is_named_by_its_connection_file(monkeypatch):
    import ipykernel.connect
    import ipykernel.kernelapp  # noqa: F401

    assert kernel_room.this_kernel() is None  # ipykernel imported, but pytest is no kernel
    path = "/run/user/1000/jupyter/runtime/kernel-1b2c-3d.json"
    monkeypatch.setattr(ipykernel.connect, "get_connection_file", lambda: path)
    assert kernel_room.this_kernel() == ("1b2c-3d", path)
