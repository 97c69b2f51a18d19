"""3b. Kernel memory: each notebook's kernel alone, and two kernels alive at once (Binder).

Each notebook runs cell by cell in its own fresh kernel: the kernel's peak (``VmHWM``) and the
cells that raised it most (target: at most 1.2 GB each). Then 01 and 04 with both kernels alive,
as a learner who opens the second notebook without shutting the first one down (target: under
Binder's 2 GB for the whole session, shared libraries counted once).

Run it alone with ``python benchmarks/run.py --kernel-memory`` (``--notebook NAME``, repeatable,
for some notebooks only, then without the two-kernel run); part of a full run unless
``--skip-kernel-memory``.
"""

from pathlib import Path
import time

from common import GB, ROOT, gb

KERNEL_TARGETS = {
    # each notebook kernel's high-water mark, at most: the largest kernel (08, 1.16 GB) may not
    # grow; the margin is about how much a peak varies between runs
    "kernel_peak_gb": 1.2,
    "session_gb": 2.0,  # Binder's cap on a whole session (server and every kernel)
}
TWO_KERNELS = ("01_large_weights.ipynb", "04_side_by_side.ipynb")


def measure_kernels(report, names, timeout):
    """Each kernel's memory, then (all notebooks only) two at once, printed and added to
    ``report``."""
    print("\n3b. Kernel memory: each notebook's kernel, then two kernels at once", flush=True)
    report["kernel_memory"] = measure_kernel_memory(names, timeout)
    if not names:
        report["two_kernels"] = measure_two_kernels(timeout=timeout)


class _KernelRun:
    """A notebook executed cell by cell in its own kernel, with the kernel's memory after each
    cell. The kernel stays alive until ``shutdown``: a learner who opens the next notebook
    without closing this one has both."""

    def __init__(self, notebook, timeout):
        from nbclient import NotebookClient
        import nbformat

        self.name = notebook.name
        self.notebook = nbformat.read(notebook, as_version=4)
        self.client = NotebookClient(self.notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(notebook.parent)}})
        self.cells = []  # (cell index, first source line, memory fields)

    def start(self):
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()
        self.pid = self.client.km.provisioner.process.pid
        self.start_memory = self.memory()

    def run(self, on_cell=None):
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code":
                continue
            self.client.execute_cell(cell, index)
            first_line = (cell.source.strip().splitlines() or [""])[0][:60]
            self.cells.append((index, first_line, self.memory()))
            if on_cell is not None:
                on_cell(self)

    def memory(self):
        return _proc_memory(self.pid)

    def shutdown(self):
        from nbclient.util import run_sync

        # the kernel manager nbclient creates is asynchronous: a bare call would not stop it
        run_sync(self.client.km.shutdown_kernel)(now=True)

    def summary(self):
        """Peak, where it was reached, and the cells that raised the peak most."""
        peak = max(fields["VmHWM"] for _, _, fields in self.cells)
        steps, previous = [], self.start_memory["VmHWM"]
        for index, first_line, fields in self.cells:
            if fields["VmHWM"] > previous:
                steps.append({"cell": index, "source": first_line,
                              "raises_peak_gb": (fields["VmHWM"] - previous) / GB})
            previous = max(previous, fields["VmHWM"])
        steps.sort(key=lambda step: -step["raises_peak_gb"])
        final = self.cells[-1][2] if self.cells else self.start_memory
        return {
            "peak_gb": peak / GB,
            "after_start_gb": self.start_memory["VmRSS"] / GB,
            "at_end": {key: value / GB for key, value in final.items()},
            "top_cells": steps[:4],
        }


def _proc_memory(pid):
    """VmHWM, VmRSS, RssAnon, RssFile and Pss of a live process in bytes (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            fields["Pss"] = int(line.split()[1]) * 1024
    return fields


def measure_kernel_memory(names=None, timeout=1200):
    """Each notebook in its own fresh kernel, cell by cell: the kernel's peak (VmHWM) and the
    cells that raised it most. Only the kernel process is counted (not nbclient)."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names:
        notebooks = [notebook for notebook in notebooks if notebook.name in names]
    results = {}
    for notebook in notebooks:
        run = _KernelRun(notebook, timeout)
        start = time.perf_counter()
        try:
            run.start()
            run.run()
            results[notebook.name] = {**run.summary(), "ok": True}
        except Exception as error:  # a failed notebook is reported, not fatal
            results[notebook.name] = {**(run.summary() if run.cells else {"peak_gb": None}),
                                      "ok": False, "error": repr(error)[:300]}
        finally:
            run.shutdown()
        result = results[notebook.name]
        result["seconds"] = time.perf_counter() - start
        top = ", ".join(f"cell {step['cell']} +{step['raises_peak_gb']:.2f}"
                        for step in result.get("top_cells", [])[:2])
        print(f"  {notebook.name:<36} kernel peak {gb(result['peak_gb'])}"
              f"  (after start {gb(result.get('after_start_gb'))}; raised most by {top})"
              + ("" if result["ok"] else f"  FAILED {result['error']}"), flush=True)
    return results


