"""Static explorers (lib/static_explorer.py and each section's static.py): records that round-trip,
and charts that, in a real Chromium with the network blocked, draw exactly the exported record's
views when their controls move.

Unit tests (fast): the export of each section's record round-trips bit for bit; bad records are refused.
Browser tests on a standalone page (BokehJS inline, no build): the record's views are drawn.
Book tests (``book``): on each built page, every static explorer renders from the site's own BokehJS,
every control moved to >= 2 positions draws the record's view (the record is read from the executed
notebook, where :func:`lib.static_explorer.show` puts it beside the HTML, not from the page), no
console error, the explorers add <= 1 MB to the page, and a redraw takes < 100 ms.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lib.static_explorer import CSS_CLASS, RECORD_KEY, Control, StaticExplorer, StaticRecord, Texts, Views

ROOT = Path(__file__).resolve().parent.parent
MAX_PAGE_BYTES = 1_000_000
MAX_REDRAW_MS = 100.0


# --------------------------------------------------------------------------- a tiny record (truth by hand)

def tiny_record() -> StaticRecord:
    a = Control("a", "a", ["1", "2", "3"], [1.0, 2.0, 3.0], default=1)
    s = Control("s", "shape", ["line", "square"], ["line", "square"], kind="select")
    c = Control("c", "negate", ["off", "on"], [0, 1], kind="checkbox")
    x = np.linspace(0, 1, 5)
    views = {(i, j, k): {"x": x, "y": (-1) ** k * (i + 1.0) * (x if j == 0 else x ** 2)}
             for i in range(3) for j in range(2) for k in range(2)}
    return StaticRecord("tiny", (a, s, c), {"curve": Views(("a", "s", "c"), views),
                                            "fixed": Views((), {(): {"x": x, "y": np.array([np.nan, np.inf, 0, 1, 2])}})},
                        texts={"t": Texts(("a",), {(i,): f"a = {i + 1}" for i in range(3)})}, meta={"k": 1})


def tiny_explorer() -> StaticExplorer:
    from bokeh.plotting import figure

    def draw(sources):
        f = figure(width=300, height=200)
        f.line("x", "y", source=sources["curve"])
        f.line("x", "y", source=sources["fixed"])
        return [f]

    return StaticExplorer("tiny", tiny_record(), draw)


def test_the_tiny_record_reads_the_view_the_controls_select():
    r = tiny_record()
    assert np.array_equal(r.data("curve")["y"], 2.0 * np.linspace(0, 1, 5))          # defaults: a = 2, line, off
    assert np.array_equal(r.data("curve", a=3.0, s="square", c=1)["y"], -3.0 * np.linspace(0, 1, 5) ** 2)
    assert r.text("t", a=1.0) == "a = 1"
    with pytest.raises(ValueError, match="a must be one of"):
        r.data("curve", a=4.0)
    with pytest.raises(ValueError, match="unknown controls"):
        r.data("curve", b=1)


def test_export_round_trips_bit_for_bit_nan_and_infinity_included():
    r = tiny_record()
    back = StaticRecord.from_json(r.to_json())
    assert back.equals(r)
    assert np.isnan(back.data("fixed")["y"][0]) and np.isposinf(back.data("fixed")["y"][1])
    changed = StaticRecord.from_json(r.to_json())
    changed.sources["curve"].views[(0, 0, 0)]["y"][1] += 1e-15
    assert not changed.equals(r)


@pytest.mark.parametrize("make, match", [
    (lambda: Control("a b", "x", ["1"], [1]), "identifier"),
    (lambda: Control("a", "x", ["1", "2"], [1]), "equally long"),
    (lambda: Control("a", "x", ["1", "2", "3"], [1, 2, 3], kind="checkbox"), "exactly 2"),
    (lambda: Control("a", "x", ["1"], [1], default=1), "default must be an index"),
    (lambda: Control("a", "x", ["1"], [1], kind="knob"), "kind must be one of"),
    (lambda: StaticRecord("t", (Control("a", "a", ["1", "2"], [1, 2]),),
                          {"s": Views(("a",), {(0,): {"x": np.zeros(2)}})}), "missing"),
    (lambda: StaticRecord("t", (Control("a", "a", ["1"], [1]),), {"s": Views(("b",), {})}), "unknown controls"),
    (lambda: StaticRecord("t", (Control("a", "a", ["1"], [1]),),
                          {"s": Views(("a",), {(0,): {"x": np.zeros(2), "y": np.zeros(3)}})}), "equally long"),
    (lambda: StaticRecord("t", (Control("a", "a", ["1"], [1]),),
                          {"s": Views(("a",), {(0,): {"x": np.zeros((2, 2))}})}), "1-D"),
])
def test_bad_records_are_refused_with_a_message(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_column_that_is_not_numeric_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        StaticRecord("t", (Control("a", "a", ["1"], [1]),), {"s": Views(("a",), {(0,): {"x": np.array(["a"])}})})


def test_show_refuses_what_is_not_a_static_explorer():
    from lib.static_explorer import show

    with pytest.raises(TypeError, match="StaticExplorer"):
        show(tiny_record())


def test_outside_the_build_the_html_carries_bokehjs_inside_it_only_the_chart(monkeypatch):
    from lib.static_explorer import BUILD_ENV

    e = tiny_explorer()
    monkeypatch.delenv(BUILD_ENV, raising=False)
    inline = e.html()
    monkeypatch.setenv(BUILD_ENV, "1")
    built = e.html()
    assert f'class="{CSS_CLASS}"' in built and "Bokeh.embed" in built
    assert len(inline) > len(built) + 1_000_000            # BokehJS itself (over 1 MB minified)
    assert "cdn.bokeh.org" not in built and "https://" not in built


# --------------------------------------------------------------------------- the browser side

#: Reads back every source and text of one explorer, and moves a control to a position and times the redraw.
JS_READ = """(name) => {
  const doc = Bokeh.documents.find(d => d.get_model_by_name(name + ".layout") !== null);
  if (!doc) return null;
  const out = {sources: {}, texts: {}};
  for (const m of doc.all_models) {
    if (!m.name || !m.name.startsWith(name + ".")) continue;
    const part = m.name.slice(name.length + 1);
    if (part.startsWith("text.")) out.texts[part.slice(5)] = m.text;
    else if (!part.startsWith("control.") && m.data !== undefined) {
      out.sources[part] = {};
      for (const [k, v] of Object.entries(m.data)) out.sources[part][k] = Array.from(v, x => Number.isNaN(x) ? "nan" : x === Infinity ? "inf" : x === -Infinity ? "-inf" : x);
    }
  }
  return out;
}"""

JS_MOVE = """async ([name, control, kind, position]) => {
  const doc = Bokeh.documents.find(d => d.get_model_by_name(name + ".layout") !== null);
  const c = doc.get_model_by_name(name + ".control." + control);
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  await frame();
  const t0 = performance.now();
  if (kind === "slider") c.value = position;
  else if (kind === "select") c.value = String(position);
  else c.active = position === 1 ? [0] : [];
  // Bokeh asks for its repaint during the change, before this request: when this frame's callback runs,
  // the repaint has run in the same frame
  await frame();
  return performance.now() - t0;
}"""


def _as_array(values) -> np.ndarray:
    return np.array([{"nan": np.nan, "inf": np.inf, "-inf": -np.inf}.get(v, v) if isinstance(v, str) else v
                     for v in values], dtype=np.float64)


def assert_draws(page, name: str, record: StaticRecord, positions: dict) -> None:
    """What the page's explorer ``name`` holds equals the record's views at ``positions`` (control -> index)."""
    drawn = page.evaluate(JS_READ, name)
    assert drawn is not None, f"no Bokeh document holds the explorer {name!r}"
    for source, item in record.sources.items():
        expected = item.views[tuple(positions[d] for d in item.depends)]
        got = drawn["sources"][source]
        assert set(got) == set(expected), f"{name}.{source}: columns {sorted(got)} != {sorted(expected)}"
        for column, values in expected.items():
            np.testing.assert_array_equal(_as_array(got[column]), values,
                                          err_msg=f"{name}.{source}.{column} at {positions}")
    for text, item in record.texts.items():
        assert drawn["texts"][text] == item.views[tuple(positions[d] for d in item.depends)], f"{name}.{text}"


def exercise(page, name: str, record: StaticRecord) -> list[float]:
    """Checks the defaults, then moves each control to >= 2 other positions (others at default), checking the
    drawn data each time; returns the redraw times (ms)."""
    defaults = {c.name: c.default for c in record.controls}
    assert_draws(page, name, record, defaults)
    times = []
    for c in record.controls:
        others = [i for i in range(len(c.options)) if i != c.default]
        targets = ([others[0], others[-1]] if len(others) > 1 else others) + [c.default]
        for position in targets:
            times.append(page.evaluate(JS_MOVE, [name, c.name, c.kind, position]))
            assert_draws(page, name, record, {**defaults, c.name: position})
    return times


def open_offline(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = {"console": [], "pageerror": [], "external": []}
    page.on("pageerror", lambda error: problems["pageerror"].append(str(error)))
    page.on("console", lambda m: problems["console"].append(m.text) if m.type == "error" else None)

    def route(handle):
        if handle.request.url.startswith(("http://127.0.0.1", "file://", "data:", "blob:")):
            handle.continue_()
        else:
            problems["external"].append(handle.request.url)
            handle.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, problems


def test_a_standalone_page_draws_the_records_views_as_the_controls_move(browser, tmp_path):
    explorer = tiny_explorer()
    path = tmp_path / "tiny.html"
    explorer.standalone(path)
    page, problems = open_offline(browser, path.as_uri())
    try:
        page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)
        times = exercise(page, "tiny", explorer.record)
        assert len(times) == 3 + 2 + 2
        assert problems == {"console": [], "pageerror": [], "external": []}
    finally:
        page.close()


def test_a_wrong_view_is_caught(browser, tmp_path):
    """The check above can fail: a page whose chart holds another view than the record says is refused."""
    explorer = tiny_explorer()
    path = tmp_path / "tiny.html"
    explorer.standalone(path)
    wrong = tiny_record()
    wrong.sources["curve"].views[(1, 0, 0)]["y"][2] += 0.5
    page, _ = open_offline(browser, path.as_uri())
    try:
        page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)
        with pytest.raises(AssertionError):
            assert_draws(page, "tiny", wrong, {"a": 1, "s": 0, "c": 0})
    finally:
        page.close()


# --------------------------------------------------------------------------- each section's explorer, on toys

def _toy_step_size():
    from lib.step_size import static

    return static.static_explorer(rates=(0.02, 0.15, 0.21), starts=((-1.8, 0.6), (1.0, -0.9)), steps=30)


def _toy_lr_finder():
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "lr_finder"))
    from toys import small_net, toy_splits

    from lib.lr_finder import static
    from lib.lr_finder.sweep import lr_range_test

    data = toy_splits()
    tests = {f"seed {s}": lr_range_test(small_net(s), data, start=1e-4, end=10.0, steps=60, batch_size=32, beta=0.98)
             for s in (0, 1)}
    tests["B = 8"] = lr_range_test(small_net(0), data, start=1e-4, end=10.0, steps=40, batch_size=8, beta=0.9)
    return static.static_explorer(tests)


def _toy_schedules():
    import torch

    from lib.core.data import Splits
    from lib.schedules import comparison, policies, static

    g = torch.Generator().manual_seed(1)
    data = Splits(*(t for _ in range(3) for t in (torch.rand(128, 784, generator=g),
                                                   torch.randint(0, 10, (128,), generator=g))))
    steps = policies.training_steps(128, 16, 2)
    params = {n: policies.default_parameters(n, steps, 0.8) for n in ("step", "exp", "cosine", "one_cycle")}
    configurations = {"fixed, η = 0.5": {"lr": 0.5},
                      **{n: {"lr": 0.8, "schedule": policies.schedule(n, **p)} for n, p in params.items()}}
    result = comparison.compare_schedules(configurations, [0, 1], data, batch_size=16, epochs=2, train_eval_size=None)
    return static.static_explorer(result, {n: (n, p) for n, p in params.items()}, 0.8), params


def _toy_batch_size():
    import torch

    from lib.batch_size import batch_sweep, static
    from lib.core.data import Splits

    g = torch.Generator().manual_seed(5)
    x = torch.rand(320, 784, generator=g)
    y = (x @ torch.randn(784, 10, generator=g)).argmax(1)
    sweep = batch_sweep.run_sweep(Splits(x[:256], y[:256], x[256:], y[256:]), [16, 32, 64], [0.1, 0.5, 500.0],
                                  [0, 1], epochs=2, warmup_from=32, warmup_epochs=1.0, warmup_rates=[0.5, 500.0],
                                  progress=False)
    return static.static_explorer(sweep, 32, 0.5), sweep


def _toy_sharpness():
    import torch

    from lib.core.data import Splits
    from lib.core.models import mlp
    from lib.sharpness import generalization_gap, static

    g = torch.Generator().manual_seed(3)
    x = torch.randn(168, 6, generator=g)
    y = (x @ torch.randn(6, 3, generator=g)).argmax(1)
    data = Splits(x[:96], y[:96], x[96:128], y[96:128], x[128:], y[128:])
    bank = generalization_gap.SolutionBank(
        measure=lambda net: {"top_eigenvalue": 1.0 + net[0].weight.detach().abs().sum().item(), "trace": 2.0,
                             "keskar_full_1e-03": 3.0})
    for b in (8, 32, 64):
        bank.add(b, mlp((6, 8, 3), ("tanh",), init_seed=b))
    splits = {"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test)}
    return static.static_explorer(bank, splits, np.linspace(-1, 2, 31)), bank, splits


def _toy_swa():
    import torch

    from lib.core.data import Splits
    from lib.swa import explorer, plane, plans, static, training

    g = torch.Generator().manual_seed(7)
    x, y = torch.rand(384, 784, generator=g), torch.randint(0, 10, (384,), generator=g)
    data = Splits(x[:256], y[:256], x[256:320], y[256:320], x[320:], y[320:])
    checkpoint = training.pretrain(data, lr=0.3, epochs=1, batch_size=32, seed=0)
    run = training.continue_run(checkpoint, plans.cyclical(0.3, 0.03, 2), data, epochs=1, track=False,
                                keep_snapshots=True)
    view = explorer.CyclicalExplorer(checkpoint, data, epochs=1, cycles=[1, 2, 4], alpha_1s=[0.1, 0.2],
                                     alpha_2s=[0.01, 0.15])
    return static.static_explorer(view, plane.snapshot_plane(run, data, resolution=4, examples=50),
                                  train_missing=True), view


@pytest.fixture(scope="module")
def toys():
    """Each section's static explorer built on a toy (built once per module, on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    built = {}

    def get(section):
        if section not in built:
            built[section] = {"step_size": _toy_step_size, "lr_finder": _toy_lr_finder, "schedules": _toy_schedules,
                              "batch_size": _toy_batch_size, "sharpness": _toy_sharpness, "swa": _toy_swa}[section]()
        return built[section]

    return get


