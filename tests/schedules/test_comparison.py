"""lib.schedules.comparison against plain evaluation of each trained network, one at a time, and
the seed summaries of lib.core.stats against hand-computed means and standard deviations."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.evaluate import evaluate
from lib.schedules import comparison as K
from lib.schedules import policies as P


def test_seed_members_and_final_accuracy(toy_data):
    configurations = {"fixed": {"lr": 0.3}, "cosine": {"lr": 0.3, "schedule": P.schedule("cosine", T_max=16,
                                                                                           eta_min=0.0)}}
    members = K.seed_members(configurations, [4, 7])
    assert [(m.label, m.init_seed, m.data_seed) for m in members] == [
        ("fixed", 4, 4), ("fixed", 7, 7), ("cosine", 4, 4), ("cosine", 7, 7)]
    run = train_grid(members, toy_data, batch_size=16, epochs=1, progress=False)
    summary = K.final_test_accuracy(run, toy_data.x_val, toy_data.y_val)
    expected = [evaluate(run.model(k), toy_data.x_val, toy_data.y_val)[1] for k in range(4)]   # one module at a time
    np.testing.assert_allclose(summary.values, np.reshape(expected, (2, 2)), atol=1e-6)
    assert summary.labels == ("fixed", "cosine")
    grouped = K.rows_by_label(run.history, run.history.val_acc)
    np.testing.assert_array_equal(grouped["cosine"], run.history.val_acc[2:])


@pytest.fixture()
def split_data(toy_data):
    """toy_data with its validation images also as the test split."""
    return Splits(toy_data.x_train, toy_data.y_train, toy_data.x_val[:32], toy_data.y_val[:32],
                  toy_data.x_val[32:], toy_data.y_val[32:])


def test_compare_schedules_tabulates_the_grid_by_configuration_and_seed(split_data):
    cosine = P.schedule("cosine", T_max=32, eta_min=0.0)
    configurations = {"fixed, η = 0.3": {"lr": 0.3}, "fixed, η = 0.1": {"lr": 0.1},
                      "cosine": {"lr": 0.3, "schedule": cosine}}
    record = K.compare_schedules(configurations, [3, 5], split_data, batch_size=16, epochs=2, eval_every=0.5,
                                 train_eval_size=100)
    assert record.labels == tuple(configurations) and record.seeds == (3, 5) and record.runs == 6
    assert record.val_acc.shape == record.val_loss.shape == record.train_loss.shape == (3, 2, 5)
    assert record.step_lr.shape == (3, 2, 32)
    # the same members trained by hand: row (c, s) is member c * 2 + s
    run = train_grid(K.seed_members(configurations, [3, 5]), split_data, batch_size=16, epochs=2,
                     eval_every=0.5, train_eval_size=100, progress=False)
    for c in range(3):
        for s in range(2):
            k = 2 * c + s
            np.testing.assert_array_equal(record.val_loss[c, s], run.history.val_loss[k])
            np.testing.assert_array_equal(record.train_loss[c, s], run.history.train_loss[k])
            test_accuracy = evaluate(run.model(k), split_data.x_test, split_data.y_test)[1]
            assert record.test.values[c, s] == pytest.approx(test_accuracy, abs=1e-6)
    np.testing.assert_allclose(record.curve("step_lr", "cosine")[1], P.rates(cosine, 0.3, 32), rtol=1e-6)
    np.testing.assert_array_equal(record.eval_epoch, [0.0, 0.5, 1.0, 1.5, 2.0])
    final = record.final("val_acc", labels=["a", "b", "c"])
    assert final.labels == ("a", "b", "c")
    np.testing.assert_array_equal(final.values, record.val_acc[:, :, -1])

    picked = record.select(["cosine", "fixed, η = 0.3"])
    assert picked.labels == ("cosine", "fixed, η = 0.3") and picked.runs == 6
    np.testing.assert_array_equal(picked.test.values, record.test.values[[2, 0]])
    np.testing.assert_array_equal(picked.val_loss[1], record.val_loss[0])
    both = K.combine(record.select(["fixed, η = 0.1"]), picked)
    assert both.labels == ("fixed, η = 0.1", "cosine", "fixed, η = 0.3")
    assert both.runs == 12 and both.seconds == pytest.approx(2 * record.seconds)
    np.testing.assert_array_equal(both.test.values, record.test.values[[1, 2, 0]])
    np.testing.assert_array_equal(both.step_lr[1], record.step_lr[2])


def test_a_diverging_run_is_recorded(toy_data):
    steep = Splits(toy_data.x_train * 100, toy_data.y_train, toy_data.x_val * 100, toy_data.y_val)
    history = K.quick_training("fixed", {}, 3.0, steep, epochs=2, batch_size=16)
    assert history.diverged[0] and np.isnan(history.train_loss[0, -1])
    calm = K.quick_training("fixed", {}, 0.1, toy_data, epochs=1, batch_size=16)
    assert not calm.diverged[0] and calm.step_loss.shape == (1, 16)


BAD_INPUTS = [
    (lambda: K.seed_members({}, [0]), ValueError, "non-empty"),
    (lambda: K.seed_members({"a": {"lr": 0.1}}, [0, 0]), ValueError, "distinct"),
    (lambda: K.seed_members({"a": {"lr": 0.1, "init_seed": 3}}, [0]), ValueError, "other than"),
    (lambda: K.combine(), ValueError, "at least one"),
    (lambda: K.combine("a"), TypeError, "ScheduleComparison"),
    (lambda: K.quick_training("fixed", {}, 0.1, "mnist", epochs=1), TypeError, "Splits"),
    (lambda: K.quick_training("nope", {}, 0.1, None, epochs=1), ValueError, "valid names"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_compare_schedules_bad_inputs(toy_data):
    with pytest.raises(ValueError, match="data needs a test split, and has none"):
        K.compare_schedules({"a": {"lr": 0.1}}, [0, 1], toy_data, batch_size=16)
    with pytest.raises(TypeError, match="Splits"):
        K.compare_schedules({"a": {"lr": 0.1}}, [0, 1], "mnist")
