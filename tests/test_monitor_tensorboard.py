import math

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util.tensor_util import make_ndarray

from course_utils.cli import main
from course_utils.core.network import WEIGHT_SHAPES
from course_utils.lab.experiments import EXPERIMENTS
from course_utils.lab.monitor import Recorder
from course_utils.views.tensorboard import write_monitor


def read_run(folder):
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def scalars(events, tag):
    return {event.step: float(make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)}


def test_write_monitor_logs_gradient_histograms_and_update_ratios(tmp_path, subset):
    import tensorflow as tf

    network = EXPERIMENTS["proper"].create_network(0)
    recorder = Recorder(network, subset.train_images[:300], subset.train_labels[:300], 1e-3,
                        histograms=True)
    recorder(5)
    writer = tf.summary.create_file_writer(str(tmp_path))
    write_monitor(writer, recorder)
    writer.close()
    events = read_run(tmp_path)
    for layer in WEIGHT_SHAPES:
        ratios = scalars(events, f"update_ratio/{layer}")
        assert list(ratios) == [0, 5]
        assert math.isclose(ratios[5], recorder.records[1]["update_ratio"][layer], rel_tol=1e-5)
        logs = scalars(events, f"log10_update_ratio/{layer}")
        assert math.isclose(logs[0], math.log10(ratios[0]), rel_tol=1e-5)
        histogram = events.Tensors(f"gradients/{layer}")
        assert [event.step for event in histogram] == [0, 5]
        assert events.SummaryMetadata(f"gradients/{layer}").plugin_data.plugin_name == "histograms"
        counts = make_ndarray(histogram[0].tensor_proto)[:, 2].sum()
        assert counts == recorder.gradient_samples[0][layer].size


@pytest.mark.slow  # reproduce end to end
def test_reproduce_tensorboard_logs_the_dashboard(tmp_path):
    status = main(["reproduce", "--steps", "4", "--experiments", "proper", "--no-progress",
                   "--monitor-every", "2", "--tensorboard", str(tmp_path / "tb")])
    assert status == 0
    events = read_run(tmp_path / "tb" / "proper")
    tags = events.Tags()["tensors"]
    for layer in WEIGHT_SHAPES:
        assert f"gradients/{layer}" in tags and f"update_ratio/{layer}" in tags
        assert sorted(scalars(events, f"update_ratio/{layer}")) == [0, 2, 4]
        assert all(np.isfinite(list(scalars(events, f"log10_update_ratio/{layer}").values())))
    assert "layer1_conv" in tags  # the activation histograms are still there