SECTIONS = ("step_size", "lr_finder", "schedules", "batch_size", "sharpness", "swa")


def _explorer(built) -> StaticExplorer:
    return built[0] if isinstance(built, tuple) else built


@pytest.mark.parametrize("section", SECTIONS)
def test_each_sections_export_round_trips(toys, section):
    explorer = _explorer(toys(section))
    assert explorer.name == section
    back = StaticRecord.from_json(explorer.record.to_json())
    assert back.equals(explorer.record) and back.n_numbers() == explorer.record.n_numbers() > 0


def test_step_size_paths_are_the_closed_form_of_gradient_descent_on_the_valley(toys):
    """On L = (x^2 + 10 y^2)/2 a step multiplies x by (1 - η) and y by (1 - 10η): w_k = (1 - η λ)^k w_0."""
    record = toys("step_size").record
    for lr in (0.02, 0.15, 0.21):
        path = record.data("path", surface="narrow valley", lr=lr, start=1)
        k = np.arange(31)
        np.testing.assert_allclose(path["x"], 1.0 * (1 - lr) ** k, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(path["y"], -0.9 * (1 - 10 * lr) ** k, rtol=1e-5, atol=1e-6)
    assert "diverges" in record.text("sentence", surface="narrow valley", lr=0.21, start=0)
    with pytest.raises(ValueError, match="ascending"):
        from lib.step_size import static

        static.static_record(rates=(0.2, 0.1))


def test_lr_finder_average_is_a_plain_bias_corrected_ema_of_the_measured_losses(toys):
    record = toys("lr_finder").record
    losses = record.data("losses", sweep="seed 1")["loss"]
    for beta in (0.0, 0.9, 0.995):
        m, expected = 0.0, []
        for t, value in enumerate(losses[np.isfinite(losses)], start=1):      # plain loop, as fastai's lr_find
            m = beta * m + (1 - beta) * value
            expected.append(m / (1 - beta ** t))
        got = record.data("average", sweep="seed 1", beta=beta)["loss"]
        np.testing.assert_allclose(got[np.isfinite(losses)], expected, rtol=1e-12)
    # read from the zero-lag curve the rules do not move with beta; read from the average they do
    rates = {b: record.data("rule_steepest", sweep="seed 0", beta=b, from_average=0)["lr"][0] for b in (0.0, 0.995)}
    assert rates[0.0] == rates[0.995]


def test_lr_finder_draws_a_long_sweep_at_evenly_spaced_updates_but_reads_rules_from_all(monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "lr_finder"))
    from toys import small_net, toy_splits

    from lib.lr_finder import static
    from lib.lr_finder.sweep import lr_range_test

    test = lr_range_test(small_net(0), toy_splits(), start=1e-4, end=1.0, steps=60, batch_size=32, beta=0.9)
    monkeypatch.setattr(static, "MAX_POINTS", 20)
    record = static.static_record({"long": test})
    drawn = record.data("losses")
    kept = np.searchsorted(test.lrs, drawn["lr"])
    assert len(drawn["lr"]) == 20 and kept[0] == 0 and kept[-1] == len(test.lrs) - 1
    np.testing.assert_array_equal(drawn["lr"], test.lrs[kept])
    np.testing.assert_array_equal(record.data("average", beta=0.9)["loss"], test.smoothed[kept])
    assert record.meta["default"] == test.suggestions           # read from every update, not the drawn ones


