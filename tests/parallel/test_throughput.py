"""Throughput records, time to target, the all-reduce cost model: closed forms and round trips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lib.batch_size.critical_batch import StepsExamplesFit, Tradeoff
from lib.parallel import experiments, throughput
from lib.parallel.throughput import Throughput
from lib.parallel.time_to_target import StepsToTarget, time_to_target


def _record(seconds, batches=(1, 2, 4, 8, 16, 32, 64)):
    return Throughput("textbook", "cpu", "test CPU", 1, np.array(batches), np.asarray(seconds, float), 1)


def test_a_measured_record_is_sane_and_round_trips_through_json():
    r = throughput.measure_throughput("textbook", [1, 8, 64], repeats=1, min_seconds=0.005, device="cpu")
    assert r.batch_sizes.tolist() == [1, 8, 64] and r.device == "cpu" and r.threads >= 1
    assert (r.seconds_per_update > 0).all() and (r.seconds_per_update < 5).all()
    np.testing.assert_allclose(r.examples_per_second, r.batch_sizes / r.seconds_per_update)
    back = Throughput.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.to_dict() == r.to_dict()
    np.testing.assert_array_equal(back.seconds_per_update, r.seconds_per_update)


def test_saturation_is_where_the_flat_cost_meets_the_linear_one():
    b = np.array([1, 2, 4, 8, 16, 32, 64])
    r = _record(np.maximum(1e-3, b * 1e-3 / 16))              # flat until B = 16, then proportional to B
    assert throughput.saturation_batch(r, 0.9) == 16
    assert throughput.saturation_batch(r, 0.5) == 8
    with pytest.raises(ValueError, match="fraction"):
        throughput.saturation_batch(r, 0.0)
    with pytest.raises(TypeError, match="record must be a Throughput"):
        throughput.saturation_batch({"batch_sizes": b}, 0.9)


def test_seconds_at_interpolates_a_power_law_exactly():
    b = np.array([1, 2, 4, 8, 16, 32, 64])
    r = _record(3e-4 * b ** 0.5)
    np.testing.assert_allclose(r.seconds_at([1, 3, 10, 64]), 3e-4 * np.array([1, 3, 10, 64]) ** 0.5)
    with pytest.raises(ValueError, match="measured range"):
        r.seconds_at(128)


@pytest.mark.parametrize("batches, seconds, match", [
    ([1, 4, 2], [1e-3] * 3, "increasing"),
    ([1, 2], [1e-3, 0.0], "seconds_per_update must be finite and > 0"),
    ([1, 2], [1e-3], "equally long"),
])
def test_a_bad_record_is_refused(batches, seconds, match):
    with pytest.raises(ValueError, match=match):
        Throughput("textbook", "cpu", "x", 1, np.array(batches), np.array(seconds, float), 1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(model="resnet"), ValueError, "unknown model"),
    (dict(batch_sizes=[4, 2]), ValueError, "increasing"),
    (dict(batch_sizes=[0, 2]), ValueError, "batch_sizes"),
    (dict(batch_sizes=[1.5]), TypeError, "batch_sizes"),
    (dict(repeats=0), ValueError, "repeats"),
    (dict(min_seconds=-1), ValueError, "min_seconds"),
    (dict(device="tpu"), ValueError, "device"),
])
def test_measure_throughput_refuses_bad_arguments(kwargs, error, match):
    args = dict(model="textbook", batch_sizes=[1, 2], repeats=1, min_seconds=0.001, device="cpu")
    args.update(kwargs)
    with pytest.raises(error, match=match):
        throughput.measure_throughput(args.pop("model"), args.pop("batch_sizes"), **args)


def test_time_to_target_is_steps_times_seconds_per_update():
    b = np.array([1, 2, 4, 8, 16, 32, 64])
    r = _record(np.maximum(1e-3, b * 1e-3 / 16))
    fit = StepsExamplesFit(s_min=100.0, e_min=800.0)              # B_crit = 8
    sizes = np.array([2.0, 8.0, 32.0])
    tradeoff = Tradeoff(1.0, sizes, fit.steps(sizes), np.ones(3), ("constant",) * 3)
    t = time_to_target(StepsToTarget(None, tradeoff, fit, 0.0), r)
    np.testing.assert_allclose(t.seconds, fit.steps(sizes) * np.maximum(1e-3, sizes * 1e-3 / 16))
    # S(B) t(B) = 100 (1 + 8/B) * max(1e-3, B/16e3): falls until B = 16, rises after it
    assert t.best_curve_batch == 16 and t.best_batch == 8
    assert t.b_crit == pytest.approx(8.0)


def test_the_all_reduce_fit_recovers_latency_and_bandwidth():
    n = np.array([1e3, 1e4, 1e5, 1e6])
    alpha, beta = experiments.allreduce_fit(n, 2e-4 + 3e-9 * n)
    assert alpha == pytest.approx(2e-4, rel=1e-6) and beta == pytest.approx(3e-9, rel=1e-6)
    # one slowed all-reduce (the smallest, 10x its time) does not tilt the line: the other three lie on it
    slowed = 2e-4 + 3e-9 * n
    slowed[0] *= 10
    alpha, beta = experiments.allreduce_fit(n, slowed)
    assert beta == pytest.approx(3e-9, rel=1e-6) and alpha == pytest.approx(2e-4, rel=1e-6)
    # timings that do not grow with the size hold no bandwidth
    assert np.isnan(experiments.allreduce_fit(n, np.array([4e-3, 3e-3, 2e-3, 1e-3]))[1])
    # ring all-reduce of 25e6 float32 over 8 processes at 10 GB/s, no latency: 2 * 7/8 * 1e8 B / 1e10 B/s
    assert experiments.ring_allreduce_seconds(25e6, 8, alpha=0.0, bytes_per_second=1e10) == pytest.approx(0.0175)
    with pytest.raises(ValueError, match="workers must be >= 2"):
        experiments.ring_allreduce_seconds(1e6, 1, alpha=0.0, bytes_per_second=1e9)


def test_the_study_refuses_bad_settings():
    from lib.core.data import Splits
    from lib.parallel import settings
    import dataclasses
    import torch

    data = Splits(torch.rand(2048, 784), torch.randint(0, 10, (2048,)), torch.rand(64, 784),
                  torch.randint(0, 10, (64,)))
    with pytest.raises(TypeError, match="settings must be lib.parallel.settings.Settings"):
        experiments.run_study(data, {"workers": (1, 2)})
    bad = dataclasses.replace(settings.QUICK, global_batch=63)
    with pytest.raises(ValueError, match="global_batch=63 must be a multiple"):
        experiments.run_study(data, bad)
    bad = dataclasses.replace(settings.QUICK, padded_examples=100)
    with pytest.raises(ValueError, match="padded_examples must not be a multiple"):
        experiments.run_study(data, bad)
    bad = dataclasses.replace(settings.QUICK, workers=(2, 4))
    with pytest.raises(ValueError, match="must start with 1"):
        experiments.run_study(data, bad)