def measure_two_kernels(names=TWO_KERNELS, timeout=1200):
    """Two kernels alive at once, as a learner who opens the second notebook without shutting
    the first one down: the first notebook runs to its end and its kernel stays; then the
    second runs. Sampled after each of the second notebook's cells: the sum of both kernels'
    resident memory (RSS: shared libraries counted twice, an upper bound); their private
    (anonymous) memory plus the larger of their file-backed pages ("shared once": the libraries
    counted once, as a memory cap such as Binder's counts them); and the sum of their
    proportional set sizes (PSS: shared pages split between every process that maps them, also
    processes outside the two kernels, such as this benchmark's own, so it reads low)."""
    first = _KernelRun(ROOT / "notebooks" / names[0], timeout)
    second = _KernelRun(ROOT / "notebooks" / names[1], timeout)
    peaks = {"rss_sum": 0, "shared_once": 0, "pss_sum": 0}

    def sample(_run):
        one, two = first.memory(), second.memory()
        peaks["rss_sum"] = max(peaks["rss_sum"], one["VmRSS"] + two["VmRSS"])
        peaks["shared_once"] = max(peaks["shared_once"], one["RssAnon"] + two["RssAnon"]
                                   + max(one["RssFile"], two["RssFile"]))
        peaks["pss_sum"] = max(peaks["pss_sum"], one["Pss"] + two["Pss"])

    try:
        first.start()
        first.run()
        second.start()
        second.run(on_cell=sample)
        first_end = first.memory()
        result = {
            "ok": True,
            "notebooks": list(names),
            "first_kernel_at_rest_gb": first_end["VmRSS"] / GB,
            "first_kernel_peak_gb": first_end["VmHWM"] / GB,
            "second_kernel_peak_gb": second.memory()["VmHWM"] / GB,
            "sum_of_peaks_gb": (first_end["VmHWM"] + second.memory()["VmHWM"]) / GB,
            "rss_sum_peak_gb": peaks["rss_sum"] / GB,
            "shared_once_peak_gb": peaks["shared_once"] / GB,
            "pss_sum_peak_gb": peaks["pss_sum"] / GB,
        }
    except Exception as error:
        result = {"ok": False, "notebooks": list(names), "error": repr(error)[:300]}
    finally:
        for run in (first, second):
            try:
                run.shutdown()
            except Exception:
                pass
    if result["ok"]:
        print(f"  {names[0]} (kept alive, {gb(result['first_kernel_at_rest_gb'])} at rest) + "
              f"{names[1]}: together at most {gb(result['shared_once_peak_gb'])} (shared "
              f"libraries once), {gb(result['rss_sum_peak_gb'])} (RSS, shared libraries "
              f"twice), {gb(result['pss_sum_peak_gb'])} (PSS); "
              f"sum of the two peaks {gb(result['sum_of_peaks_gb'])}", flush=True)
    else:
        print(f"  two kernels FAILED: {result['error']}", flush=True)
    return result


def summary_rows(report):
    """The summary's rows: the largest kernel peak, and two kernels at once."""
    rows = []
    kernels = report.get("kernel_memory") or {}
    peaks = {name: entry["peak_gb"] for name, entry in kernels.items()
             if entry.get("peak_gb") is not None}
    if peaks:
        largest = max(peaks, key=peaks.get)
        rows.append((
            "kernel peak, largest notebook", gb(peaks[largest]),
            f"<= {KERNEL_TARGETS['kernel_peak_gb']} GB",
            peaks[largest] <= KERNEL_TARGETS["kernel_peak_gb"]
            and all(entry["ok"] for entry in kernels.values()),
            "; ".join(f"{name[:2]} {gb(peak)}" for name, peak in peaks.items()),
        ))
    two = report.get("two_kernels")
    if two and two.get("ok"):
        rows.append((
            "two kernels at once (01 + 04), libraries once", gb(two["shared_once_peak_gb"]),
            f"< {KERNEL_TARGETS['session_gb']} GB",
            two["shared_once_peak_gb"] < KERNEL_TARGETS["session_gb"],
            f"RSS sum {gb(two['rss_sum_peak_gb'])}, PSS sum {gb(two['pss_sum_peak_gb'])}, "
            f"sum of peaks "
            f"{gb(two['sum_of_peaks_gb'])}; the Jupyter server adds about 0.1 GB",
        ))
    return rows