def test_schedules_rates_follow_the_closed_forms_and_the_trained_rates(toys):
    explorer, params = toys("schedules")
    record = explorer.record
    for name in params:    # at the trained setting, the scheduler's rates are those the training applied
        np.testing.assert_allclose(record.data("rate", schedule=name)["lr"], record.data("trained_rate", schedule=name)["lr"],
                                   rtol=1e-6)
    s, gamma = params["step"]["step_size"], params["step"]["gamma"]
    for k in (0.5, 2.0):   # StepLR: eta_0 * gamma ** floor(t / s), with s stretched k times
        view = record.data("rate", schedule="step", scale=k)
        t = np.rint(view["epoch"] * 8)                            # update index: 8 updates per epoch (128 / 16)
        np.testing.assert_allclose(view["lr"], 0.8 * gamma ** np.floor(t / max(1, round(s * k))), rtol=1e-6)
    exp = record.data("rate", schedule="exp", scale=4.0)["lr"]
    assert exp[-1] > record.data("rate", schedule="exp")["lr"][-1]      # a slower decay ends higher


def test_batch_size_views_are_the_sweeps_own_runs_and_the_rules_closed_forms(toys):
    explorer, sweep = toys("batch_size")
    record = explorer.record
    grid = sweep[32]
    rows = grid.index("constant")[grid.rate_index(0.1)]
    np.testing.assert_array_equal(record.data("curve", batch_size=32, lr=0.1, warmup=0)["mean"],
                                  grid.history.val_loss[rows].astype(np.float64).mean(axis=0))
    rules = record.data("rules")
    b, best = rules["b"], record.data("best")["rate"]
    np.testing.assert_allclose(rules["linear"], best[0] * b / b[0])
    np.testing.assert_allclose(rules["sqrt"], best[0] * np.sqrt(b / b[0]))
    assert record.data("curve", batch_size=16, lr=0.5, warmup=1)["mean"].size == 0     # 16 trained no warm-up
    assert "without warm-up only" in record.text("sentence", batch_size=16, lr=0.5, warmup=1)


