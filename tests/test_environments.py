"""The declared dependencies are complete: fresh virtual environments run a notebook that trains.

CI installs everything (requirements.txt), so a package that ``lib`` imports but that
``pyproject.toml`` or ``binder/requirements.txt`` forgets would pass every other test and
still break a reader's ``pip install`` or Binder.  This module builds two environments from
nothing (``python -m venv`` in a temporary folder) and runs one notebook that trains in each:

* **pyproject**: ``pip install torch==<the pin of requirements.txt>`` (the CPU wheel, found
  locally; see the README for why torch comes first), then ``pip install <checkout>``, *not*
  editable and without extras, so exactly ``[project] dependencies``.  There is no Jupyter
  in it, so the notebook's code cells run in order in one IPython ``InteractiveShell`` (IPython
  is a declared dependency), stopping at the first exception.
* **binder**: ``pip install -r binder/requirements.txt`` from the repository root (``-e .``),
  as repo2docker does, less its ``--extra-index-url https://download.pytorch.org/whl/cpu``
  line: CI machines cannot reach that index, and the local wheel of torch ``2.13.0+cpu``
  satisfies the same pin.  The notebook runs with nbclient (myst-nb brings nbclient and
  ipykernel), as a kernel would run it on Binder.

The checkout is copied (its tracked-looking files: no ``.git``, ``.venv``, ``_build``,
caches) into the temporary folder first and installed from there: a non-editable install
builds in the source tree (``build/``, ``*.egg-info``), which must not appear in a checkout
other work shares.  Commands run with a working directory outside the checkout, without
``PYTHONPATH`` or ``VIRTUAL_ENV``, and the run checks that ``lib`` was imported from the fresh
environment.  How long each step took is printed and written to
``_build/fresh-environments.txt``; each environment's ``pip freeze`` goes beside it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
# A section that trains on MNIST under the quick budget in about 10 s of compute.
NOTEBOOK = ROOT / "chapters" / "03_schedules.ipynb"
UNREACHABLE_INDEX = "https://download.pytorch.org/whl/cpu"
# Time limits (seconds) so that a stuck pip or kernel fails the test instead of hanging CI.
INSTALL_TIMEOUT = 420
RUN_TIMEOUT = 300
REPORT = ROOT / "_build" / "fresh-environments.txt"
# What the snapshot of the checkout leaves out: at its top, the test venv, build outputs and
# caches (.gitignore's list); anywhere, byte code and checkpoints.
TOP_IGNORED = {".git", ".venv", "_build", "build", "data", ".pytest_cache", ".jupyter_cache"}
ANYWHERE_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints")


def _ignored(folder: str, names: list[str]) -> set[str]:
    ignored = set(ANYWHERE_IGNORED(folder, names))
    if Path(folder).resolve() == ROOT:
        ignored |= TOP_IGNORED & set(names)
    return ignored

# Runs a notebook's code cells, in order, in one IPython shell; exit status 1 at the first error
# (IPython prints its traceback).  Then prints where lib came from.
SHELL_RUNNER = r'''
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell

notebook = json.loads(open(sys.argv[1], encoding="utf-8").read())
shell = InteractiveShell.instance(colors="nocolor")  # plain tracebacks in the CI log
start = time.perf_counter()
for index, cell in enumerate(notebook["cells"]):
    if cell["cell_type"] != "code":
        continue
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    result = shell.run_cell(source, store_history=True)
    if not result.success:
        print(f"\nFAILED: cell {index} of {sys.argv[1]}:\n{source}", file=sys.stderr)
        sys.exit(1)
import lib
print("\nRESULT " + json.dumps({"seconds": time.perf_counter() - start, "lib": lib.__file__,
                                "python": sys.executable}))
'''

# Runs a notebook with nbclient in a kernel of this environment, then asks the kernel where lib came from.
NBCLIENT_RUNNER = r'''
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

notebook = nbformat.read(sys.argv[1], as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(
    "import json, sys, lib\nprint(json.dumps({'lib': lib.__file__, 'python': sys.executable}))"))
start = time.perf_counter()
client = NotebookClient(notebook, timeout=240, startup_timeout=60, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}})
try:
    client.execute()
except CellExecutionError as error:
    print(f"\nFAILED: {error}", file=sys.stderr)
    sys.exit(1)
seconds = time.perf_counter() - start
errors = [(i, o.get("ename")) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
          for o in c.outputs if o.output_type == "error"]
if errors:
    print(f"\nFAILED: error outputs {errors}", file=sys.stderr)
    sys.exit(1)
where = json.loads(notebook.cells[-1].outputs[0]["text"])
print("\nRESULT " + json.dumps({"seconds": seconds, **where}))
'''


@dataclass
class FreshEnv:
    """A virtual environment built from nothing, and how long each step took."""

    name: str
    root: Path  # the temporary folder: venv/, src/ (the snapshot), work/ (the notebook's cwd)
    installed: str  # what was installed, in words
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    @property
    def source(self) -> Path:
        return self.root / "src"

    @property
    def work(self) -> Path:
        return self.root / "work"


def _environment(venv: Path) -> dict[str, str]:
    """os.environ for a command of ``venv``: its bin/ first on PATH, no PYTHONPATH, no other venv.

    pip's own settings (find-links, local indexes) are kept: that is how the machine finds torch.
    """
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "JUPYTER_PATH")}
    ours = str(Path(sys.prefix) / "bin")
    rest = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry != ours]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *rest])
    env["VIRTUAL_ENV"] = str(venv)
    env.update(LR_BOOK_BUDGET="quick", LR_BOOK_PROGRESS="0", MPLBACKEND="Agg", PYTHONUNBUFFERED="1",
               PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    data = os.environ.get("LR_BOOK_DATA")
    if data:  # relative to the folder the tests run from, like the build (the commands run elsewhere)
        env["LR_BOOK_DATA"] = str(Path(data).expanduser().resolve())
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float, what: str) -> tuple[str, float]:
    """Run ``command``; return (its output, seconds).  Fail with the output's tail on error or timeout.

    It runs in its own process group, so that a timeout kills pip's or the kernel's children too.
    """
    start = time.perf_counter()
    process = subprocess.Popen([str(part) for part in command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{what}: no result after {timeout:.0f} s (killed); last output:\n{_tail(output)}")
    finally:
        if process.poll() is None:  # an exception (e.g. KeyboardInterrupt) while waiting
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        pytest.fail(f"{what} failed (exit status {process.returncode}, {seconds:.0f} s):\n{_tail(output)}")
    return output, seconds


def _tail(output: str, lines: int = 60) -> str:
    # pip warns about every missing folder of the machine's local index; they say nothing here
    noise = "is ignored: it is neither a file nor a directory"
    kept = [line for line in (output or "").splitlines() if noise not in line]
    return "\n".join(kept[-lines:])


def _create(tmp_path_factory, name: str, installed: str) -> FreshEnv:
    root = tmp_path_factory.mktemp(f"env-{name}")
    fresh = FreshEnv(name, root, installed)
    shutil.copytree(ROOT, fresh.source, ignore=_ignored)
    fresh.work.mkdir()
    start = time.perf_counter()
    _run([sys.executable, "-m", "venv", root / "venv"], root, _environment(root / "venv"), 120, "python -m venv")
    fresh.seconds["venv"] = time.perf_counter() - start
    return fresh


def _pip(fresh: FreshEnv, step: str, *arguments, cwd: Path | None = None) -> None:
    _, seconds = _run([fresh.python, "-m", "pip", "install", *arguments], cwd or fresh.root,
                      _environment(fresh.python.parent.parent), INSTALL_TIMEOUT,
                      f"[{fresh.name}] pip install {' '.join(map(str, arguments))}")
    fresh.seconds[step] = seconds


def _freeze(fresh: FreshEnv) -> list[str]:
    output, _ = _run([fresh.python, "-m", "pip", "freeze", "--all"], fresh.work,
                     _environment(fresh.python.parent.parent), 120, f"[{fresh.name}] pip freeze")
    lines = [line for line in output.splitlines() if line and "is ignored" not in line]
    REPORT.parent.mkdir(exist_ok=True)
    (REPORT.parent / f"fresh-env-{fresh.name}-freeze.txt").write_text("\n".join(lines) + "\n")
    return lines


def _torch_pin() -> str:
    pins = re.findall(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert len(pins) == 1, "requirements.txt must pin torch exactly once (torch==X.Y.Z)"
    return pins[0]


def _run_notebook(fresh: FreshEnv, runner: str, runner_name: str) -> dict:
    """Copy the notebook into the environment's work folder and run it there with ``runner``."""
    notebook = fresh.work / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook)
    script = fresh.root / runner_name
    script.write_text(runner)
    output, seconds = _run([fresh.python, script, notebook, fresh.work], fresh.work,
                           _environment(fresh.python.parent.parent), RUN_TIMEOUT,
                           f"[{fresh.name}] {NOTEBOOK.relative_to(ROOT)}")
    fresh.seconds["notebook"] = seconds
    results = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert results, f"the runner printed no result:\n{_tail(output)}"
    result = json.loads(results[-1].removeprefix("RESULT "))
    # lib and the interpreter are the fresh environment's, not the checkout's editable install
    assert Path(result["python"]).parent.parent == fresh.python.parent.parent, result
    assert not Path(result["lib"]).is_relative_to(ROOT), f"lib was imported from the checkout: {result['lib']}"
    assert Path(result["lib"]).is_relative_to(fresh.root), f"lib did not come from the fresh environment: {result}"
    return result


