import math

from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
import pytest

from course_utils.core.stats import (
    PERCENTILES,
    STAT_FIELDS,
    activation_stats,
    diagnosis_line,
    finite_values,
    format_number,
    format_stats_table,
    saturation_fraction,
    std_ratio,
    summarize,
)

finite_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)


@given(arrays(np.float32, st.integers(1, 200), elements=finite_floats))
@example(np.array([-612270.0] * 141 + [436306.8] * 2, dtype=np.float32))  # found by hypothesis
def test_summary_agrees_with_numpy(values):
    summary = summarize(values)
    as64 = values.astype(np.float64)
    assert summary["min"] == as64.min() and summary["max"] == as64.max()
    assert summary["mean"] == pytest.approx(as64.mean(), rel=1e-9, abs=1e-9)
    assert summary["std"] == pytest.approx(as64.std(), rel=1e-9, abs=1e-6)
    # Percentiles are interpolated in float32, between two values of the data: the rounding
    # error scales with the values' size, not with the result's (a result near 0 between
    # -6e5 and 4e5 is off by a few hundredths), hence a tolerance of a few float32 ulps of the
    # largest value.
    ulps = 4 * float(np.finfo(np.float32).eps) * float(np.abs(as64).max())
    for q in PERCENTILES:
        assert summary[f"p{q}"] == pytest.approx(np.percentile(as64, q), abs=ulps)
    assert summary["min"] <= summary["p1"] <= summary["p50"] <= summary["p99"] <= summary["max"]
    assert summary["count"] == values.size and summary["nonfinite"] == 0


@given(
    arrays(np.float64, st.integers(1, 100), elements=finite_floats),
    st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), min_size=1, max_size=10),
)
def test_inf_and_nan_are_counted_and_left_out(values, bad):
    summary = summarize(np.concatenate([values, bad]))
    assert summary["nonfinite"] == len(bad)
    assert summary["mean"] == pytest.approx(values.mean(), rel=1e-9, abs=1e-9)
    assert all(math.isfinite(summary[field]) for field in STAT_FIELDS)


def test_finite_values_is_a_view_when_nothing_is_left_out():
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    finite = finite_values(values)
    assert finite.shape == (12,) and finite.dtype == np.float32
    assert np.shares_memory(finite, values)  # no copy of a 60 MB layer output
    values[0, 0] = np.nan
    finite = finite_values(values)
    assert finite.size == 11 and not np.shares_memory(finite, values)


def test_std_of_a_layer_larger_than_its_chunks_agrees_with_numpy_in_float64():
    # summarize adds the squares up a million values at a time: 2.5 million float32 values far
    # from 0 (where float32 sums would lose digits) span three chunks, the last one partial.
    rng = np.random.default_rng(0)
    values = (1000 + rng.standard_normal(2_500_000)).astype(np.float32)
    values[-7:] = 1e4  # outliers in the last, partial chunk
    summary = summarize(values)
    assert summary["std"] == pytest.approx(values.astype(np.float64).std(), rel=1e-9)


def test_all_nonfinite_or_empty_gives_nan_fields():
    for values in ([np.nan, np.inf], []):
        summary = summarize(values)
        assert all(math.isnan(summary[field]) for field in STAT_FIELDS)


@given(st.floats(-1e3, 1e3), st.integers(1, 50))
def test_constant_arrays_have_zero_spread(value, size):
    summary = summarize(np.full(size, value))
    assert summary["std"] == 0 and summary["min"] == summary["max"] == pytest.approx(value)


def stats_with_stds(bottom, top):
    return activation_stats({"layer1_conv": np.array([-bottom, bottom]),
                             "layer4_conv": np.array([-top, top])})