def test_sharpness_test_accuracy_is_a_plain_evaluation_of_each_network(toys):
    import torch

    explorer, bank, splits = toys("sharpness")
    x, y = splits["test"]
    measured = explorer.record.data("measure", measure="test_acc")
    for b, value in zip(measured["b"], measured["value"]):
        with torch.no_grad():
            accuracy = (bank.model(int(b))(x).argmax(1) == y).double().mean().item()
        assert value == pytest.approx(100 * accuracy, abs=1e-4)      # float32 evaluation; one example is 2.5 points


def test_swa_rates_are_eq_2_of_izmailov_et_al(toys):
    explorer, view = toys("swa")
    record = explorer.record
    for cycle, a1, a2 in ((2, 0.2, 0.01), (4, 0.1, 0.01)):
        rates = record.data("rate", cycle=cycle, alpha_1=a1, alpha_2=a2)["lr"]
        i = np.arange(1, len(rates) + 1)
        t = (np.mod(i - 1, cycle) + 1) / cycle                    # Izmailov et al. (2018), eq. (2)
        np.testing.assert_allclose(rates, (1 - t) * a1 + t * a2, rtol=1e-6)
    assert record.data("rate", cycle=2, alpha_1=0.1, alpha_2=0.15)["lr"].size == 0
    assert "needs α₂ ≤ α₁" in record.text("sentence", cycle=2, alpha_1=0.1, alpha_2=0.15)


