"""Start the data-parallel worker with ``torchrun`` in a subprocess, and read back what it measured.

:func:`run_workers` writes the data and a config file to a fresh directory and runs::

    python -m torch.distributed.run --standalone --nproc_per_node W -m lib.parallel.data_parallel CONFIG.json

* ``--standalone`` makes ``torchrun`` start its own rendezvous on ``localhost``
  at a free port, so a port taken by another program (29500 included) is not a
  failure; should the rendezvous still lose a race for its port, the launch is
  retried once.
* ``OMP_NUM_THREADS`` is set per process (the cores shared out between the W
  processes), so W processes do not fight over the same cores.
* The launch runs in its own process group: on a timeout, on a failure, and
  after a success, the whole group is killed, so no worker outlives the call.
* A worker that fails raises :class:`WorkerError` in the caller, carrying the
  tail of the workers' error output (the traceback).

The environment is passed on (``LR_BOOK_DATA``, ``LR_BOOK_BUDGET``, ...), with
the directory above ``lib`` put first on ``PYTHONPATH``, so the workers import
this very library from inside a notebook, a test or the book build.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lib.core import checks

from . import data_parallel

#: The library's root (the directory holding ``lib``), put first on the workers' PYTHONPATH.
ROOT = Path(__file__).resolve().parents[2]
WORKER_MODULE = "lib.parallel.data_parallel"
_PORT_ERRORS = ("address already in use", "eaddrinuse", "errno 98")


class WorkerError(RuntimeError):
    """A data-parallel launch failed; ``stderr_tail`` holds the end of the workers' error output."""

    def __init__(self, message: str, returncode: int | None, stderr_tail: str):
        super().__init__(f"{message}\n--- the workers' error output (tail) ---\n{stderr_tail}")
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class LaunchTimeout(WorkerError):
    """The launch ran past its timeout and was killed (with every worker)."""


