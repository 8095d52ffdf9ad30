"""The section's sizes: the quick and full values the notebook used before they moved here."""
from __future__ import annotations

import dataclasses

import pytest

from lib.batch_size import settings


def test_the_quick_and_full_sizes():
    quick, full = settings.QUICK, settings.FULL
    assert (quick.n_train, quick.n_val, full.n_train, full.n_val) == (2048, 500, None, None)
    assert (quick.n_test, full.n_test) == (1000, None)
    # the textbook's grids: its own 30 epochs under the full budget (on 15 % of the images), 2 under quick
    assert (full.textbook_epochs, full.textbook_n_train, full.textbook_eval_every) == (30, 8_250, 1.0)
    assert (quick.textbook_epochs, quick.textbook_n_train) == (2, None)
    assert quick.batch_sizes == (16, 32, 64, 128, 256, 512)
    assert full.batch_sizes == (16, 32, 64, 128, 256, 512, 1024, 2048)
    assert quick.rates == (0.1, 0.3, 0.5, 0.7, 2.0)
    assert full.rates == (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0)
    assert (quick.seeds, full.seeds, quick.epochs, full.epochs) == ((0, 1), (0, 1, 2), 2, 3)
    assert (quick.warmup_from, full.warmup_from) == (256, 512)
    assert (quick.exact_examples, full.exact_examples, quick.fixed_draws, full.fixed_draws) == (256, 1024, 10, 40)
    assert quick.warmup_rates == (2.0,) and full.warmup_rates == (1.0, 1.5, 2.0, 3.0, 4.0)
    for s in (quick, full):
        assert s.tracked_batch in s.batch_sizes and s.tracked_rate in s.rates
        assert list(s.rates) == sorted(s.rates) and list(s.batch_sizes) == sorted(s.batch_sizes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.epochs = 5


@pytest.mark.parametrize("name, expected", [("quick", "QUICK"), ("full", "FULL")])
def test_current_follows_the_budget(monkeypatch, name, expected):
    monkeypatch.setenv("LR_BOOK_BUDGET", name)
    assert settings.current() is getattr(settings, expected)
