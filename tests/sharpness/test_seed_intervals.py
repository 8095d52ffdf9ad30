"""The seed interval against scipy's own t interval, and the verdicts on made-up per-seed records."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from lib.sharpness.seed_intervals import FAILS, HOLDS, NOT_SETTLED, seed_interval


def test_the_interval_is_scipys_student_t_interval_with_ddof_1():
    values = np.array([0.8, 1.3, 0.4, 1.1, 0.9])
    interval = seed_interval(values, confidence=0.9)
    low, high = scipy_stats.t.interval(0.9, df=4, loc=values.mean(), scale=scipy_stats.sem(values))  # sem: ddof=1
    assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-12)
    assert interval.mean == pytest.approx(0.9)
    assert interval.sd == pytest.approx(np.sqrt(((values - 0.9) ** 2).sum() / 4))
    assert interval.seeds == 5


@pytest.mark.parametrize("values, verdict", [
    ([1.0, 1.2, 0.9], HOLDS),            # clearly above 0
    ([-1.0, -1.2, -0.9], FAILS),         # clearly below
    ([1.0, -0.5, 0.3], NOT_SETTLED),     # the interval contains 0
    ([2.0, 2.0], HOLDS),                 # no spread: the interval is the point
])
def test_the_sign_verdict_reads_the_interval(values, verdict):
    assert seed_interval(values).sign_verdict() == verdict


@pytest.mark.parametrize("values, verdict", [
    ([0.1, -0.1, 0.05, 0.0], HOLDS),     # inside +-1 around 0
    ([3.0, 3.2, 2.9, 3.1], FAILS),       # wholly above the band
    ([0.2, 1.9, 0.8, 1.4], NOT_SETTLED),  # straddles its edge
])
def test_the_agreement_verdict_is_an_equivalence_test_on_the_interval(values, verdict):
    assert seed_interval(values).agreement_verdict(0.0, 1.0) == verdict


@pytest.mark.parametrize("call, error, message", [
    (lambda: seed_interval([1.0]), ValueError, "at least 2"),
    (lambda: seed_interval([[1.0, 2.0]]), ValueError, "one number per seed"),
    (lambda: seed_interval([1.0, np.nan]), ValueError, "values must be finite"),
    (lambda: seed_interval([1.0, 2.0], confidence=1.0), ValueError, "confidence must be"),
    (lambda: seed_interval([1.0, 2.0], confidence="0.9"), TypeError, "confidence must be a real number"),
    (lambda: seed_interval([1.0, 2.0]).agreement_verdict(0.0, 0.0), ValueError, "tolerance must be"),
    (lambda: seed_interval([1.0, 2.0]).agreement_verdict(None, 1.0), TypeError, "predicted must be"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call()
