"""Section 6's settings: one frozen record per budget, the quick one never larger than the full one."""
from __future__ import annotations

import dataclasses

import pytest

from lib.swa import settings


def test_current_follows_the_budget(monkeypatch):
    monkeypatch.setenv("LR_BOOK_BUDGET", "quick")
    assert settings.current() is settings.QUICK
    monkeypatch.setenv("LR_BOOK_BUDGET", "full")
    assert settings.current() is settings.FULL


def test_settings_are_frozen_and_quick_is_smaller():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.QUICK.mlp_epochs = 100
    quick, full = settings.QUICK, settings.FULL
    for name in ("mlp_epochs", "cnn_epochs", "plane_resolution", "plane_examples", "slice_alphas",
                 "slice_directions", "slice_examples", "hessian_examples", "hessian_iterations"):
        assert getattr(quick, name) <= getattr(full, name), name
    assert len(quick.seeds) >= 2 and len(quick.seeds) <= len(full.seeds)     # a spread needs 2 seeds
    for s in (quick, full):
        assert 0 < s.mlp_swa_start < s.mlp_epochs and 0 < s.cnn_swa_start < s.cnn_epochs
