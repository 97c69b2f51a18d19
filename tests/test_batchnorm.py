import numpy as np

from course_utils.core.network import (
    BN_EPSILON,
    CONV_WEIGHT_NAMES,
    ConvNet,
    batch_norm,
    split_parameters,
)
from course_utils.core.training import evaluate, train
from course_utils.lab.experiments import EXPERIMENTS


def test_batch_norm_uses_per_channel_statistics_over_batch_height_and_width():
    rng = np.random.default_rng(0)
    # every axis carries its own offsets and scales, so any other choice of axes gives other values
    values = (rng.normal(size=(6, 5, 4, 3)) * rng.uniform(0.5, 4, size=(6, 5, 1, 3))
              + rng.normal(0, 3, size=(1, 5, 4, 3))).astype(np.float32)
    gamma = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    beta = np.array([0.0, -1.0, 3.0], dtype=np.float32)
    mean = values.mean(axis=(0, 1, 2))
    variance = values.var(axis=(0, 1, 2))
    expected = gamma * (values - mean) / np.sqrt(variance + BN_EPSILON) + beta
    np.testing.assert_allclose(batch_norm(values, gamma, beta), expected, rtol=1e-4, atol=1e-4)
    unit = batch_norm(values, np.ones(3, np.float32), np.zeros(3, np.float32)).numpy()
    np.testing.assert_allclose(unit.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(unit.std(axis=(0, 1, 2)), 1, atol=1e-3)


def test_batchnorm_network_has_gamma_and_beta_and_normalized_outputs(digits):
    plain = EXPERIMENTS["large"].create_network(0)
    network = ConvNet.from_weights(EXPERIMENTS["large"].create_weights(0), batch_norm=True)
    assert network.batch_norm and not plain.batch_norm
    assert len(network.parameters) == 10 + 2 * len(CONV_WEIGHT_NAMES)
    # four gammas and four betas, one per channel of layer1..layer4: 64 + 64 + 128 + 128 each
    assert sum(int(np.prod(v.shape)) for v in network.parameters) == 321_738 + 2 * 384
    weights, biases, norms = split_parameters(network.parameters)
    assert norms["layer3"][0] is network.norms["layer3"][0]
    assert split_parameters(plain.parameters)[2] is None
    outputs = network.outputs(digits)
    reference = plain.outputs(digits)
    # BatchNorm normalizes with the batch's statistics: outputs() must not split the batch
    chunked = network.outputs(digits, batch_size=5)
    np.testing.assert_allclose(chunked["layer2_bn"], outputs["layer2_bn"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outputs["layer1_conv"], reference["layer1_conv"], rtol=1e-5)
    for layer in CONV_WEIGHT_NAMES:
        normalized = outputs[f"{layer}_bn"]
        np.testing.assert_allclose(normalized.mean(axis=(0, 1, 2)), 0, atol=1e-3)
        assert 0.99 < normalized.std() < 1.001
    # N(0, 1) weights: the conv outputs still explode, what the ReLUs see does not
    ratio = np.std(outputs["layer4_bn"]) / np.std(outputs["layer1_bn"])
    assert 0.99 < ratio < 1.01
    assert np.std(outputs["layer4_conv"]) / np.std(outputs["layer1_conv"]) > 10


def test_batchnorm_trains_gamma_and_beta_and_rescues_small_weights(subset):
    weights = EXPERIMENTS["small"].create_weights(0)
    network = ConvNet.from_weights(weights, batch_norm=True)
    history = train(network, subset.train_images, subset.train_labels, 0.1, 40,
                    record_every=10, progress=False)
    assert history.diverged_at is None
    assert not np.allclose(network.norms["layer2"][0].numpy(), 1.0)  # gamma moved
    assert not np.allclose(network.norms["layer2"][1].numpy(), 0.0)  # beta moved
    # the conv biases before a BatchNorm get no gradient (the mean subtraction cancels them):
    # they stay at zero up to rounding, while beta moves
    bias_moved = np.abs(network.biases["layer2"].numpy()).max()
    assert bias_moved < 1e-3 * np.abs(network.norms["layer2"][1].numpy()).max()
    cost, accuracy = evaluate(network, subset.test_images, subset.test_labels)
    assert accuracy > 0.5
    plain = EXPERIMENTS["small"].create_network(0)
    train(plain, subset.train_images, subset.train_labels, 0.1, 40, progress=False)
    assert evaluate(plain, subset.test_images, subset.test_labels)[1] < 0.3


def test_batch_norm_statistics_are_the_batch_s_own(digits):
    network = ConvNet.from_weights(EXPERIMENTS["proper"].create_weights(0), batch_norm=True)
    alone = network.outputs(digits[:4])["logits"]
    together = network.outputs(digits)["logits"][:4]
    # no running averages: the other images of the batch change an image's logits
    # (documented in batch_norm's docstring)
    assert not np.allclose(alone, together)
