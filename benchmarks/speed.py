"""1. Training throughput, and 5. the expected time of the faithful full-MNIST run.

``course_utils.core.training.train`` on the course's ConvNet against Keras ``Model.fit`` on the same
network, same weights, same data and batch size, in this process (target: at least as fast), and
against this machine's float32 matmul rate (target: at least 85 % of it in FLOPs). FLOP
convention: a multiply-add is 2 FLOPs; only the convolutions and the fully connected layer count
(bias, ReLU, pooling and the loss are under 1 %); one training step costs 3 forward passes
(forward, gradient of the inputs, gradient of the weights). Each conv layer is also timed alone,
the ceiling the convolution kernels set. From the measured throughput: the expected time of the
faithful run (3 x 5000 steps of 100 images, 3 x 10,000 test images).

Part of every ``python benchmarks/run.py`` run except ``--kernel-memory`` and ``--monitor-only``;
``--steps`` and ``--repeats`` set its timings.
"""

import math
import time

from common import BATCH_SIZE, LEARNING_RATE, SEED, TARGETS, spread

# The faithful run of the post: three experiments of 5000 steps, each tested on 10,000 images.
FULL_RUN = {"experiments": 3, "steps": 5000, "test_images": 10_000}


def measure(settings, report):
    """Everything of 1. and 5., printed as it goes and added to ``report``.

    The matmul rate is measured first at each size, then again at the fastest size once per
    training repeat, interleaved with the training timings: this machine's speed drifts, and a
    rate measured only before the training once made the training look faster than matmul.
    """
    import course_utils  # noqa: F401  (imports TensorFlow without its C++ start-up lines)
    from course_utils.core.training import set_seed

    set_seed(SEED)  # before TensorFlow's first op: seeds, op determinism, one op at a time
    flops = training_flops_per_image()
    report["flops_per_image"] = flops
    print(f"\n1. Training throughput ({flops['training'] / 1e6:.1f} MFLOP per training image)",
          flush=True)
    matmul = measure_matmul_rate(settings["matmul_sizes"], settings["repeats"])
    print(f"  matmul {matmul['size']}x{matmul['size']}: {matmul['flops_per_s'] / 1e9:.0f} GFLOP/s",
          flush=True)
    training = measure_training(settings["steps"], settings["repeats"],
                                _matmul_timer(matmul["size"]))
    network, images = training.pop("network"), training.pop("images")
    interleaved = 2 * matmul["size"] ** 3 / training["matmul_s_per_call"]["best"]
    matmul["interleaved_flops_per_s"] = interleaved
    matmul["flops_per_s"] = max(matmul["flops_per_s"], interleaved)  # the best seen, either way
    report["matmul"] = matmul
    report["training"] = training
    report["conv_profile"] = profile_conv_layers(network, images, settings["repeats"])
    figures = training_figures(training, matmul, flops)
    report["training_figures"] = figures
    report["full_run_estimate"] = full_run_estimate(figures)
    print(f"  course train: {figures['course_images_per_s']:.0f} images/s "
          f"({figures['course_flops_per_s'] / 1e9:.0f} GFLOP/s, "
          f"{100 * figures['flop_utilization']:.0f} % of matmul); Keras fit: "
          f"{figures['keras_images_per_s']:.0f} images/s; evaluate: "
          f"{figures['evaluate_images_per_s']:.0f} images/s", flush=True)


def training_flops_per_image():
    """FLOPs of one image through the network: per layer (forward), forward total, training."""
    from course_utils.core.network import WEIGHT_SHAPES

    sides = {"layer1": 28, "layer2": 28, "layer3": 14, "layer4": 14}  # output height = width
    forward = {}
    for layer, side in sides.items():
        height, width, inputs, outputs = WEIGHT_SHAPES[layer]
        forward[f"{layer}_conv"] = 2 * side * side * outputs * (height * width * inputs)
    inputs, outputs = WEIGHT_SHAPES["layer5"]
    forward["logits"] = 2 * inputs * outputs
    total = sum(forward.values())
    return {"forward_by_layer": forward, "forward": total, "training": 3 * total}


def measure_matmul_rate(sizes, repeats):
    """Best float32 FLOP/s of ``tf.matmul`` on square matrices of each size, in a tf.function."""
    rates = {}
    for size in sizes:
        timer = _matmul_timer(size)
        rates[size] = 2 * size**3 / min(timer() for _ in range(repeats))
    best = max(rates, key=rates.get)
    return {"flops_per_s": rates[best], "size": best,
            "by_size": {str(size): rate for size, rate in rates.items()}}


