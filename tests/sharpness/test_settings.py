"""The section's settings: one object per budget, picked by $LR_BOOK_BUDGET."""
from __future__ import annotations

import dataclasses

import pytest

from lib.sharpness import settings


def test_current_follows_the_budget(monkeypatch):
    monkeypatch.setenv("LR_BOOK_BUDGET", "quick")
    assert settings.current() is settings.QUICK
    monkeypatch.setenv("LR_BOOK_BUDGET", "full")
    assert settings.current() is settings.FULL


def test_settings_are_frozen_and_the_milestones_split_the_epochs_in_thirds():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.QUICK.seeds = 3
    assert settings.FULL.growth_milestones == (5, 10)
    assert settings.QUICK.growth_milestones == (1, 2)
    for s in (settings.QUICK, settings.FULL):
        assert s.noise_reference_batch in s.noise_batches
        assert list(s.best_batch_sizes) == sorted(s.best_batch_sizes) and len(s.best_batch_sizes) >= 3
