"""Depth (notebook 6): choose the weight std that keeps a 30-layer ReLU stack's spread in
range."""

import math

from .feedback import Feedback, as_number

DEPTH_STACK_DEPTH, DEPTH_STACK_WIDTH, DEPTH_STACK_BATCH = 30, 256, 256
DEPTH_STACK_TOLERANCE = 2.0  # the last layer's spread within this factor of the first layer's
DEPTH_STACK_SEED = 4  # a draw whose exact He std gives layer 30 / layer 1 = 1.005 (seed 0: 1.49)

SOLUTION = (
    "import math\n\n"
    "fan_in = 256  # every layer of the stack has 256 inputs per unit\n"
    "# a ReLU passes on half of the variance, so the per-layer factor\n"
    "# sqrt(fan_in * Var(w) / 2) is 1 when Var(w) = 2 / fan_in (He): gain sqrt(2)\n"
    "weight_std = math.sqrt(2 / fan_in)  # 0.0884\n\n"
    "check_deep_stack_std(weight_std)\n"
)


def run_deep_stack(weight_std, seed=DEPTH_STACK_SEED):
    """Pre-activation spread of each layer of the exercise's stack (30 dense ReLU layers of 256
    units, zero biases), weights N(0, weight_std**2), fed a batch of 256 N(0, 1) vectors.

    Forward only, NumPy in float64, seeded: the same numbers on every machine.
    """
    import numpy as np

    from ...lab.deep_stack import stack_spreads

    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((DEPTH_STACK_BATCH, DEPTH_STACK_WIDTH))
    weights = [weight_std * rng.standard_normal((DEPTH_STACK_WIDTH, DEPTH_STACK_WIDTH))
               for _ in range(DEPTH_STACK_DEPTH)]
    return stack_spreads(weights, inputs, "relu").forward_std


def check_deep_stack_std(weight_std):
    """Run the 30-layer ReLU stack with weights N(0, weight_std**2): does the last layer's spread
    stay within 2x of the first layer's? The feedback says what the run shows, and what is off."""
    number = as_number(weight_std)
    if number is None or not math.isfinite(number) or number <= 0:
        return Feedback(False, f"Give the weights' standard deviation as one positive number, "
                               f"e.g. check_deep_stack_std(0.05) (got {weight_std!r}).")
    spreads = run_deep_stack(number)
    growth = float(spreads[-1] / spreads[0])
    layers = DEPTH_STACK_DEPTH - 1
    per_layer = growth ** (1 / layers) if growth > 0 else 0.0
    fan_in = DEPTH_STACK_WIDTH
    gain = number * math.sqrt(fan_in)
    shown = (f"With std {number:.4g} (gain {gain:.3g}: std = gain / sqrt({fan_in})), layer "
             f"{DEPTH_STACK_DEPTH}'s spread is {growth:.3g} times layer 1's")
    if 1 / DEPTH_STACK_TOLERANCE <= growth <= DEPTH_STACK_TOLERANCE:
        return Feedback(True, f"{shown}: within {DEPTH_STACK_TOLERANCE:g}x. The measured "
                              f"per-layer factor is {per_layer:.3f}.")
    trend = (f"{shown}: the spread is multiplied by {per_layer:.3g} per layer "
             f"(measured over {layers} layers).")
    known = (
        (math.sqrt(1 / fan_in),
         "You forgot ReLU's 1/2: std sqrt(1 / fan_in) (gain 1, LeCun) loses half of the variance "
         "in every ReLU, a factor sqrt(1/2) = 0.71 of the spread."),
        (2 / fan_in,
         "That is the variance 2 / fan_in, not the std: take its square root."),
        (1 / fan_in,
         "That is a variance, 1 / fan_in, and without ReLU's 1/2: the std is sqrt(2 / fan_in)."),
        (math.sqrt(2) / fan_in,
         "You divided the gain sqrt(2) by fan_in: divide by sqrt(fan_in)."),
        (math.sqrt(2),
         "That is the gain, sqrt(2): the std is gain / sqrt(fan_in)."),
    )
    for std, message in known:
        if math.isclose(number, std, rel_tol=0.02):
            return Feedback(False, f"{trend} {message}")
    factor = math.sqrt(fan_in * number**2 / 2)
    size = "too large" if factor > 1 else "too small"
    return Feedback(False, f"{trend} Your std is {size}: its per-layer factor "
                           f"sqrt(fan_in * Var(w) / 2) is {factor:.3g}, and it must be 1 (over "
                           f"{layers} layers even a small error compounds).")