@pytest.mark.parametrize("section", SECTIONS)
def test_each_sections_chart_draws_its_records_views_in_chromium(toys, browser, tmp_path, section):
    explorer = _explorer(toys(section))
    path = tmp_path / f"{section}.html"
    explorer.standalone(path)
    page, problems = open_offline(browser, path.as_uri())
    try:
        page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)
        times = exercise(page, section, explorer.record)
        assert len(times) >= 2 * len(explorer.record.controls)
        assert problems == {"console": [], "pageerror": [], "external": []}
    finally:
        page.close()


# --------------------------------------------------------------------------- the built book

SECTION_NOTEBOOKS = ("01_why_lr_is_hard", "02_range_test", "03_schedules", "04_lr_and_batch_size",
                     "05_sharp_and_flat_minima", "06_weight_averaging")
_TABLE_STARTED = False
_WRAPPER = re.compile(rf'<div class="{CSS_CLASS}" data-explorer="([^"]+)">.*?</script>\s*</div>', re.S)


def exported_records(executed: Path) -> dict[str, StaticRecord]:
    """``{explorer name: record}`` from the outputs of an executed notebook (where :func:`show` puts them)."""
    import nbformat

    records = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            found = output.get("metadata", {}).get(RECORD_KEY)
            if found:
                records[found["name"]] = StaticRecord.from_dict(found["record"])
    return records


