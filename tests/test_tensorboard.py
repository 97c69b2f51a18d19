import math

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util.tensor_util import make_ndarray

from course_utils.cli import main
from course_utils.core.training import History
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.views.tensorboard import HISTOGRAM_NAMES, MAX_HISTOGRAM_VALUES, log_run


def read_run(folder):
    """TensorBoard's own reader; TF2 stores histograms and scalars as tensors."""
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def counted(total):
    """How many of ``total`` values a histogram holds: all, or an even subsample of them."""
    return len(range(0, total, max(1, -(-total // MAX_HISTOGRAM_VALUES))))


def plugin_of(events, tag):
    return events.SummaryMetadata(tag).plugin_data.plugin_name


def test_log_run_writes_histograms_and_the_history(tmp_path, digits):
    initial = EXPERIMENTS["proper"].create_network(0)
    trained = EXPERIMENTS["proper"].create_network(1)
    history = History(steps=[0, 10, 20], costs=[2.5, 1.5, math.inf], accuracies=[0.1, 0.5, 0.6])
    log_run(tmp_path / "proper", initial, trained, digits[:8], history, final_step=30)

    events = read_run(tmp_path / "proper")
    tags = events.Tags()["tensors"]
    for name in HISTOGRAM_NAMES:
        assert name in tags and plugin_of(events, name) == "histograms"
        assert [event.step for event in events.Tensors(name)] == [0, 30]
    buckets = make_ndarray(events.Tensors("layer1_conv")[0].tensor_proto)  # (left, right, count)
    total = 8 * 28 * 28 * 64
    assert total > MAX_HISTOGRAM_VALUES and counted(total) <= MAX_HISTOGRAM_VALUES
    assert buckets[:, 2].sum() == counted(total)  # an even subsample, each value counted once
    assert plugin_of(events, "cost") == "scalars"
    costs = {event.step: float(make_ndarray(event.tensor_proto))
             for event in events.Tensors("cost")}
    assert costs == {0: 2.5, 10: 1.5}  # the inf cost is left out
    assert [event.step for event in events.Tensors("accuracy")] == [0, 10, 20]


def test_histograms_leave_out_nonfinite_values(tmp_path, digits):
    network = EXPERIMENTS["proper"].create_network(0)
    network.weights["layer5"].assign(np.full((6272, 10), np.nan, dtype=np.float32))
    log_run(tmp_path, network, network, digits[:2], History(), final_step=1)
    events = read_run(tmp_path)
    for event in events.Tensors("logits"):
        assert make_ndarray(event.tensor_proto)[:, 2].sum() == 0  # no finite logit: empty
    for event in events.Tensors("layer4_conv"):
        assert make_ndarray(event.tensor_proto)[:, 2].sum() == counted(2 * 14 * 14 * 128)


@pytest.mark.slow  # runs reproduce end to end
def test_reproduce_writes_one_run_per_experiment(tmp_path, capsys):
    status = main(["reproduce", "--steps", "3", "--experiments", "small",
                   "--no-progress", "--tensorboard", str(tmp_path / "tb")])
    assert status == 0
    assert "tensorboard: runs small in" in capsys.readouterr().out
    assert sorted(path.name for path in (tmp_path / "tb").iterdir()) == ["small"]
    events = read_run(tmp_path / "tb" / "small")
    for name in HISTOGRAM_NAMES:
        assert [event.step for event in events.Tensors(name)] == [0, 3]  # initial and trained
    assert [event.step for event in events.Tensors("cost")] == [0]


def test_a_layer_one_value_over_the_cap_is_subsampled(tmp_path):
    from types import SimpleNamespace

    import tensorflow as tf

    from course_utils.views.tensorboard import write_histograms

    values = np.arange(200_001, dtype=np.float32)  # one more than the cap of 200,000
    network = SimpleNamespace(outputs=lambda images: {name: values for name in HISTOGRAM_NAMES})
    writer = tf.summary.create_file_writer(str(tmp_path))
    write_histograms(writer, network, None, step=0)
    writer.close()
    events = read_run(tmp_path)
    for name in HISTOGRAM_NAMES:
        assert make_ndarray(events.Tensors(name)[0].tensor_proto)[:, 2].sum() <= 200_000


def test_a_history_whose_lists_differ_in_length_is_refused(tmp_path):
    import tensorflow as tf

    from course_utils.views.tensorboard import write_history

    history = History(steps=[0, 10], costs=[2.3], accuracies=[0.1, 0.2])
    writer = tf.summary.create_file_writer(str(tmp_path))
    with pytest.raises(ValueError):
        write_history(writer, history)
    writer.close()


def test_monitor_without_gradient_samples_and_a_zero_ratio(tmp_path):
    from types import SimpleNamespace

    import tensorflow as tf

    from course_utils.views.tensorboard import write_monitor

    # a recorder made without histograms, whose layer1 got no gradient at all
    recorder = SimpleNamespace(
        steps=[0], gradient_samples=[],
        records=[{"update_ratio": {"layer1": 0.0, "layer2": 1e-3},
                  "gradient_std": {"layer1": 0.0, "layer2": 0.5}}])
    writer = tf.summary.create_file_writer(str(tmp_path))
    write_monitor(writer, recorder)
    writer.close()
    tags = read_run(tmp_path).Tags()["tensors"]
    assert "update_ratio/layer1" in tags and "log10_update_ratio/layer2" in tags
    assert "log10_update_ratio/layer1" not in tags  # log10(0) is not written
    assert not any(tag.startswith("gradients/") for tag in tags)


def test_each_experiment_gets_its_folder_and_a_diverged_run_ends_where_it_stopped(
        tmp_path, subset, digits):
    from course_utils.lab.experiments import run_experiment
    from course_utils.views.tensorboard import log_experiment_results

    results = {  # N(0, 1) at a rate of 1e3 blows up within a few steps
        "large": run_experiment("large", subset, 6, learning_rate=1e3, record_every=1,
                                progress=False, keep_outputs=False),
        "proper": run_experiment("proper", subset, 6, record_every=1, progress=False,
                                 keep_outputs=False),
    }
    stopped = results["large"].history.diverged_at
    assert stopped is not None and stopped < 6 and results["proper"].history.diverged_at is None
    folders = log_experiment_results(tmp_path / "runs", results, digits[:2], steps=6, seed=0)
    assert folders == [tmp_path / "runs" / "large", tmp_path / "runs" / "proper"]
    for folder, last in zip(folders, (stopped, 6)):
        assert [event.step for event in read_run(folder).Tensors("logits")] == [0, last]