_REPORT_ROWS: list[str] = []


def _report(fresh: FreshEnv, packages: int) -> None:
    steps = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in fresh.seconds.items())
    row = (f"{fresh.name:9s} {sum(fresh.seconds.values()):5.0f} s  ({steps}); {packages} packages; "
           f"installed: {fresh.installed}; ran {NOTEBOOK.relative_to(ROOT)} under the quick budget")
    _REPORT_ROWS.append(row)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("Fresh environments (tests/test_environments.py)\n" + "\n".join(_REPORT_ROWS) + "\n")
    print(f"\n[fresh environment] {row}")


@pytest.fixture(scope="module")
def pyproject_env(tmp_path_factory):
    """torch (the pinned CPU wheel), then the checkout without extras: only what pyproject.toml declares.

    torch is installed exactly as ``.ci/run`` installs it into CI's own environment (``pip install
    torch==<pin>`` with the machine's pip settings), so where CI finds the CPU wheel, so does this.
    """
    pin = _torch_pin()
    fresh = _create(tmp_path_factory, "pyproject",
                    f"torch=={pin}, then `pip install <checkout>` (not editable, no extras)")
    try:
        _pip(fresh, "torch", f"torch=={pin}")
        _pip(fresh, "lib", fresh.source)
        yield fresh
    finally:  # about 1 GB each
        shutil.rmtree(fresh.root, ignore_errors=True)


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """binder/requirements.txt, less the line naming PyTorch's CPU index (unreachable from CI)."""
    fresh = _create(tmp_path_factory, "binder", "binder/requirements.txt without its --extra-index-url line")
    lines = (fresh.source / "binder" / "requirements.txt").read_text().splitlines()
    dropped = [line for line in lines if line.strip().startswith(("--extra-index-url", "--index-url"))]
    assert dropped == [f"--extra-index-url {UNREACHABLE_INDEX}"], (
        f"binder/requirements.txt names other indexes than PyTorch's CPU index: {dropped}; update this test")
    offline = fresh.source / "binder" / "requirements-offline.txt"
    offline.write_text("\n".join(line for line in lines if line not in dropped) + "\n")
    # repo2docker installs from the repository root, where `-e .` is the repository
    try:
        _pip(fresh, "requirements", "-r", offline, cwd=fresh.source)
        yield fresh
    finally:
        shutil.rmtree(fresh.root, ignore_errors=True)


