"""lib.checks: the shared argument checks."""
import math

import numpy as np
import pytest

from lib import checks


def test_accepted_values_come_back_as_plain_numbers():
    assert checks.positive(np.float32(0.5), "x") == 0.5 and type(checks.positive(2, "x")) is float
    assert checks.number_in(0.3, "p", 0.0, 1.0) == pytest.approx(0.3)
    assert checks.int_at_least(np.int64(3), "n") == 3 and type(checks.int_at_least(np.int64(3), "n")) is int
    assert checks.int_at_least(0, "seed", 0) == 0


@pytest.mark.parametrize("call, error, words", [
    (lambda: checks.positive(0.0, "lr"), ValueError, "lr must be a finite number > 0"),
    (lambda: checks.positive(math.inf, "lr"), ValueError, "finite"),
    (lambda: checks.positive(True, "lr"), TypeError, "real number"),
    (lambda: checks.positive("1", "lr"), TypeError, "real number"),
    (lambda: checks.number_in(1.0, "p", 0.0, 1.0), ValueError, "strictly between 0 and 1"),
    (lambda: checks.int_at_least(0, "steps"), ValueError, "steps must be >= 1"),
    (lambda: checks.int_at_least(2.0, "steps"), TypeError, "must be an int"),
    (lambda: checks.int_at_least(False, "steps"), TypeError, "must be an int"),
])
def test_bad_input_says_what_is_allowed(call, error, words):
    with pytest.raises(error, match=words):
        call()
