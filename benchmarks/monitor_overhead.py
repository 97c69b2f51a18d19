"""7. The training dashboard's cost (headed "6." when measured alone, ``--monitor-only``).

``train`` with a ``course_utils.lab.monitor.Recorder`` as its callback (recording every 10 steps)
against plain ``train`` (recording the cost every 100), same network, data and steps, timed back
to back in this process. Target: at most 20 % slower.

Part of every ``python benchmarks/run.py`` run except ``--kernel-memory``; alone with
``python benchmarks/run.py --monitor-only`` (``--steps`` and ``--repeats`` set its timings).
"""

import time

from common import LEARNING_RATE, SEED, TARGETS, spread

MONITOR_EVERY = 10  # steps between two dashboard records in the overhead measurement


def measure_monitor_overhead(steps, repeats):
    """Seconds per step of ``train`` without and with the dashboard recorder, interleaved.

    Both continue one network (``start_step``), so they train on the same kind of batches;
    the recorder measures every :data:`MONITOR_EVERY` steps on the batch about to be trained.
    """
    from course_utils.core.data import load_mnist
    from course_utils.core.training import train
    from course_utils.lab.experiments import EXPERIMENTS
    from course_utils.lab.monitor import Recorder

    data = load_mnist("subset")
    network = EXPERIMENTS["proper"].create_network(SEED)
    images, labels = data.train_images, data.train_labels
    position = {"step": 0}

    def time_plain():
        start = time.perf_counter()
        train(network, images, labels, LEARNING_RATE, steps, record_every=100, progress=False,
              start_step=position["step"])
        position["step"] += steps
        return (time.perf_counter() - start) / steps

    def time_recorded():
        start = time.perf_counter()
        recorder = Recorder(network, images, labels, LEARNING_RATE, start_step=position["step"])
        train(network, images, labels, LEARNING_RATE, steps, record_every=MONITOR_EVERY,
              progress=False, start_step=position["step"], callback=recorder)
        position["step"] += steps
        return (time.perf_counter() - start) / steps

    time_plain()
    time_recorded()  # trace both
    timings = {"plain": [], "recorded": []}
    for repeat in range(repeats):
        order = [("plain", time_plain), ("recorded", time_recorded)]
        for name, timer in order if repeat % 2 == 0 else order[::-1]:
            timings[name].append(timer())
        print(f"  repeat {repeat + 1}/{repeats}: plain {1000 * timings['plain'][-1]:.1f} ms/step, "
              f"with the recorder {1000 * timings['recorded'][-1]:.1f} ms/step", flush=True)
    plain, recorded = spread(timings["plain"]), spread(timings["recorded"])
    return {"steps_per_timing": steps, "record_every": MONITOR_EVERY,
            "plain_s_per_step": plain, "recorded_s_per_step": recorded,
            "overhead": recorded["best"] / plain["best"] - 1,
            "overhead_median": recorded["median"] / plain["median"] - 1}


def summary_rows(report):
    """The summary's row: the extra training time with the recorder on."""
    monitor = report.get("monitor_overhead")
    if not monitor:
        return []
    return [(
        f"training with the dashboard (every {monitor['record_every']} steps)",
        f"+{100 * monitor['overhead']:.0f} %",
        f"<= {100 * TARGETS['monitor_overhead']:.0f} %",
        monitor["overhead"] <= TARGETS["monitor_overhead"],
        f"best {1000 * monitor['recorded_s_per_step']['best']:.1f} vs "
        f"{1000 * monitor['plain_s_per_step']['best']:.1f} ms/step; median "
        f"+{100 * monitor['overhead_median']:.0f} %",
    )]