def _matmul_timer(size):
    """``time()``: seconds per call of a compiled float32 ``tf.matmul`` of two ``size`` x
    ``size`` matrices, over about half a second of calls (traced and warmed up here)."""
    import tensorflow as tf

    @tf.function
    def multiply(a, b):
        return tf.matmul(a, b)

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    multiply(a, b).numpy()  # trace and warm up
    calls = max(2, math.ceil(2e11 / (2 * size**3)))

    def time_calls():
        start = time.perf_counter()
        for _ in range(calls):
            product = multiply(a, b)
        product.numpy()
        return (time.perf_counter() - start) / calls

    return time_calls


def measure_training(steps, repeats, time_matmul):
    """Seconds per step of course_utils ``train`` and of Keras ``fit``, and seconds per call of
    ``time_matmul()``, in interleaved repeats."""
    import numpy as np

    from course_utils.core.data import load_mnist
    from course_utils.core.network import keras_convnet
    from course_utils.core.training import evaluate, train
    from course_utils.lab.experiments import EXPERIMENTS

    data = load_mnist("subset")
    network = EXPERIMENTS["proper"].create_network(SEED)
    model = keras_convnet(network, LEARNING_RATE)
    batch = data.test_images[:BATCH_SIZE]
    mismatch = float(np.max(np.abs(model(batch, training=False).numpy() - network.logits(batch))))

    steps_per_epoch = len(data.train_labels) // BATCH_SIZE
    epochs = max(1, round(steps / steps_per_epoch))
    keras_steps = epochs * steps_per_epoch

    def time_course():
        start = time.perf_counter()
        train(network, data.train_images, data.train_labels, LEARNING_RATE, steps,
              record_every=100, progress=False)
        return (time.perf_counter() - start) / steps

    def time_keras():
        start = time.perf_counter()
        model.fit(data.train_images, data.train_labels, batch_size=BATCH_SIZE, epochs=epochs,
                  shuffle=False, verbose=0)
        return (time.perf_counter() - start) / keras_steps

    def time_evaluate():
        start = time.perf_counter()
        evaluate(network, data.test_images, data.test_labels)
        return (time.perf_counter() - start) / len(data.test_labels)

    for warm_up in (time_course, time_keras, time_evaluate):  # trace, compile, fill caches
        warm_up()
    timings = {"course": [], "keras": [], "evaluate": [], "matmul": []}
    for repeat in range(repeats):
        order = [("course", time_course), ("keras", time_keras)]
        for name, timer in order if repeat % 2 == 0 else order[::-1]:
            timings[name].append(timer())
        timings["evaluate"].append(time_evaluate())
        timings["matmul"].append(time_matmul())
        print(f"  repeat {repeat + 1}/{repeats}: course "
              f"{1000 * timings['course'][-1]:.1f} ms/step, "
              f"Keras fit {1000 * timings['keras'][-1]:.1f} ms/step", flush=True)
    return {
        "dataset": repr(data),
        "course_steps_per_timing": steps,
        "keras_steps_per_timing": keras_steps,
        "keras_jit_compile": bool(model.jit_compile),
        "keras_logits_max_abs_difference": mismatch,
        "course_s_per_step": spread(timings["course"]),
        "keras_s_per_step": spread(timings["keras"]),
        "evaluate_s_per_image": spread(timings["evaluate"]),
        "matmul_s_per_call": spread(timings["matmul"]),
        "network": network,
        "images": data.train_images[:BATCH_SIZE],
    }


def profile_conv_layers(network, images, repeats):
    """Each conv layer alone, forward plus both gradients, at batch 100: seconds and FLOP/s.

    This is the ceiling the convolution kernels set: the whole training step cannot be faster
    than the sum of its conv layers.
    """
    import tensorflow as tf

    flops = training_flops_per_image()["forward_by_layer"]
    outputs = network.forward(tf.convert_to_tensor(images))
    inputs = {"layer1": tf.convert_to_tensor(images), "layer2": tf.nn.relu(outputs["layer1_conv"]),
              "layer3": tf.nn.max_pool2d(tf.nn.relu(outputs["layer2_conv"]), 2, 2, "SAME"),
              "layer4": tf.nn.relu(outputs["layer3_conv"])}
    profile = {}
    for layer, layer_input in inputs.items():
        weights = network.weights[layer]
        needs_input_gradient = layer != "layer1"  # training never asks for d(cost)/d(images)

        @tf.function
        def step(x, w=weights, both=needs_input_gradient):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.nn.conv2d(x, w, strides=1, padding="SAME")
                total = tf.reduce_sum(y)
            return tape.gradient(total, [x, w] if both else [w])

        step(layer_input)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(5):
                result = step(layer_input)
            result[-1].numpy()
            seconds.append((time.perf_counter() - start) / 5)
        layer_flops = len(images) * flops[f"{layer}_conv"] * (3 if needs_input_gradient else 2)
        profile[f"{layer}_conv"] = {"s_per_step": min(seconds),
                                    "flops_per_s": layer_flops / min(seconds)}
    return profile