@pytest.mark.parametrize(
    "bottom, top, expected",
    [(1.0, 6000.0, "exploding: layer4_conv std / layer1_conv std = 6e+03"),
     (0.02, 0.0002, "vanishing: layer4_conv std / layer1_conv std = 0.01"),
     (0.4, 1.3, "healthy: layer4_conv std / layer1_conv std = 3.2")],
)
def test_verdicts(bottom, top, expected):
    assert diagnosis_line(stats_with_stds(bottom, top)) == expected


def test_verdict_thresholds_are_an_order_of_magnitude():
    assert diagnosis_line(stats_with_stds(1.0, 10.5)).startswith("exploding")
    assert diagnosis_line(stats_with_stds(1.0, 9.5)).startswith("healthy")
    assert diagnosis_line(stats_with_stds(1.0, 0.095)).startswith("vanishing")
    # exactly 10 and exactly 0.1 are still within an order of magnitude
    assert diagnosis_line(stats_with_stds(1.0, 10.0)).startswith("healthy")
    assert diagnosis_line(stats_with_stds(1.0, 0.1)).startswith("healthy")


def test_ratio_with_a_constant_first_layer():
    assert std_ratio(stats_with_stds(0.0, 1.0)) == math.inf
    assert diagnosis_line(stats_with_stds(0.0, 1.0)).startswith("exploding")
    assert diagnosis_line(stats_with_stds(0.0, 0.0)).startswith("undefined")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_format_number_never_fails(value):
    text = format_number(value)
    assert isinstance(text, str) and len(text) <= 10


def test_format_number_rounds_to_significant_figures():
    assert format_number(0.0023456) == "0.0023"
    assert format_number(15083.08) == "1.5e+04"
    assert format_number(2.3025865, 4) == "2.303"
    assert format_number(math.inf) == "inf" and format_number(math.nan) == "nan"


def test_stats_table_has_a_row_per_output():
    table = format_stats_table(stats_with_stds(1.0, 2.0))
    lines = table.splitlines()
    assert lines[0].split() == ["min", "max", "mean", "std"]
    assert lines[1].split() == ["layer1_conv", "-1", "1", "0", "1"]
    assert len(lines) == 3


def test_saturation_fraction_counts_abs_tanh_above_the_threshold():
    values = np.array([0.0, 1.0, -2.0, 2.1, -2.1, 5.0, np.inf, np.nan], dtype=np.float32)
    # tanh(2.0) = 0.964 (not saturated), tanh(2.1) = 0.970 (> 0.97 just), inf/NaN left out
    assert math.tanh(2.0) < 0.97 < math.tanh(2.1)
    assert saturation_fraction(values) == pytest.approx(3 / 6)
    assert saturation_fraction(values, threshold=0.5) == pytest.approx(5 / 6)
    assert math.isnan(saturation_fraction(np.array([np.nan])))


@given(arrays(np.float64, st.integers(1, 50), elements=finite_floats))
def test_saturation_fraction_agrees_with_tanh(values):
    expected = float(np.mean(np.abs(np.tanh(values)) > 0.97))
    assert saturation_fraction(values) == pytest.approx(expected)


@pytest.mark.parametrize("threshold", [0, 1, -0.5, 1.5])
def test_saturation_threshold_must_be_between_0_and_1(threshold):
    with pytest.raises(ValueError, match="threshold"):
        saturation_fraction(np.zeros(3), threshold=threshold)


def test_stats_table_columns_line_up_two_past_the_longest_name():
    stats = {"logits": {"min": -1.0, "max": 1.0, "mean": 0.0, "std": 0.5},
             "layer1_conv": {"min": 0.0, "max": 2.0, "mean": 1.0, "std": 0.25}}
    lines = format_stats_table(stats).splitlines()
    width = len("layer1_conv") + 2
    assert [len(line) for line in lines] == [width + 4 * 12] * 3
    assert lines[0][:width].strip() == "" and lines[1][:width].rstrip() == "logits"


