"""The suggestion rules on curves whose answer is known by construction."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lib.lr_finder import rules


def test_steepest_finds_the_steepest_point_of_a_known_curve():
    lrs = np.geomspace(1e-4, 10, 201)
    losses = 2 - np.tanh(2 * (np.log10(lrs) + 1.0))          # steepest fall at 10**-1
    assert rules.steepest(lrs, losses) == pytest.approx(0.1, rel=0.03)


def test_turn_and_minimum_over_ten_read_the_lowest_point():
    lrs = np.geomspace(1e-3, 10, 81)
    losses = (np.log10(lrs) - np.log10(0.5)) ** 2
    assert rules.turn(lrs, losses) == pytest.approx(0.5, rel=0.06)
    assert rules.minimum_over_ten(lrs, losses) == pytest.approx(rules.turn(lrs, losses) / 10)


def test_valley_is_halfway_down_the_longest_falling_stretch():
    losses = np.concatenate([np.full(20, 5.0), np.linspace(4.0, 1.0, 61), np.linspace(1.1, 6.0, 20)])
    losses[50] = losses[49] + 0.01        # one noisy uptick does not cut the stretch in two
    lrs = np.geomspace(1e-4, 1.0, len(losses))
    first, last = rules.longest_falling_stretch(losses)
    assert (first, last) == (19, 80)                          # the last plateau point, then the fall
    assert rules.valley(lrs, losses) == lrs[first + (last - first) // 2]
    assert rules.longest_falling_stretch([3.0, 2.0, 2.5, 1.0, 0.5]) == (0, 4)


def test_suggest_trims_and_reports_a_too_short_curve_as_nan():
    lrs = np.geomspace(1e-3, 1, 30)
    losses = np.linspace(3, 1, 30)
    out = rules.suggest(lrs, losses, skip_start=5, skip_end=5)
    assert set(out) == set(rules.RULES)
    assert out["turn"] == pytest.approx(lrs[24])
    short = rules.suggest(lrs[:1], losses[:1])
    assert math.isnan(short["steepest"]) and short["turn"] == pytest.approx(lrs[0])


def test_every_rule_is_registered_with_a_label():
    assert list(rules.RULES) == ["steepest", "min_over_10", "valley", "turn"]
    assert rules.RULES["min_over_10"].read is rules.minimum_over_ten
    assert rules.RULES["min_over_10"].label == "minimum ÷ 10"


BAD_INPUTS = [
    (lambda: rules.steepest([0.1], [1.0]), ValueError, "at least 2 points"),
    (lambda: rules.turn([0.1, 0.2], [1.0]), ValueError, "1-D arrays of one length"),
    (lambda: rules.turn([], []), ValueError, r"lrs must hold at least 1 value"),
    (lambda: rules.turn([0.1, -0.2], [1.0, 2.0]), ValueError, "every entry of lrs must be a finite number > 0"),
    (lambda: rules.suggest([0.1, 0.2], [1.0, float("nan")]), ValueError, "losses must be finite"),
    (lambda: rules.suggest([0.1, 0.2], [1.0, 0.5], skip_end=-1), ValueError, "skip_end must be an int >= 0"),
    (lambda: rules.longest_falling_stretch([]), ValueError, "non-empty"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
