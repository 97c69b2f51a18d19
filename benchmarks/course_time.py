"""2. Whole-course time, with each run's cost in step equivalents and each notebook kernel's
peak memory.

Every ``notebooks/*.ipynb`` executed with its default parameters in a fresh kernel (into a
temporary folder; the committed notebooks are not touched), plus
``python -m course_utils reproduce --dataset subset --steps 400``. Targets: under 10 minutes in
all, each notebook under 150 s, each kernel's peak RSS under 1.5 GB (Binder gives 2 GB). During
the same runs ``benchmarks/step_count.py`` counts the images each one passes through the network:
its cost in step equivalents (100-image training steps, a forward-only image counting 1/3 of a
training image), a figure that does not depend on the CPU.

Part of a full ``python benchmarks/run.py`` run; ``--skip-notebooks`` leaves it out,
``--notebook-timeout`` sets the seconds allowed per notebook.
"""

import sys
import tempfile

from common import ROOT, TARGETS, gb, report_measured, run_measured
import step_count


def run_notebooks(timeout):
    """Execute every notebook into a temporary folder, each in a fresh kernel, counting the
    images its kernel passes through the network (``step_count``: ``result["images"]``)."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    results = {}
    with tempfile.TemporaryDirectory() as output_dir:
        ipython_dir = step_count.startup_folder(output_dir)
        for notebook in notebooks:
            counts_file = step_count.new_counts_file(output_dir)
            command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                       "--execute", f"--ExecutePreprocessor.timeout={int(timeout)}",
                       "--output-dir", output_dir, str(notebook)]
            result = run_measured(command, timeout + 60,
                                  env=step_count.counting_environment(ipython_dir, counts_file))
            result["images"] = step_count.read_counts(counts_file)
            results[notebook.name] = report_measured(notebook.name, result)
    return results


def run_reproduce(timeout):
    """``python -m course_utils reproduce --dataset subset --steps 400 --no-progress``, with the
    images it passes through the network counted (``result["images"]``)."""
    with tempfile.TemporaryDirectory() as folder:
        counts_file = step_count.new_counts_file(folder)
        command = step_count.run_module_command(
            sys.executable, counts_file, "course_utils", "reproduce", "--dataset", "subset",
            "--steps", "400", "--no-progress")
        result = run_measured(command, timeout)
        result["images"] = step_count.read_counts(counts_file)
    return report_measured("reproduce --steps 400", result)


def summary_rows(report):
    """The summary's rows: the slowest notebook, the whole course, the largest kernel peak."""
    notebooks = report.get("notebooks")
    if notebooks is None:
        return []
    rows = []
    reproduce = report.get("reproduce") or {"seconds": 0.0, "returncode": 0}
    total = sum(entry["seconds"] for entry in notebooks.values()) + reproduce["seconds"]
    failed = [name for name, entry in notebooks.items() if entry["returncode"] != 0]
    if reproduce["returncode"] != 0:
        failed.append("reproduce")
    slowest = max(notebooks, key=lambda name: notebooks[name]["seconds"], default="-")
    limits = f"slowest: {slowest} ({notebooks[slowest]['seconds']:.0f} s)" if notebooks else ""
    if failed:
        limits += f"; FAILED: {', '.join(failed)} (their time is not a full run)"
    if notebooks:
        rows.append((
            "slowest notebook, top to bottom", f"{notebooks[slowest]['seconds']:.0f} s",
            f"<= {TARGETS['notebook_seconds']:.0f} s",
            notebooks[slowest]["seconds"] <= TARGETS["notebook_seconds"] and not failed,
            f"{slowest}; each: " + ", ".join(
                f"{name[:2]} {entry['seconds']:.0f} s" for name, entry in notebooks.items()),
        ))
    rows.append((
        f"whole course ({len(notebooks)} notebooks + reproduce)", f"{total:.0f} s",
        f"< {TARGETS['course_seconds']:.0f} s",
        total < TARGETS["course_seconds"] and not failed, limits,
    ))
    peaks = {name: entry["peak_rss_gb"] for name, entry in notebooks.items()
             if entry["peak_rss_gb"] is not None}
    if peaks:
        largest = max(peaks, key=peaks.get)
        rows.append((
            "peak RSS, notebook kernels", gb(peaks[largest]),
            f"< {TARGETS['peak_rss_gb']} GB", peaks[largest] < TARGETS["peak_rss_gb"],
            f"largest: {largest}",
        ))
    return rows


def step_equivalent_rows(report):
    """The course's cost in step equivalents (2.): whole course, and the costliest notebook.

    Informational (no target): the count depends on the notebooks' defaults, not on the CPU, so
    a change that adds work shows up here on any machine.
    """
    notebooks = report.get("notebooks")
    if not notebooks:
        return []
    runs = {**notebooks, "reproduce --steps 400": report.get("reproduce") or {}}
    counts = {name: entry.get("images") for name, entry in runs.items()}
    missing = [name for name, images in counts.items() if images is None]
    counted = {name: images["step_equivalents"] for name, images in counts.items() if images}
    if not counted:
        return []
    total = sum(counted.values())
    costliest = max((name for name in counted if name in notebooks), key=counted.get,
                    default=None)
    per_run = ", ".join(f"{name.split('_')[0].split(' ')[0]} {value:.0f}"
                        for name, value in counted.items())
    limits = f"per run: {per_run}"
    if missing:
        limits += f"; NOT COUNTED: {', '.join(missing)}"
    rows = [(f"step equivalents, whole course ({len(counted)} runs)", f"{total:.0f}", "report",
             None, limits)]
    if costliest is not None:
        rows.append(("step equivalents, costliest notebook", f"{counted[costliest]:.0f}",
                     "report", None, f"{costliest}; 100-image training steps, a forward-only "
                     "image = 1/3 training image"))
    return rows


def summary_notes(report):
    """The lines under the summary: step equivalents per run, and what evaluate measured."""
    step_rows = step_equivalent_rows(report)
    if not step_rows:
        return []
    lines = [f"\nStep equivalents per run: {step_rows[0][4].removeprefix('per run: ')}"]
    figures = report.get("training_figures")
    if figures:
        ratio = figures["evaluate_images_per_s"] / figures["course_images_per_s"]
        lines.append(f"  (a forward-only image counts 1/3 of a training image; measured here, "
                     f"evaluate runs {ratio:.1f}x the training images/s)")
    return lines