def test_spread_is_numpys_std_of_the_finite_values_in_float64():
    from course_utils.core.stats import spread

    rng = np.random.default_rng(0)
    values = (1000 + rng.normal(0, 0.01, 200_000)).astype(np.float32)  # float32 rounding bites
    assert spread(values) == pytest.approx(np.std(values.astype(np.float64)), rel=1e-9)
    with_bad = np.concatenate([values, [np.inf, np.nan, -np.inf]]).astype(np.float32)
    assert spread(with_bad) == spread(values)
    assert spread(np.full(10, 0.1, np.float32)) == 0.0
    assert np.isnan(spread(np.array([np.nan, np.inf])))


@pytest.mark.parametrize("compiled", [False, True])
def test_spread_of_a_tensor_is_the_same_measure_computed_by_tensorflow(compiled):
    import tensorflow as tf

    from course_utils.core.stats import spread

    measure = tf.function(spread) if compiled else spread
    rng = np.random.default_rng(1)
    values = (1000 + rng.normal(0, 0.01, (50, 40, 100))).astype(np.float32)
    with_bad = values.copy()
    with_bad[0, 0, :3] = [np.inf, np.nan, -np.inf]
    for array in (values, with_bad):
        result = measure(tf.constant(array))
        assert result.dtype == tf.float64
        assert float(result) == pytest.approx(spread(array), rel=1e-9)
    assert float(measure(tf.fill([7, 3], 0.1))) == 0.0
    assert np.isnan(float(measure(tf.constant([np.nan, np.inf]))))


def test_each_percentile_field_is_numpys_percentile_of_that_rank():
    values = np.linspace(0.0, 1.0, 1001)
    summary = summarize(values)
    for rank in (1, 5, 25, 50, 75, 95, 99):
        assert summary[f"p{rank}"] == pytest.approx(np.percentile(values, rank)), rank


def test_even_subsample_keeps_every_kth_value_with_the_smallest_k():
    from course_utils.core.stats import even_subsample

    values = np.arange(100.0).reshape(10, 10)
    kept = even_subsample(values, 30)  # k = 4: 25 values (k = 3 would keep 34)
    np.testing.assert_array_equal(kept, np.arange(0.0, 100.0, 4))
    assert not np.shares_memory(kept, values)  # a copy: the big array can be freed
    np.testing.assert_array_equal(even_subsample(values, 50), np.arange(0.0, 100.0, 2))
    np.testing.assert_array_equal(even_subsample(values, 100), values.ravel())  # all fit
    np.testing.assert_array_equal(even_subsample(values, 10_000), values.ravel())
    assert even_subsample(np.arange(101), 50).size == 34  # k = 3, not 2 (51 values)


@given(st.integers(1, 5000), st.integers(1, 300))
def test_even_subsample_never_exceeds_its_limit(size, limit):
    from course_utils.core.stats import even_subsample

    kept = even_subsample(np.arange(size), limit)
    assert kept.size <= limit
    stride = kept[1] - kept[0] if kept.size > 1 else size
    assert kept.size == size or -(-size // (stride - 1)) > limit  # one smaller k would not fit


def test_stats_table_gives_three_significant_figures_by_default():
    stats = {"layer1_conv": {"min": -1.23456, "max": 98765.4, "mean": 0.0012345, "std": 0.5}}
    row = format_stats_table(stats).splitlines()[1].split()
    assert row == ["layer1_conv", "-1.23", "9.88e+04", "0.00123", "0.5"]
    row = format_stats_table(stats, fields=("std", "min"), digits=2).splitlines()[1].split()
    assert row == ["layer1_conv", "0.5", "-1.2"]


def test_ratio_of_a_constant_first_layer_under_a_spreading_one_is_infinite_else_undefined():
    assert std_ratio(stats_with_stds(0.0, 1e-30)) == math.inf
    assert math.isnan(std_ratio(stats_with_stds(0.0, 0.0)))
    assert std_ratio(stats_with_stds(2.0, 0.0)) == 0.0
