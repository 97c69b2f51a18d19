"""How fast and how lean the course is, measured (not a pytest test).

Run it from the repository root, on a machine that is otherwise idle:

    python benchmarks/run.py                 # everything (about 10 minutes on 2 CPU cores)
    python benchmarks/run.py --quick         # small settings, to check that the script works
    python benchmarks/run.py --skip-notebooks --json /tmp/bench.json
    python benchmarks/run.py --kernel-memory # only the notebook kernels' memory
    python benchmarks/run.py --monitor-only  # only the training dashboard's cost
    python benchmarks/run.py --keras-monitor-only  # only the Keras dashboard callback's cost

What it measures, each in its own module of this folder (its docstring says how), and the
targets it checks:

1. Training throughput (``speed.py``): the course's ``train`` against Keras ``Model.fit`` on the
   same network (target: at least as fast) and against this machine's float32 matmul rate
   (target: at least 85 % of it in FLOPs).
2. Whole-course time (``course_time.py``): every notebook in a fresh kernel, plus
   ``python -m course_utils reproduce --dataset subset --steps 400``. Target: under 10 minutes.
   During these runs ``step_count.py`` counts the cost of each in step equivalents, a figure that
   does not depend on the CPU.
3. Memory: peak RSS of each notebook run (``course_time.py``), and of processes that use a
   synthetic full-size ``mnist.npz`` (``full_data_memory.py``). Target: under 1.5 GB (Binder
   gives 2 GB). 3b. Each notebook kernel cell by cell, and two kernels alive at once
   (``kernel_memory.py``).
4. Playground redraw latency (``playground_latency.py``). Target: median 0.3 s.
5. The expected time of the faithful full-MNIST run, from the measured throughput (``speed.py``).
6. bfloat16 against float32 (``bfloat16.py``). Target where the CPU has bfloat16 instructions:
   bfloat16 faster.
7. The training dashboard's cost (``monitor_overhead.py``): ``train`` with the dashboard recorder
   against plain ``train``. Target: at most 20 % slower. 7b. The same for Keras ``fit`` with the
   dashboard callback (``course_utils.lab.keras_monitor``) against plain ``fit``.

Timings take the best of several repeats (the one least disturbed by other programs) and also
report the median. Results go to stdout and to a JSON file (default
``benchmarks/results/latest.json``); the exit status is 1 if a target was missed.
"""

import argparse
from pathlib import Path
import sys

import bfloat16
from common import ROOT, TARGETS, finish, machine_info
import course_time
import full_data_memory
import kernel_memory
import monitor_overhead
import playground_latency
import speed

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "latest.json"

# Settings: (training steps per timing, repeats, matmul sizes, full-data steps, playground repeats)
SETTINGS = {
    "full": {"steps": 120, "repeats": 5, "matmul_sizes": (2048, 4096), "full_data_steps": 20,
             "playground_repeats": 20},
    "quick": {"steps": 40, "repeats": 2, "matmul_sizes": (1024,), "full_data_steps": 3,
              "playground_repeats": 3},
}

# The summary: its rows in this order, then the lines under it.
SUMMARY_ROWS = (speed.summary_rows, monitor_overhead.summary_rows, course_time.summary_rows,
                full_data_memory.summary_rows, playground_latency.summary_rows,
                kernel_memory.summary_rows, bfloat16.summary_rows,
                course_time.step_equivalent_rows)
SUMMARY_NOTES = (speed.summary_notes, course_time.summary_notes)


