"""What every measure of ``benchmarks/run.py`` shares: the course's training settings, the
targets, timing helpers, the child-process measurement, and the summary that ends a run (table,
JSON record, exit status). Not a measure itself; see ``run.py``.
"""

import datetime
import json
import os
from pathlib import Path
import platform
import signal
import statistics
import subprocess
import tempfile
import time

from playground_latency import TARGET_MEDIAN_S

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]

BATCH_SIZE = 100
LEARNING_RATE = 1e-3
SEED = 0
GB = 1e9  # memory figures are in decimal gigabytes, the stricter reading of "1.5 GB"

TARGETS = {
    "keras_ratio": 1.0,  # course images/s divided by Keras fit images/s, at least
    "flop_utilization": 0.85,  # training FLOP/s divided by the matmul FLOP/s, at least
    "peak_rss_gb": 1.5,  # any notebook kernel, and the full-MNIST process, below
    "playground_median_s": TARGET_MEDIAN_S,  # at most
    "monitor_overhead": 0.20,  # extra training time with the dashboard recorder on, at most
}


def spread(seconds):
    """Best (the timing least disturbed by other programs), median and all of ``seconds``."""
    return {"best": min(seconds), "median": statistics.median(seconds), "all": list(seconds)}


def gb(value):
    return "n/a" if value is None else f"{value:.2f} GB"


def load_average():
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def run_measured(command, timeout, cwd=ROOT, env=None):
    """Run ``command``; return its wall time, exit status, output tail and peak RSS.

    The peak RSS is the largest high-water mark (``VmHWM``) of any process in its tree (the
    command itself, a notebook kernel it started), polled from /proc every 50 ms. (The rusage of
    a child is no good here: after fork and exec it keeps the high-water mark of this process.)
    """
    import psutil

    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
        peaks = {}
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            try:
                tree = [psutil.Process(process.pid)]
                tree += tree[0].children(recursive=True)
            except psutil.Error:
                tree = []
            for member in tree:
                peak = _high_water_mark(member.pid)
                if peak is not None:
                    peaks[member.pid] = max(peaks.get(member.pid, 0), peak)
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)  # the session this script started
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        log.seek(0)
        tail = log.read().decode(errors="replace")[-2000:]
    peak = max(peaks.values()) / GB if peaks else None
    return {"seconds": seconds, "returncode": process.returncode, "peak_rss_gb": peak,
            "output_tail": tail}


def _high_water_mark(pid):
    """Peak resident set of a live process in bytes (Linux), else None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def report_measured(name, result):
    """Print one timed child process's line (and its output's tail if it failed); return it."""
    state = "ok" if result["returncode"] == 0 else f"FAILED ({result['returncode']})"
    images = result.get("images")
    work = f"  {images['step_equivalents']:7.0f} step-eq" if images else ""
    print(f"  {name:<36} {result['seconds']:7.1f} s  "
          f"peak RSS {gb(result['peak_rss_gb'])}  {state}{work}", flush=True)
    if result["returncode"] != 0:
        print("\n".join("      " + line for line in result["output_tail"][-800:].splitlines()),
              flush=True)
    return result


def machine_info():
    # course_utils first: it imports TensorFlow without TensorFlow's C++ start-up lines
    import course_utils  # noqa: F401, I001
    import tensorflow as tf

    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "load_average_start": load_average(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def finish(json_path, report, row_makers, note_makers):
    """Print the summary, write the JSON record; exit status 1 if a target was missed
    (informational rows, met=None, do not count).

    ``row_makers`` give the table's rows (what, measured, goal, met or None when informational,
    what limits it), in order; ``note_makers`` the lines printed under the table.
    """
    report["machine"]["load_average_end"] = load_average()
    rows = [row for make_rows in row_makers for row in make_rows(report)]
    print("\nSummary")
    print(f"{'target':<44}{'measured':>12}  {'goal':<11}{'met':<5}")
    print("-" * 72)
    for what, measured, goal, met, _ in rows:
        shown = "-" if met is None else "yes" if met else "NO"  # None: informational
        print(f"{what:<44}{measured:>12}  {goal:<11}{shown:<5}")
    for make_notes in note_makers:
        for line in make_notes(report):
            print(line)
    unmet = [(what, limits) for what, _, _, met, limits in rows if met is not None and not met]
    if unmet:
        print("\nWhat limits the targets not met (measured):")
        for what, limits in unmet:
            print(f"  {what}: {limits}")
    load = report["machine"]["load_average_start"]
    if load is not None and load[0] > 0.5:
        print(f"\nNote: the load average was {load[0]:.1f} when the benchmark started; other "
              "programs were using the CPU and the timings are pessimistic.")
    report["verdicts"] = [
        {"target": what, "measured": measured, "goal": goal,
         "met": None if met is None else bool(met), "limits": limits}
        for what, measured, goal, met, limits in rows
    ]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\njson: {json_path}")
    return 0 if all(row["met"] is not False for row in report["verdicts"]) else 1