def training_figures(training, matmul, flops):
    """Images/s, FLOP/s and the ratios from the best timings."""
    course_s = training["course_s_per_step"]["best"]
    keras_s = training["keras_s_per_step"]["best"]
    course_rate = BATCH_SIZE / course_s
    training_flops = flops["training"] * course_rate
    return {
        "course_images_per_s": course_rate,
        "keras_images_per_s": BATCH_SIZE / keras_s,
        "keras_ratio": keras_s / course_s,
        "course_flops_per_s": training_flops,
        "matmul_flops_per_s": matmul["flops_per_s"],
        "flop_utilization": training_flops / matmul["flops_per_s"],
        "evaluate_images_per_s": 1 / training["evaluate_s_per_image"]["best"],
    }


def full_run_estimate(figures):
    """Seconds the faithful run of the post would take at the measured speed."""
    train_s = FULL_RUN["experiments"] * FULL_RUN["steps"] * BATCH_SIZE / figures[
        "course_images_per_s"]
    test_s = FULL_RUN["experiments"] * FULL_RUN["test_images"] / figures["evaluate_images_per_s"]
    return {"train_s": train_s, "test_s": test_s, "total_s": train_s + test_s}


def summary_rows(report):
    """The summary's rows: course against Keras fit, and FLOP/s against matmul."""
    figures = report.get("training_figures")
    if not figures:
        return []
    profile = report.get("conv_profile", {})
    conv_s = sum(entry["s_per_step"] for entry in profile.values())
    step_s = report["training"]["course_s_per_step"]["best"]
    keras_s = report["training"]["keras_s_per_step"]["best"]
    conv_rates = ", ".join(f"{name.split('_')[0]} {entry['flops_per_s'] / 1e9:.0f}"
                           for name, entry in profile.items())
    return [(
        "training: course vs Keras fit", f"{figures['keras_ratio']:.2f}x",
        f">= {TARGETS['keras_ratio']:.1f}x",
        figures["keras_ratio"] >= TARGETS["keras_ratio"],
        f"course {1000 * step_s:.1f} ms/step, Keras fit {1000 * keras_s:.1f} ms/step; "
        f"the conv layers alone take {1000 * conv_s:.1f} ms of a step",
    ), (
        "training: FLOP/s vs matmul", f"{100 * figures['flop_utilization']:.0f} %",
        f">= {100 * TARGETS['flop_utilization']:.0f} %",
        figures["flop_utilization"] >= TARGETS["flop_utilization"],
        f"conv layers alone (fwd + grads, GFLOP/s): {conv_rates}; matmul "
        f"{figures['matmul_flops_per_s'] / 1e9:.0f}; conv time {1000 * conv_s:.1f} of "
        f"{1000 * step_s:.1f} ms/step, the rest is bias, ReLU, pooling, loss and updates",
    )]


def summary_notes(report):
    """The lines under the summary: the faithful run's expected time (5.), also in bfloat16
    when that was measured."""
    estimate = report.get("full_run_estimate")
    if not estimate:
        return []
    lines = [f"\nFaithful full-MNIST run (3 x 5000 steps of 100, 3 x 10,000 test images), "
             f"expected: {estimate['total_s'] / 60:.1f} min "
             f"({estimate['train_s']:.0f} s training + {estimate['test_s']:.0f} s testing)"]
    precisions = report.get("precisions") or {}
    if precisions.get("supported"):
        bfloat16_s = (estimate["train_s"] / precisions["train_speedup"]
                      + estimate["test_s"] / precisions["evaluate_speedup"])
        lines.append(f"  with --precision bfloat16: {bfloat16_s / 60:.1f} min "
                     "(the speed-ups above)")
    return lines
