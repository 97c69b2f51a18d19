"""Room for this notebook's kernel where memory is capped, before TensorFlow loads.

JupyterLab keeps every notebook's tab, and its kernel, until the learner closes the tab; on
Binder a whole session (the server and every kernel) is capped at 2 GB by a memory cgroup, and a
kernel of this course takes 0.8 to 1.3 GB. With three notebooks open the Linux OOM killer ends
one kernel, or the session thrashes for minutes. So ``import course_utils``, the first code cell
of every notebook, first calls :func:`make_room_for_this_kernel`:

1. Outside a Jupyter kernel (plain Python, pytest, the CLI), or where no cgroup caps memory (a
   laptop), it returns at once: a few small files read, no network.
2. If the memory left (the cgroup's limit less what its processes hold) holds a kernel of this
   course, it returns.
3. Otherwise it asks the Jupyter server this kernel belongs to for its kernels and shuts down
   the idle ones that serve a notebook, least recently used first, only as many as needed; never
   a busy kernel, never this one. It prints which notebooks' kernels it shut down: their outputs
   stay on the page (JupyterLab marks it "No Kernel"), and running a cell there starts a fresh
   kernel.
4. If that is not enough, it says so in one sentence, and the import goes on.

``kernels_to_shut`` makes the decision from figures alone; the other functions read the cgroup,
``/proc`` and the server's REST API. This module must not import TensorFlow.
"""

from dataclasses import dataclass
from datetime import datetime
import json
import os
from pathlib import Path
import re
import sys

# What a kernel of this course needs: the largest peak of one notebook kernel alone, 1.26 GB for
# 08 (01 to 07: 0.80 to 1.06 GB), in benchmarks/README.md ("peak memory of each notebook kernel
# alone"). It counts TensorFlow's shared libraries (about 0.5 GB), which a second kernel shares
# and which are page cache, not "used" (cgroup_memory): in 2 GB, a new kernel beside one idle
# kernel (about 0.5 GB its own) finds room; beside two, the older one is shut down.
KERNEL_NEEDS = 1_300_000_000
NO_LIMIT = 2**60  # cgroup v1 writes "no limit" as a number near 2**63
GB = 1e9

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")
# Per cgroup version: the controller's folder under CGROUP_ROOT, the limit and usage files, and
# the memory.stat keys of the page cache and of shared memory (v1 keys count sub-cgroups too).
CGROUP_FILES = {
    1: ("memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_cache", "total_shmem"),
    2: ("", "memory.max", "memory.current", "file", "shmem"),
}


@dataclass(frozen=True)
class Kernel:
    """One kernel of the server: its id, the notebook it serves (None: no notebook), its
    ``execution_state`` ("idle", "busy", ...), its last activity (anything that sorts in time)
    and the bytes its process holds on its own (what shutting it down gives back; 0: unknown)."""

    id: str
    notebook: str | None
    state: str
    last_activity: object
    memory: int


def kernels_to_shut(limit, used, need, kernels, this_kernel):
    """The kernels to shut down so that ``need`` bytes are free, and the bytes free after.

    Free is ``limit - used``. Nothing is shut when that already holds ``need``. Otherwise the
    candidates are the idle kernels that serve a notebook and hold memory, never ``this_kernel``:
    the least recently active first, until enough is free. Where even all of them are not
    enough, all of them are shut (each gives room back) and the free bytes say it is not enough.
    """
    free = limit - used
    candidates = sorted(
        (kernel for kernel in kernels
         if kernel.state == "idle" and kernel.id != this_kernel and kernel.notebook
         and kernel.memory > 0),
        key=lambda kernel: kernel.last_activity)
    chosen = []
    for kernel in candidates:
        if free >= need:
            break
        chosen.append(kernel)
        free += kernel.memory
    return chosen, free


def cgroup_memory(proc_cgroup=PROC / "self" / "cgroup", root=CGROUP_ROOT):
    """(limit, used) in bytes of this process's memory cgroup; None where no limit caps it.

    The cgroup comes from ``proc_cgroup`` (v1's ``memory`` line, else v2's ``0::`` line); its
    folder under ``root``, or ``root`` itself where a container shows its own cgroup as ``/``.
    Used is the cgroup's usage less its page cache, which Linux gives back when a process needs
    the memory (shared memory stays: it cannot be given back without swap). Counting the cache,
    a session that ran a few notebooks one at a time would look full (it fills the limit).
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    found = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            found[1] = path
        elif controllers == "":
            found[2] = path
    for version in (1, 2):
        if version in found:
            figures = _read_cgroup(root, found[version], *CGROUP_FILES[version])
            if figures is not None:
                return figures
    return None


def _read_cgroup(root, path, controller, limit_file, usage_file, cache_key, shmem_key):
    """(limit, used) from one cgroup's files; None where they are missing or say no limit."""
    for folder in (root / controller / path.lstrip("/"), root / controller):
        try:
            limit = (folder / limit_file).read_text().strip()
            usage = int((folder / usage_file).read_text())
            stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
        except (OSError, ValueError):
            continue
        if limit == "max" or int(limit) >= NO_LIMIT:
            return None
        return int(limit), usage - int(stat.get(cache_key, 0)) + int(stat.get(shmem_key, 0))
    return None


def this_kernel():
    """(kernel id, connection file) of the Jupyter kernel running this code, or None outside
    one. The server names a kernel's connection file ``kernel-<id>.json``."""
    if "ipykernel.kernelapp" not in sys.modules:
        return None
    from ipykernel.connect import get_connection_file

    try:
        connection_file = get_connection_file()
    except RuntimeError:  # ipykernel imported, but no kernel runs here
        return None
    match = re.fullmatch(r"kernel-(.+)\.json", Path(connection_file).name)
    return (match.group(1), connection_file) if match else None


