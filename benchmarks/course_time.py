"""2. Whole-course time, with each run's cost in step equivalents and each notebook kernel's
peak memory.

Every ``notebooks/*.ipynb`` executed with its default parameters in a fresh kernel (into a
temporary folder; the committed notebooks are not touched), plus
``python -m course_utils reproduce --dataset subset --steps 400``. The times are reported, with
no target (they depend on the CPU). During the same runs ``benchmarks/step_count.py`` counts the
images each one passes through the network: its cost in step equivalents (100-image training
steps, a forward-only image counting 1/3 of a training image), a figure that does not depend on
the CPU, held to :data:`STEP_CAPS`: each lesson notebook at most 300, notebooks 04 and 08 at
most 1,200 each, all notebooks together at most 3,300. Each kernel's peak RSS stays under 1.5 GB.

Part of a full ``python benchmarks/run.py`` run; ``--skip-notebooks`` leaves it out,
``--notebook-timeout`` sets the seconds allowed per notebook.
"""

import sys
import tempfile

from common import ROOT, TARGETS, gb, report_measured, run_measured
import step_count

# The course's budget, in step equivalents (machine-independent; see step_count.py).
STEP_CAPS = {"lesson": 300, "grid_notebook": 1200, "all_notebooks": 3300}
GRID_NOTEBOOKS = ("04", "08")  # the learning-rate grids: a larger cap each


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
            "report", None if not failed else False,
            f"{slowest}; each: " + ", ".join(
                f"{name[:2]} {entry['seconds']:.0f} s" for name, entry in notebooks.items()),
        ))
    rows.append((
        f"whole course ({len(notebooks)} notebooks + reproduce)", f"{total:.0f} s",
        "report", None if not failed else False, limits,
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
    """The course's cost in step equivalents (2.), against its caps (:data:`STEP_CAPS`).

    The count depends on the notebooks' defaults, not on the CPU: on a given CPU it sets the
    course's time (training runs near the matmul rate), so the caps hold on every machine.
    Rows: each lesson notebook, 04 and 08, all notebooks together, and everything counted.
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
    per_run = ", ".join(f"{name.split('_')[0].split(' ')[0]} {value:.0f}"
                        for name, value in counted.items())
    limits = f"per run: {per_run}"
    if missing:
        limits += f"; NOT COUNTED: {', '.join(missing)}"
    rows = [(f"step equivalents, everything ({len(counted)} runs)", f"{sum(counted.values()):.0f}",
             "report", None, limits)]
    counted_notebooks = {name: value for name, value in counted.items() if name in notebooks}
    for label, names, cap in (
            ("each lesson notebook", [n for n in counted_notebooks if n[:2] not in GRID_NOTEBOOKS],
             STEP_CAPS["lesson"]),
            ("notebooks 04 and 08, each", [n for n in counted_notebooks if n[:2] in GRID_NOTEBOOKS],
             STEP_CAPS["grid_notebook"])):
        if names:
            costliest = max(names, key=counted.get)
            rows.append((f"step equivalents, {label}", f"{counted[costliest]:.0f}",
                         f"<= {cap}", counted[costliest] <= cap and not missing,
                         f"costliest: {costliest}"))
    notebooks_total = sum(counted_notebooks.values())
    rows.append((f"step equivalents, all notebooks ({len(counted_notebooks)})",
                 f"{notebooks_total:.0f}", f"<= {STEP_CAPS['all_notebooks']}",
                 notebooks_total <= STEP_CAPS["all_notebooks"] and not missing,
                 "100-image training steps, a forward-only image = 1/3 training image"))
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
