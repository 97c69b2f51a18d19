"""7. The training dashboard's cost (headed "6." when measured alone, ``--monitor-only``).

``train`` with a ``course_utils.lab.monitor.Recorder`` as its callback (recording every 10 steps)
against plain ``train`` (recording the cost every 100), same network, data and steps, timed back
to back in this process. Target: at most 20 % slower.

7b. The same for Keras: ``fit`` on the same network as a Keras model
(:func:`course_utils.core.network.keras_convnet`) with a
``course_utils.lab.keras_monitor.DashboardCallback`` on a sample batch of 100 test digits
(recording every 10 steps) against plain ``fit``. Same target.

Part of every ``python benchmarks/run.py`` run except ``--kernel-memory``; alone with
``python benchmarks/run.py --monitor-only`` (both) or ``--keras-monitor-only`` (7b only);
``--steps`` and ``--repeats`` set their timings.
"""

import math
import time

from common import BATCH_SIZE, LEARNING_RATE, SEED, TARGETS, spread

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

    timings = _interleaved({"plain": time_plain, "recorded": time_recorded}, repeats, "plain",
                           "with the recorder")
    plain, recorded = spread(timings["plain"]), spread(timings["recorded"])
    return {"steps_per_timing": steps, "record_every": MONITOR_EVERY,
            "plain_s_per_step": plain, "recorded_s_per_step": recorded,
            "overhead": recorded["best"] / plain["best"] - 1,
            "overhead_median": recorded["median"] / plain["median"] - 1}


def measure_keras_monitor_overhead(steps, repeats):
    """Seconds per step of Keras ``fit`` without and with the dashboard callback, interleaved.

    Both continue one Keras copy of the post's ConvNet over whole epochs of the subset's
    training digits (about ``steps`` steps per timing); the callback measures every
    :data:`MONITOR_EVERY` steps on a sample batch of 100 test digits.
    """
    from course_utils.core.data import load_mnist
    from course_utils.core.network import keras_convnet
    from course_utils.lab.experiments import EXPERIMENTS
    from course_utils.lab.keras_monitor import DashboardCallback

    data = load_mnist("subset")
    model = keras_convnet(EXPERIMENTS["proper"].create_network(SEED), LEARNING_RATE)
    steps_per_epoch = math.ceil(len(data.train_labels) / BATCH_SIZE)
    epochs = max(1, round(steps / steps_per_epoch))
    dashboard = DashboardCallback(data.test_images[:BATCH_SIZE], record_every=MONITOR_EVERY)

    def timer(callbacks):
        def time_fit():
            start = time.perf_counter()
            model.fit(data.train_images, data.train_labels, batch_size=BATCH_SIZE,
                      epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
            return (time.perf_counter() - start) / (epochs * steps_per_epoch)
        return time_fit

    timings = _interleaved({"plain": timer([]), "recorded": timer([dashboard])}, repeats,
                           "fit", "with the callback")
    plain, recorded = spread(timings["plain"]), spread(timings["recorded"])
    return {"steps_per_timing": epochs * steps_per_epoch,
            "record_every": MONITOR_EVERY, "plain_s_per_step": plain,
            "recorded_s_per_step": recorded, "overhead": recorded["best"] / plain["best"] - 1,
            "overhead_median": recorded["median"] / plain["median"] - 1}


def _interleaved(timers, repeats, plain_label, recorded_label):
    """``{"plain": [s/step, ...], "recorded": [...]}``: each timer once to trace, then
    ``repeats`` timings of each, alternating which goes first."""
    for time_once in timers.values():
        time_once()
    timings = {name: [] for name in timers}
    for repeat in range(repeats):
        order = list(timers.items())
        for name, time_once in order if repeat % 2 == 0 else order[::-1]:
            timings[name].append(time_once())
        print(f"  repeat {repeat + 1}/{repeats}: {plain_label} "
              f"{1000 * timings['plain'][-1]:.1f} ms/step, {recorded_label} "
              f"{1000 * timings['recorded'][-1]:.1f} ms/step", flush=True)
    return timings


def summary_rows(report):
    """The summary's rows: the extra training time with the recorder on, and with the Keras
    callback on."""
    rows = []
    for key, label in (("monitor_overhead", "training with the dashboard"),
                       ("keras_monitor_overhead", "Keras fit with the dashboard callback")):
        monitor = report.get(key)
        if not monitor:
            continue
        rows.append((
            f"{label} (every {monitor['record_every']} steps)",
            f"+{100 * monitor['overhead']:.0f} %",
            f"<= {100 * TARGETS['monitor_overhead']:.0f} %",
            monitor["overhead"] <= TARGETS["monitor_overhead"],
            f"best {1000 * monitor['recorded_s_per_step']['best']:.1f} vs "
            f"{1000 * monitor['plain_s_per_step']['best']:.1f} ms/step; median "
            f"+{100 * monitor['overhead_median']:.0f} %",
        ))
    return rows