def _parser():
    parser = argparse.ArgumentParser(
        description="Measure the course's training speed, whole-course time, memory and "
        "playground latency against their targets.")
    parser.add_argument("--quick", action="store_true",
                        help="small settings: checks that the script works, not a measurement")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"write the results here (default {DEFAULT_JSON.relative_to(ROOT)})")
    parser.add_argument("--skip-notebooks", action="store_true",
                        help="do not execute the notebooks and the reproduce command")
    parser.add_argument("--skip-full-data", action="store_true",
                        help="do not measure the memory of the full-size MNIST process")
    parser.add_argument("--skip-playground", action="store_true",
                        help="do not measure the playground's redraw latency")
    parser.add_argument("--skip-bfloat16", action="store_true",
                        help="do not measure bfloat16 against float32")
    parser.add_argument("--kernel-memory", action="store_true",
                        help="only measure each notebook kernel's peak memory and two kernels "
                        "(01 and 04) alive at once, nothing else")
    parser.add_argument("--skip-kernel-memory", action="store_true",
                        help="do not measure kernel memory cell by cell")
    parser.add_argument("--notebook", action="append", dest="kernel_notebooks",
                        help="with --kernel-memory: only this notebook (repeatable)")
    parser.add_argument("--monitor-only", action="store_true",
                        help="measure only the dashboard recorder's and the Keras dashboard "
                        "callback's overheads (item 6)")
    parser.add_argument("--keras-monitor-only", action="store_true",
                        help="measure only the Keras dashboard callback's overhead (item 6b)")
    parser.add_argument("--steps", type=int, help="training steps per timing")
    parser.add_argument("--repeats", type=int, help="timings of each kind (best and median)")
    parser.add_argument("--notebook-timeout", type=int, default=1200,
                        help="seconds allowed per notebook (default 1200)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    for option in ("steps", "repeats"):
        if getattr(args, option) is not None:
            if getattr(args, option) < 1:
                _parser().error(f"--{option} must be >= 1")
            settings[option] = getattr(args, option)
    report = {"settings": {**settings, "quick": args.quick}, "targets": TARGETS,
              "machine": machine_info()}
    print(f"{report['machine']['cpu']}, {report['machine']['cpu_count']} CPUs, "
          f"TensorFlow {report['machine']['tensorflow']}"
          + (" (quick settings: not a measurement)" if args.quick else ""), flush=True)

    if args.kernel_memory:
        kernel_memory.measure_kernels(report, args.kernel_notebooks, args.notebook_timeout)
        return finish(args.json, report, SUMMARY_ROWS, SUMMARY_NOTES)
    if args.monitor_only or args.keras_monitor_only:
        if args.monitor_only:
            print("\n6. Dashboard recorder overhead", flush=True)
            report["monitor_overhead"] = monitor_overhead.measure_monitor_overhead(
                settings["steps"], settings["repeats"])
        _measure_keras_monitor(report, settings, "6b")
        return finish(args.json, report, SUMMARY_ROWS, SUMMARY_NOTES)

    speed.measure(settings, report)
    if not args.skip_bfloat16:
        print("\n6. bfloat16 against float32 (reproduce --precision bfloat16)", flush=True)
        report["precisions"] = bfloat16.measure_precisions(settings["steps"],
                                                           settings["repeats"])
    print("\n7. Dashboard recorder overhead", flush=True)
    report["monitor_overhead"] = monitor_overhead.measure_monitor_overhead(settings["steps"],
                                                                           settings["repeats"])
    _measure_keras_monitor(report, settings, "7b")
    if not args.skip_playground:
        print("\n4. Playground redraw latency", flush=True)
        report["playground"] = playground_latency.measure_for_report(
            settings["playground_repeats"])
    if not args.skip_full_data:
        print("\n3. Memory with full-size MNIST (synthetic mnist.npz)", flush=True)
        report["full_data_memory"] = full_data_memory.measure_full_data_memory(
            settings["full_data_steps"])
    if not args.skip_notebooks:
        print("\n2. Whole course: notebooks in fresh kernels, then reproduce", flush=True)
        report["notebooks"] = course_time.run_notebooks(args.notebook_timeout)
        report["reproduce"] = course_time.run_reproduce(args.notebook_timeout)
    if not args.skip_kernel_memory:
        kernel_memory.measure_kernels(report, args.kernel_notebooks, args.notebook_timeout)

    return finish(args.json, report, SUMMARY_ROWS, SUMMARY_NOTES)


def _measure_keras_monitor(report, settings, number):
    print(f"\n{number}. Keras dashboard callback overhead", flush=True)
    report["keras_monitor_overhead"] = monitor_overhead.measure_keras_monitor_overhead(
        settings["steps"], settings["repeats"])


if __name__ == "__main__":
    sys.exit(main())
