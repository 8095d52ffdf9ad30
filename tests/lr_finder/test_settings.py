"""The section's settings: one frozen object per budget, picked by the budget."""
from __future__ import annotations

import dataclasses

import pytest

from lib.lr_finder import settings


def test_the_budget_picks_the_settings(monkeypatch):
    monkeypatch.setenv("LR_BOOK_BUDGET", "quick")
    assert settings.current() is settings.QUICK
    monkeypatch.setenv("LR_BOOK_BUDGET", "full")
    assert settings.current() is settings.FULL
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.QUICK.sweep_steps = 1


def test_the_quick_budget_is_smaller_and_seeds_are_subsets():
    quick, full = settings.QUICK, settings.FULL
    for name in ("sweep_steps", "quad_steps", "sine_n", "parallel_updates", "check_epochs"):
        assert getattr(quick, name) <= getattr(full, name)
    for s in (quick, full):
        assert set(s.parallel_seeds) <= set(s.seeds) and set(s.check_seeds) <= set(s.seeds)
        assert s.sweep["steps"] == s.sweep_steps and s.quad_sweep["loss"] == "mse"
