"""lib.schedules.settings: one frozen object per budget, read from $LR_BOOK_BUDGET."""
import dataclasses

import pytest

from lib.schedules import settings


def test_current_follows_the_budget(monkeypatch):
    monkeypatch.setenv("LR_BOOK_BUDGET", "quick")
    assert settings.current() is settings.QUICK
    monkeypatch.setenv("LR_BOOK_BUDGET", "full")
    assert settings.current() is settings.FULL


def test_settings_are_frozen_and_quick_is_smaller():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.QUICK.epochs = 1
    assert settings.QUICK.epochs < settings.FULL.epochs and len(settings.QUICK.seeds) >= 2
    assert settings.FULL.n_train is None and settings.QUICK.n_train < 55_000
