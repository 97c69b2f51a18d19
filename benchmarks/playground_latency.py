"""How long the playground takes to redraw after a control change (not a pytest test).

Run it as a script from the repository root:

    python benchmarks/playground_latency.py [--repeats 20] [--batch-size 32]

It builds a :class:`course_utils.views.playground.Playground`, warms it up, then times, one
change at a time, what a learner does with the mouse: move a scale slider, pick another scheme,
flip the histogram x-scale. Each timing is the whole synchronous callback: new weights for the
changed layer, the forward pass, the statistics, the histogram PNG and the logits table. The target
is a median under 0.3 s on a 2-core laptop CPU.

``python benchmarks/run.py`` measures it too (its item 4, ``--skip-playground`` leaves it out), with
:func:`measure_for_report` and :func:`summary_rows`.
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET_MEDIAN_S = 0.3


def measure_redraw_latency(repeats=20, batch_size=32, seed=0):
    """Time ``repeats`` changes of each kind; return the figures in seconds.

    Returns ``{"median", "p90", "max", "mean", "count", "by_change": {kind: {"median", "p90"}},
    "batch_size", "target_median"}``. The first redraw of each kind (caches and compiled
    functions warming up) is left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.core.data import load_mnist
    from course_utils.views.playground import Playground

    playground = Playground(data=load_mnist("subset"), seed=seed, batch_size=batch_size)
    # Cycles of 4 against 5 layers: every change gives its layer a value it does not have.
    scales = itertools.cycle([0.5, 2.0, 0.1, 10.0])
    schemes = itertools.cycle(["lecun", "xavier", "orthogonal", "he"])
    views = itertools.cycle(["per-layer", "common"])
    slider_layers = itertools.cycle(list(playground.controls))
    dropdown_layers = itertools.cycle(list(playground.controls))

    def move_slider():
        playground.controls[next(slider_layers)]["scale"].value = next(scales)

    def pick_scheme():
        playground.controls[next(dropdown_layers)]["scheme"].value = next(schemes)

    def flip_scale():
        playground.histogram_scale.value = next(views)

    changes = {"scale slider": move_slider, "scheme dropdown": pick_scheme,
               "histogram x-scale": flip_scale}
    for change in changes.values():  # warm-up: first draws of each scheme, compiled forward
        for _ in range(len(playground.controls)):
            change()
    timings = {kind: [] for kind in changes}
    for _ in range(repeats):
        for kind, change in changes.items():
            count = playground.redraw_count
            start = time.perf_counter()
            change()
            timings[kind].append(time.perf_counter() - start)
            if playground.redraw_count != count + 1 or playground.message.value:
                raise RuntimeError(f"{kind} did not redraw cleanly: {playground.message.value}")
    everything = [seconds for values in timings.values() for seconds in values]
    return {
        **_summary(everything),
        "count": len(everything),
        "by_change": {kind: _summary(values) for kind, values in timings.items()},
        "batch_size": batch_size,
        "target_median": TARGET_MEDIAN_S,
    }


def measure_for_report(repeats):
    """:func:`measure_redraw_latency` for ``run.py``: the figures, and their median printed."""
    result = measure_redraw_latency(repeats=repeats)
    print(f"  median {result['median']:.3f} s over {result['count']} redraws", flush=True)
    return result


def summary_rows(report):
    """``run.py``'s summary row: the median redraw against the target, if it was measured."""
    playground = report.get("playground")
    if playground is None:
        return []
    by_change = ", ".join(f"{kind} {entry['median']:.3f} s"
                          for kind, entry in playground["by_change"].items())
    return [(
        "playground redraw, median", f"{playground['median']:.3f} s",
        f"<= {TARGET_MEDIAN_S} s", playground["median"] <= TARGET_MEDIAN_S, by_change,
    )]


def _summary(seconds):
    ordered = sorted(seconds)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="changes of each kind (20)")
    parser.add_argument("--batch-size", type=int, default=32, help="digits shown (32)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = measure_redraw_latency(repeats=args.repeats, batch_size=args.batch_size)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"playground redraw latency, {result['count']} changes, "
              f"batch of {result['batch_size']} digits, {os.cpu_count()} CPUs")
        for kind, figures in result["by_change"].items():
            print(f"  {kind:<18} median {figures['median']:.3f} s   p90 {figures['p90']:.3f} s")
        verdict = "OK" if result["median"] < TARGET_MEDIAN_S else "TOO SLOW"
        print(f"  {'all':<18} median {result['median']:.3f} s   p90 {result['p90']:.3f} s   "
              f"max {result['max']:.3f} s   (target median < {TARGET_MEDIAN_S} s: {verdict})")
    return 0 if result["median"] < TARGET_MEDIAN_S else 1


if __name__ == "__main__":
    sys.exit(main())