def check_built_page(browser, url: str, html_file: Path, executed: Path) -> dict:
    """Every static explorer of one built page: renders from the site's BokehJS, draws the exported record's
    views as each control moves, no console error, no request off the machine; returns sizes and times."""
    from tools.bokeh_static import bokeh_files

    records = exported_records(executed)
    assert records, f"{executed.name} holds no static explorer's record"
    for name, record in records.items():   # so that every control can be moved to two positions at least
        assert all(len(c.options) >= 2 for c in record.controls), f"{name}: a control with a single option"
    source = html_file.read_text(encoding="utf-8")
    blocks = {m.group(1): len(m.group(0).encode("utf-8")) for m in _WRAPPER.finditer(source)}
    assert set(blocks) == set(records), f"explorers in the page {sorted(blocks)} != in the notebook {sorted(records)}"
    shared = {name: (html_file.parent.parent / "_static" / name) for _, name in bokeh_files()}
    assert all(p.is_file() for p in shared.values()), "BokehJS is not in the site's _static/"
    assert all(f'src="../_static/{name}' in source for name in shared), "the page does not load the shared BokehJS"
    assert "cdn.bokeh.org" not in source
    page, problems = open_offline(browser, url)
    try:
        page.wait_for_function(f"window.Bokeh && Bokeh.documents.length >= {len(records)}", timeout=60_000)
        page.wait_for_timeout(500)                      # let the first paint settle before timing redraws
        # two passes over every control (each checks the data again); the redraw times of the faster pass count,
        # so that one busy moment of a shared machine does not decide
        passes = [{name: exercise(page, name, record) for name, record in records.items()} for _ in range(2)]
        times = {name: min((p[name] for p in passes), key=lambda t: float(np.median(t))) for name in records}
    finally:
        page.close()
    return {"records": records, "bytes": blocks, "shared_bytes": {n: p.stat().st_size for n, p in shared.items()},
            "times": times, "problems": problems}