def _kill_group(process: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the launch's whole process group, then SIGKILL whatever is left; never raises."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:          # the group lives on while any member does
            try:
                os.killpg(process.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


def default_threads(workers: int) -> int:
    """Threads per process: the cores shared out evenly, at least one."""
    return max(1, (os.cpu_count() or 1) // workers)


def torchrun_command(workers: int, config_path: str | os.PathLike, script: str | os.PathLike | None = None) -> list[str]:
    """The command line: ``python -m torch.distributed.run --standalone --nproc_per_node W`` and the worker."""
    target = ["-m", WORKER_MODULE] if script is None else [str(script)]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={workers}",
            *target, str(config_path)]


def run_workers(tasks: list[dict], data: dict, workers: int, *, timeout: float = 300.0,
                threads: int | None = None, device: str = "cpu", script: str | os.PathLike | None = None,
                retries: int = 1) -> dict:
    """Run ``tasks`` in ``workers`` processes under ``torchrun`` and return what rank 0 wrote.

    Args:
        tasks (list of dict): each with ``kind`` (one of :data:`lib.parallel.data_parallel.TASKS`),
            a unique ``label`` and the task's fields (see :mod:`lib.parallel.experiments`, which builds them).
        data (dict): ``x`` (N, 784) and ``y`` (N,) tensors, optionally ``x_val``, ``y_val``.
        workers (int): processes W, >= 1.
        timeout (float): seconds before the launch and all its processes are killed, > 0.
        threads (int, optional): ``OMP_NUM_THREADS`` per process; default: the cores / W.
        device (str): ``"cpu"`` (gloo) or ``"cuda"`` (NCCL, one GPU per process).
        script (path, optional): another worker script (tests); default the module above.
        retries (int): relaunches after a lost race for the rendezvous port, >= 0.

    Returns:
        dict: label -> {name: ndarray} (plus ``"world_size"`` and ``"backend"`` at the top level).

    Raises:
        TypeError, ValueError: bad arguments (before anything starts).
        LaunchTimeout: the launch ran past ``timeout``.
        WorkerError: a worker failed; the message ends with the workers' error output.
    """
    workers = checks.int_at_least(workers, "workers")
    timeout = checks.positive(timeout, "timeout")
    threads = default_threads(workers) if threads is None else checks.int_at_least(threads, "threads")
    retries = checks.integer(retries, "retries", minimum=0)
    device = checks.choice(device, "device", ("cpu", "cuda"))
    if device == "cuda" and torch.cuda.device_count() < workers:
        raise ValueError(f"workers={workers} needs {workers} GPUs with device='cuda'; this machine has "
                         f"{torch.cuda.device_count()}")
    if not isinstance(tasks, (list, tuple)) or not tasks or not all(isinstance(t, dict) for t in tasks):
        raise TypeError("tasks must be a non-empty list of dicts")
    labels = [t.get("label") for t in tasks]
    if len(set(labels)) != len(labels) or not all(isinstance(l, str) and l for l in labels):
        raise ValueError(f"every task needs a unique non-empty string label, got {labels}")
    unknown = [t.get("kind") for t in tasks if t.get("kind") not in data_parallel.TASKS]
    if unknown and script is None:
        raise ValueError(f"unknown task kind(s) {unknown}; allowed: {sorted(data_parallel.TASKS)}")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), torch.Tensor) for k in ("x", "y")):
        raise TypeError("data must be a dict with tensors 'x' (N, 784) and 'y' (N,)")
    if script is not None and not Path(script).is_file():
        raise ValueError(f"script {script!r} is not a file")

    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("LR_BOOK_PROGRESS", "0")
    env.pop("TORCHELASTIC_RUN_ID", None)
    with tempfile.TemporaryDirectory(prefix="lr-book-ddp-") as directory:
        directory = Path(directory)
        torch.save({k: v.detach().cpu() for k, v in data.items()}, directory / "data.pt")
        out = directory / "result.npz"
        config = {"data": str(directory / "data.pt"), "out": str(out), "device": device, "tasks": list(tasks)}
        (directory / "config.json").write_text(json.dumps(config))
        command = torchrun_command(workers, directory / "config.json", script)
        for attempt in range(retries + 1):
            stderr = _launch(command, env, timeout, directory)
            if out.exists():
                break
            lost_port = any(p in stderr.lower() for p in _PORT_ERRORS)
            if not lost_port or attempt == retries:
                raise WorkerError(f"the data-parallel launch with {workers} process(es) failed "
                                  f"(torchrun: {' '.join(command[1:4])} ...)", None, _tail(stderr))
        with np.load(out, allow_pickle=False) as archive:
            return _unflatten({k: archive[k] for k in archive.files})


def _tail(text: str, chars: int = 4000) -> str:
    return text[-chars:]


def _launch(command: list[str], env: dict, timeout: float, directory: Path) -> str:
    """Run ``command`` in a new process group; return its error output; kill the group whatever happens."""
    log = directory / "stderr.txt"
    with open(log, "w+b") as err:
        process = subprocess.Popen(command, env=env, cwd=str(directory), stdin=subprocess.DEVNULL,
                                   stdout=err, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            err.seek(0)
            raise LaunchTimeout(f"the data-parallel launch ran past its timeout of {timeout:g} s and was "
                                "killed with all its processes", None,
                                _tail(err.read().decode(errors="replace"))) from None
        finally:
            _kill_group(process, grace=1.0)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if process.returncode != 0 and not any(p in text.lower() for p in _PORT_ERRORS):
        raise WorkerError(f"a worker failed (torchrun exit status {process.returncode})", process.returncode,
                          _tail(text))
    return text


def _unflatten(flat: dict) -> dict:
    """``{"label/name": array}`` -> ``{label: {name: array}}``; keys without a label stay at the top."""
    out: dict = {}
    for key, value in flat.items():
        if "/" in key:
            label, name = key.split("/", 1)
            out.setdefault(label, {})[name] = value
        else:
            out[key] = value.item() if value.ndim == 0 else value
    return out