def kernel_memories(proc=PROC):
    """{kernel id: bytes its process holds on its own} for the kernels whose processes this one
    can see: the anonymous memory (``/proc/<pid>/smaps_rollup``) of every process whose command
    line names a ``kernel-<id>.json``."""
    memories = {}
    for folder in proc.glob("[0-9]*"):
        try:
            command = (folder / "cmdline").read_bytes().decode(errors="replace")
            match = re.search(r"kernel-([0-9a-f-]+)\.json", command)
            if match:
                rollup = (folder / "smaps_rollup").read_text()
                kilobytes = int(re.search(r"^Anonymous:\s+(\d+) kB", rollup, re.M).group(1))
                memories[match.group(1)] = kilobytes * 1024
        except (OSError, AttributeError):  # gone meanwhile, or not ours to read
            continue
    return memories


def find_server(kernel_id, runtime_dirs):
    """The Jupyter server (its URL and token) that runs ``kernel_id``, or None.

    Each running server writes ``jpserver-<pid>.json`` to its runtime folder, the folder of its
    kernels' connection files. (``jupyter_server.serverapp.list_running_servers`` reads the same
    files, but importing it takes a second.) Under JupyterHub the token is the hub's, which the
    server passes to its kernels as ``JUPYTERHUB_API_TOKEN``.
    """
    for folder in dict.fromkeys(Path(folder) for folder in runtime_dirs):
        for info_file in sorted(folder.glob("jpserver-*.json")):
            try:
                info = json.loads(info_file.read_text())
                os.kill(info["pid"], 0)
            except PermissionError:
                pass  # a server of another user: alive
            except (OSError, ValueError, KeyError):
                continue  # unreadable, or its server has stopped
            if info.get("sock") or not info.get("url"):
                continue  # a Unix socket: urllib cannot reach it
            server = (info["url"], info.get("token") or os.environ.get("JUPYTERHUB_API_TOKEN", ""))
            try:
                if any(kernel["id"] == kernel_id for kernel in call(server, "GET", "api/kernels")):
                    return server
            except (OSError, ValueError):
                continue
    return None


def call(server, method, path, timeout=10):
    """The JSON answer of the server's REST API to ``method path`` (None when empty)."""
    import urllib.request

    url, token = server
    request = urllib.request.Request(url.rstrip("/") + "/" + path, method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def server_kernels(server, memories):
    """The server's kernels as :class:`Kernel`, each with the notebook its session serves."""
    notebooks = {session["kernel"]["id"]: session["path"]
                 for session in call(server, "GET", "api/sessions")
                 if session.get("type") == "notebook" and session.get("kernel")}
    return [Kernel(kernel["id"], notebooks.get(kernel["id"]), kernel["execution_state"],
                   datetime.fromisoformat(kernel["last_activity"].replace("Z", "+00:00")),
                   memories.get(kernel["id"], 0))
            for kernel in call(server, "GET", "api/kernels")]


def message(shut, free, need):
    """What the learner reads: which notebooks' kernels were shut down, and whether the memory
    is still short; "" when there is nothing to say."""
    sentences = []
    if shut:
        names = ", ".join(Path(kernel.notebook).name for kernel in shut)
        kernels, were, their, pages = ("kernels", "were", "Their", "pages") if len(shut) > 1 else (
            "kernel", "was", "Its", "page")
        sentences.append(
            f"Memory was short, so the idle {kernels} of {names} {were} shut down to make room "
            f"for this notebook. {their} outputs stay on the {pages}, marked \"No Kernel\"; "
            "running a cell there starts a fresh kernel (run that notebook from the top).")
    if free < need:
        sentences.append(
            f"Only {free / GB:.1f} GB of memory is free and a kernel of this course needs about "
            f"{need / GB:.1f} GB: close the tabs of notebooks you are done with, or shut their "
            "kernels down in the Running Terminals and Kernels panel (left sidebar), before "
            "going on.")
    return " ".join(sentences)


def make_room_for_this_kernel(need=KERNEL_NEEDS, memory=None, kernel=None, runtime_dirs=None):
    """Free room for this kernel by shutting down idle ones (see the module's docstring).

    ``memory`` is (limit, used), default :func:`cgroup_memory`; ``kernel`` is (id, connection
    file), default :func:`this_kernel`; ``runtime_dirs`` are where servers' info files are looked
    for, default the connection file's folder and Jupyter's runtime folder. Returns the kernels
    shut down.
    """
    kernel = kernel or this_kernel()
    if kernel is None:
        return []
    memory = memory or cgroup_memory()
    if memory is None or memory[0] - memory[1] >= need:
        return []
    kernel_id, connection_file = kernel
    if runtime_dirs is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dirs = [Path(connection_file).parent, jupyter_runtime_dir()]
    server = find_server(kernel_id, runtime_dirs)
    try:
        kernels = server_kernels(server, kernel_memories()) if server else []
    except (OSError, ValueError, KeyError):
        kernels = []
    shut, free = kernels_to_shut(*memory, need, kernels, kernel_id)
    done = []
    for other in shut:
        try:
            call(server, "DELETE", f"api/kernels/{other.id}", timeout=60)
            done.append(other)
        except OSError:  # it went away meanwhile, or the server refused
            free -= other.memory
    print(message(done, free, need), flush=True)
    return done