@pytest.mark.book
@pytest.mark.parametrize("notebook", SECTION_NOTEBOOKS)
def test_every_static_explorer_of_the_built_page_draws_the_exported_record(browser, site, built_book, notebook):
    from tests.test_book import KNOWN_CONSOLE_ERRORS

    found = check_built_page(browser, f"{site}/chapters/{notebook}.html", built_book.html / "chapters" / f"{notebook}.html",
                             built_book.build_dir / "jupyter_execute" / "chapters" / f"{notebook}.ipynb")
    problems = found["problems"]
    assert problems["pageerror"] == [] and problems["external"] == [], problems
    unexplained = [m for m in problems["console"] if not any(p.match(m) for p in KNOWN_CONSOLE_ERRORS)]
    assert unexplained == [], f"console errors: {unexplained}"
    added = sum(found["bytes"].values())
    assert added <= MAX_PAGE_BYTES, f"the static explorers add {added:,} bytes to the page (shared BokehJS apart)"
    lines = []
    for name, times in found["times"].items():
        record = found["records"][name]
        median = float(np.median(times))
        # the median over every control change; single changes on a loaded machine wait for a busy frame
        assert median < MAX_REDRAW_MS, f"{name}: median redraw {median:.0f} ms"
        lines.append(f"{notebook}\t{name}\t{', '.join(c.name for c in record.controls)}\t"
                     f"{found['bytes'][name] / 1e3:.0f} KB\t{median:.0f} ms median, {max(times):.0f} ms max "
                     f"over {len(times)} changes\t{record.n_numbers():,} numbers")
    shared = ", ".join(f"{n} {b / 1e3:.0f} KB" for n, b in found["shared_bytes"].items())
    global _TABLE_STARTED
    mode, _TABLE_STARTED = ("a" if _TABLE_STARTED else "w"), True     # a fresh table per test session
    with open(ROOT / "_build" / "static-explorers.txt", mode, encoding="utf-8") as handle:
        handle.write("\n".join(lines) + f"\t(shared, once per site: {shared})\n")
