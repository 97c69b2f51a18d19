"""6. bfloat16 against float32 (``reproduce --precision bfloat16``).

Training and testing images/s of both precisions, interleaved in this process; skipped where the
CPU lacks bfloat16 instructions. Target there: bfloat16 faster.

Part of a full ``python benchmarks/run.py`` run; ``--skip-bfloat16`` leaves it out, ``--steps``
and ``--repeats`` set its timings.
"""

import time

from common import BATCH_SIZE, LEARNING_RATE, SEED, spread


def measure_precisions(steps, repeats):
    """Seconds per training step and per tested image in float32 and in bfloat16, interleaved.

    The same network (reset to the same weights before every timing) and the same batches, so
    the two precisions meet the same load. Returns ``{"supported": False, "reason": ...}`` where
    the CPU lacks bfloat16 instructions: emulated bfloat16 is not what ``--precision bfloat16``
    is for.
    """
    from course_utils.core.data import load_mnist
    from course_utils.core.training import bfloat16_support, evaluate, train
    from course_utils.lab.experiments import EXPERIMENTS

    supported, reason = bfloat16_support()
    print(f"  {reason}", flush=True)
    if not supported:
        print("  skipped: reproduce refuses --precision bfloat16 here", flush=True)
        return {"supported": False, "reason": reason}
    data = load_mnist("subset")
    network = EXPERIMENTS["proper"].create_network(SEED)
    initial = [variable.numpy() for variable in network.parameters]

    def timer(precision):
        def time_both():
            for variable, value in zip(network.parameters, initial):
                variable.assign(value)
            start = time.perf_counter()
            train(network, data.train_images, data.train_labels, LEARNING_RATE, steps,
                  record_every=100, progress=False, precision=precision)
            middle = time.perf_counter()
            evaluate(network, data.test_images, data.test_labels, precision=precision)
            end = time.perf_counter()
            return (middle - start) / steps, (end - middle) / len(data.test_labels)
        return time_both

    timers = {precision: timer(precision) for precision in ("float32", "bfloat16")}
    for time_both in timers.values():  # trace and warm up
        time_both()
    timings = {precision: {"train": [], "evaluate": []} for precision in timers}
    for repeat in range(repeats):
        order = list(timers) if repeat % 2 == 0 else list(timers)[::-1]
        for precision in order:
            train_s, evaluate_s = timers[precision]()
            timings[precision]["train"].append(train_s)
            timings[precision]["evaluate"].append(evaluate_s)
        print(f"  repeat {repeat + 1}/{repeats}: "
              + ", ".join(f"{precision} {1000 * timings[precision]['train'][-1]:.1f} ms/step"
                          for precision in timers), flush=True)
    result = {"supported": True, "reason": reason, "steps_per_timing": steps}
    for precision, kinds in timings.items():
        result[precision] = {
            "train_s_per_step": spread(kinds["train"]),
            "evaluate_s_per_image": spread(kinds["evaluate"]),
            "train_images_per_s": BATCH_SIZE / min(kinds["train"]),
            "evaluate_images_per_s": 1 / min(kinds["evaluate"]),
        }
    result["train_speedup"] = (result["bfloat16"]["train_images_per_s"]
                               / result["float32"]["train_images_per_s"])
    result["evaluate_speedup"] = (result["bfloat16"]["evaluate_images_per_s"]
                                  / result["float32"]["evaluate_images_per_s"])
    print(f"  bfloat16 / float32: training {result['train_speedup']:.2f}x "
          f"({result['bfloat16']['train_images_per_s']:.0f} against "
          f"{result['float32']['train_images_per_s']:.0f} images/s), testing "
          f"{result['evaluate_speedup']:.2f}x", flush=True)
    return result


def summary_rows(report):
    """The summary's bfloat16-against-float32 row, if it was measured."""
    precisions = report.get("precisions")
    if not precisions:
        return []
    if not precisions["supported"]:
        return [("training: bfloat16 vs float32", "skipped", "faster", None,
                 precisions["reason"])]
    return [(
        "training: bfloat16 vs float32", f"{precisions['train_speedup']:.2f}x", "> 1.0x",
        precisions["train_speedup"] > 1.0,
        f"bfloat16 {precisions['bfloat16']['train_images_per_s']:.0f}, float32 "
        f"{precisions['float32']['train_images_per_s']:.0f} images/s, measured interleaved in "
        f"one process; testing {precisions['evaluate_speedup']:.2f}x",
    )]