def test_binder_pins_the_torch_the_book_is_tested_with():
    text = (ROOT / "binder" / "requirements.txt").read_text()
    pins = re.findall(r"^torch==(\S+)", text, re.M)
    assert pins and pins[0].split("+")[0] == _torch_pin(), (
        f"binder/requirements.txt pins torch {pins}, requirements.txt pins {_torch_pin()}")
    assert re.search(r"^-e \.\s*$", text, re.M), "binder/requirements.txt must install the repository's lib (-e .)"


def test_pyproject_dependencies_alone_run_a_training_notebook(pyproject_env):
    fresh = pyproject_env
    # the environment holds what pyproject.toml declares and nothing of the book's tools
    probe = ("import importlib.util as u, json; print(json.dumps([m for m in ('pytest', 'jupyterlab', "
             "'myst_nb', 'nbclient', 'ipykernel', 'tools', 'torch_lr_finder') if u.find_spec(m)]))")
    output, _ = _run([fresh.python, "-c", probe], fresh.work, _environment(fresh.python.parent.parent), 60, "probe")
    assert json.loads(output.strip().splitlines()[-1]) == [], "the pyproject environment holds test or book tools"
    result = _run_notebook(fresh, SHELL_RUNNER, "run_in_ipython.py")
    assert "site-packages" in result["lib"], f"lib should be installed (not editable): {result['lib']}"
    _report(fresh, len(_freeze(fresh)))


def test_binder_requirements_alone_run_a_training_notebook(binder_env):
    _run_notebook(binder_env, NBCLIENT_RUNNER, "run_with_nbclient.py")
    _report(binder_env, len(_freeze(binder_env)))
