"""The sub-page's settings: quick is a smaller copy of full, and every value is usable."""
from __future__ import annotations

import numpy as np

from lib.batch_size import settings_further
from lib.core.data import N_TRAIN


def test_quick_is_no_larger_than_full_and_both_are_usable():
    full, quick = settings_further.FULL, settings_further.QUICK
    for s in (full, quick):
        assert list(s.step_batch_sizes) == sorted(set(s.step_batch_sizes)) and len(s.step_batch_sizes) >= 3
        assert s.step_batch_sizes[-1] <= s.measure_examples
        rates = s.step_rates
        assert len(rates) == s.step_rate_count >= 5 and np.all(np.diff(rates) > 0)
        assert len(s.variant_seeds) >= 3 and s.draws >= 2 and s.resamples >= 20
        assert list(s.train_sizes) == sorted(set(s.train_sizes)) and s.train_sizes[-1] <= N_TRAIN
        assert 0 < s.noisy_fraction <= 1 and s.exact_examples <= s.train_sizes[0]
        assert s.measure_examples // s.b_simple_parts >= 2
    assert quick.draws <= full.draws and quick.measure_examples <= full.measure_examples
    assert quick.variant_updates <= full.variant_updates and quick.size_max_updates <= full.size_max_updates
    assert quick.exact_examples <= full.exact_examples
