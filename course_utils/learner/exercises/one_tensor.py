"""Make N(0, 1) learn by changing one tensor's scale (notebook 1): a 30-step run checks it."""

import math

from .feedback import Feedback, as_number, read_name

ONE_TENSOR_STEPS = 30  # the check's run: steps of 100 images from the seed-0 N(0, 1) draws
ONE_TENSOR_TARGET = 1.4  # "learns": the mean cost of the last 5 steps is below this (ln 10 = 2.30)
ONE_TENSOR_START = 2 * math.log(10)  # a first cost above this: the logits are still too large
ONE_TENSOR_SPIKE = 10.0  # a cost above this after step 0: the steps are too large


def check_one_tensor_scale(scales, learning_rate=1e-7, seed=0, data=None):
    """Multiply ONE of notebook 1's N(0, 1) weight tensors by a scale, train 30 steps, and say
    whether the network learns.

    ``scales`` is ``{"layer1": 1, ..., "layer5": 1}`` with exactly one value changed (missing
    layers count as 1). The run starts from the seed-``seed`` draws of notebook 1, trains
    :data:`ONE_TENSOR_STEPS` steps of plain gradient descent at ``learning_rate`` on the offline
    subset, and passes when the mean training-batch cost of the last 5 steps is below
    :data:`ONE_TENSOR_TARGET` with no step's cost above :data:`ONE_TENSOR_SPIKE`. A change that
    is not exactly one tensor is caught before any training. ``data`` is the
    :class:`~course_utils.core.data.MnistData` to train on (None: the offline subset, split with
    ``seed``, as notebook 1 loads it).
    """
    change = _one_change(scales)
    if isinstance(change, Feedback):
        return change
    learning_rate = as_number(learning_rate)
    if learning_rate is None or not learning_rate > 0:
        return Feedback(False, "The learning rate must be a positive number.")
    layer, scale = change
    network = _one_tensor_network(layer, scale, seed)
    if data is None:
        from ...core.data import load_mnist

        data = load_mnist("subset", seed=seed)
    first = _first_cost(network, data)
    if not math.isfinite(first) or first > ONE_TENSOR_START:
        return Feedback(False, f"{layer} x {scale:g}: the first cost is still {first:.3g}, not "
                               "about ln 10 = 2.30. The logits are still huge, so softmax is "
                               f"still certain: a scale of {scale:g} is not small enough. Scaling "
                               "one tensor by c scales the logits by c, and they start near 1e6.")
    costs, accuracies, diverged_at = _train_one_tensor(network, data, learning_rate)
    what = f"{layer} x {scale:g} at learning rate {learning_rate:g}"
    if diverged_at is not None:
        return Feedback(False, f"{what}: the first cost is {first:.3g}, good, but the cost went "
                               f"to NaN or inf at step {diverged_at}: too large a step. Lower the "
                               "learning rate.")
    spike = max(range(1, len(costs)), key=lambda step: costs[step])
    if costs[spike] > ONE_TENSOR_SPIKE:
        return Feedback(False, f"{what}: the first cost is {first:.3g}, good, but at step {spike} "
                               f"the cost jumped to {costs[spike]:.3g}: each step is far too "
                               "large for a tensor this small. Lower the learning rate.")
    last = sum(costs[-5:]) / 5
    accuracy = sum(accuracies[-5:]) / 5
    if last >= first:
        return Feedback(False, f"{what}: the cost rose from {first:.3g} to {last:.3g} (mean of "
                               f"the last 5 steps), peaking at {costs[spike]:.3g}: the steps "
                               "overshoot. Lower the learning rate.")
    if last >= ONE_TENSOR_TARGET and costs[spike] > first + 1:
        return Feedback(False, f"{what}: the cost went from {first:.3g} up to {costs[spike]:.3g} "
                               f"(step {spike}) and ended at {last:.3g} (mean of the last 5 "
                               f"steps), above {ONE_TENSOR_TARGET}: the steps overshoot for this "
                               "tensor. Lower the learning rate, or try another tensor.")
    if last >= ONE_TENSOR_TARGET:
        return Feedback(False, f"{what}: the cost went from {first:.3g} to {last:.3g} (mean of "
                               f"the last 5 steps), still above {ONE_TENSOR_TARGET}: it learns "
                               "too slowly. Raise the learning rate, or try another tensor: "
                               "they do not all train alike.")
    return Feedback(True, f"{what}: the cost went from {first:.3g} (ln 10 = 2.30) to {last:.3g} "
                          f"in {ONE_TENSOR_STEPS} steps (mean of the last 5), with batch accuracy "
                          f"{100 * accuracy:.0f} %. One tensor's scale fixed the logits' size; "
                          "the learning rate then had to match the smaller weights.")


