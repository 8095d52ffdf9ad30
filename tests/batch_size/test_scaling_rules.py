"""The scaling rules, local slopes and the nearest rule, on curves built to follow known rules."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lib.batch_size import scaling_rules


def test_scaled_rate_rules():
    assert scaling_rules.scaled_rate(128, 32, 0.1, 1.0) == pytest.approx(0.4)
    assert scaling_rules.scaled_rate(128, 32, 0.1, 0.5) == pytest.approx(0.2)
    assert np.allclose(scaling_rules.scaled_rate(np.array([16, 64]), 16, 0.3, 0.0), 0.3)


def test_slopes_and_rules_of_a_curve_that_is_linear_then_square_root_then_flat():
    b = np.array([16, 32, 64, 128, 256, 512])
    rates = np.array([0.1, 0.2, 0.4, 0.4 * math.sqrt(2), 0.8, 0.8])
    assert np.allclose(scaling_rules.local_slopes(b, rates), [1, 1, 0.5, 0.5, 0])
    stretches = scaling_rules.rule_stretches(b, rates)
    assert stretches == [(16, 64, "linear"), (64, 256, "square-root"), (256, 512, "flat")]
    assert scaling_rules.describe_stretches(stretches).startswith("linear from 16 to 64")
    assert scaling_rules.follows_textbook_stages(stretches)
    assert not scaling_rules.follows_textbook_stages(stretches[1:])
    assert [scaling_rules.nearest_rule(s) for s in (1.2, 0.75, 0.5, 0.25, 0.1, -0.4)] == \
        ["linear", "linear", "square-root", "square-root", "flat", "flat"]


BAD_CALLS = [
    (lambda: scaling_rules.local_slopes([16], [0.1]), ValueError, "at least 2"),
    (lambda: scaling_rules.local_slopes([16, 32], [0.1]), ValueError, "equally long"),
    (lambda: scaling_rules.scaled_rate(-16, 16, 0.1, 1.0), ValueError, "batch_size must be"),
    (lambda: scaling_rules.scaled_rate(16, 16, 0.0, 1.0), ValueError, "base_rate"),
    (lambda: scaling_rules.nearest_rule(float("nan")), ValueError, "finite"),
    (lambda: scaling_rules.describe_stretches([]), ValueError, "no stretches"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
