"""lib.schedules.figures draw what the records and the schedulers hold."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lib import style  # noqa: E402
from lib.schedules import conditions as C  # noqa: E402
from lib.schedules import figures as F  # noqa: E402
from lib.schedules import policies as P  # noqa: E402


def test_figures_draw_from_the_schedulers():
    fig = F.policies_figure({"a": {"step": {"step_size": 5, "gamma": 0.5}, "fixed": {}}}, 0.2, 20)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), P.rates(P.schedule("step", step_size=5, gamma=0.5), 0.2, 20))
    fig2 = F.partial_sums_figure({"c": np.full(10, 0.1)})
    np.testing.assert_allclose(fig2.axes[0].lines[0].get_ydata(), 0.1 * np.arange(1, 11))
    plt.close("all")


def test_noisy_quadratic_figure_draws_the_record():
    record = C.noisy_quadratic({"fixed": ("fixed", {}, 0.5), "exp": ("exp", {"gamma": 0.9}, 0.5)},
                               steps=50, runs=10)
    fig = F.noisy_quadratic_figure(record)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), record.simulated[0, 1:])
    np.testing.assert_array_equal(ax.lines[3].get_ydata(), record.exact[1, 1:])
    assert ax.lines[0].get_color() == style.lr_color(0.5)
    assert ax.lines[-1].get_ydata()[0] == record.floors[0.5]                # the floor, dashed
    plt.close(fig)


def test_styles():
    assert F.policy_style("exp") == {"color": style.PALETTE["vermillion"], "linestyle": "-"}
    assert F.configuration_style("cosine", [0.2]) == F.policy_style("cosine")
    assert F.configuration_style("fixed, η = 0.5", [0.2, 0.3, 0.5]) == {"color": style.lr_color(0.5),
                                                                        "linestyle": style.RATE_LINESTYLES[2]}
    assert set(F.POLICY_STYLE) == set(P.POLICIES)


BAD_INPUTS = [
    (lambda: F.policies_figure({}, 0.1, 10), ValueError, "non-empty"),
    (lambda: F.policy_style("nope"), ValueError, "valid names"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