def _one_change(scales):
    """``(layer, scale)`` of the one tensor ``scales`` changes, or the :class:`Feedback` that says
    what is wrong with ``scales``. A name is read as typed loosely: "Layer 4" is layer4."""
    from ...core.network import WEIGHT_SHAPES

    if not isinstance(scales, dict):
        return Feedback(False, 'Pass a dict such as {"layer1": 1, "layer2": 1, "layer3": 1, '
                               f'"layer4": 1, "layer5": 1}} (got {scales!r}).')
    scales = {read_name(layer).replace(" ", ""): scale for layer, scale in scales.items()}
    unknown = sorted(set(scales) - set(WEIGHT_SHAPES))
    if unknown:
        return Feedback(False, f"{', '.join(map(repr, unknown))}: not a weight tensor. The five "
                               f"are {', '.join(WEIGHT_SHAPES)} (layer5 feeds the logits).")
    bad = {layer: scale for layer, scale in scales.items()
           if as_number(scale) is None or not as_number(scale) > 0}
    if bad:
        return Feedback(False, f"A scale must be a positive number; got {bad}.")
    changed = {layer: float(scale) for layer, scale in scales.items() if float(scale) != 1}
    if not changed:
        return Feedback(False, "You changed no tensor: every scale is 1, so this is notebook 1's "
                               "network, whose first cost is in the hundreds of thousands. Pick "
                               "one tensor and give it a scale below 1.")
    if len(changed) > 1:
        return Feedback(False, f"You changed {len(changed)} tensors ({', '.join(changed)}). "
                               "Change exactly one: with zero biases, scaling any one tensor "
                               "by c already scales the logits by c.")
    return next(iter(changed.items()))


def _one_tensor_network(layer, scale, seed):
    """Notebook 1's seed-``seed`` N(0, 1) network with ``layer``'s weights times ``scale``."""
    import tensorflow as tf

    from ...core.network import ConvNet
    from ...lab.experiments import EXPERIMENTS

    weights = EXPERIMENTS["large"].create_weights(seed)
    weights[layer] = tf.Variable(weights[layer] * scale)
    return ConvNet.from_weights(weights)


def _first_cost(network, data):
    """The cost of the first training batch (the batch of step 0), before any update."""
    from ...core.network import cost_and_outputs

    cost, _ = cost_and_outputs(network.parameters, data.train_images[:100],
                               data.train_labels[:100], network.activation)
    return float(cost)


def _train_one_tensor(network, data, learning_rate):
    """Training-batch costs and accuracies of every step, and the step that diverged (or None)."""
    from ...core.training import train

    history = train(network, data.train_images, data.train_labels, learning_rate,
                    ONE_TENSOR_STEPS, record_every=1, progress=False)
    return history.costs, history.accuracies, history.diverged_at


SOLUTION = (
    'scales = {"layer1": 1, "layer2": 1, "layer3": 1, "layer4": 1e-6, "layer5": 1}\n'
    "learning_rate = 1e-10\n"
    "check_one_tensor_scale(scales, learning_rate)\n\n"
    "# Why: with zero biases, scaling one tensor by c scales the logits by c. They start near\n"
    "# 1e6, so c = 1e-6 brings them near 1 and the first cost to about ln 10. That tensor's\n"
    "# gradient does not shrink with it, so at 1e-7 each step moves it far past its own size\n"
    "# and the cost jumps: a rate about a thousand times smaller trains it.\n"
)
