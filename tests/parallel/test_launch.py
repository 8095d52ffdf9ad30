"""torchrun launches: a failing worker's error reaches the caller, nothing outlives a launch, a busy port is no
failure, bad arguments are refused before anything starts."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
import torch

from lib.parallel import launch

HERE = Path(__file__).resolve().parent
DATA = {"x": torch.rand(8, 784, dtype=torch.float64), "y": torch.randint(0, 10, (8,))}


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in state


def _pids(directory: Path) -> list[int]:
    return [int(p.read_text()) for p in directory.glob("*.pid")]


def _assert_all_gone(pids: list[int]):
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "a worker outlived its launch"


def test_a_failing_worker_reports_its_error_and_leaves_no_process(tmp_path):
    task = {"kind": "fail", "label": "x", "mode": "fail", "pid_dir": str(tmp_path)}
    with pytest.raises(launch.WorkerError, match="rank 1 failed on purpose") as info:
        launch.run_workers([task], DATA, 2, timeout=120, script=HERE / "failing_worker.py")
    assert "RuntimeError" in info.value.stderr_tail
    pids = _pids(tmp_path)
    assert len(pids) == 2
    _assert_all_gone(pids)


def test_a_launch_past_its_timeout_is_killed_with_every_worker(tmp_path):
    task = {"kind": "sleep", "label": "x", "mode": "sleep", "pid_dir": str(tmp_path)}
    start = time.monotonic()
    with pytest.raises(launch.LaunchTimeout, match="timeout of 30 s"):
        launch.run_workers([task], DATA, 2, timeout=30, script=HERE / "failing_worker.py")
    assert time.monotonic() - start < 45
    pids = _pids(tmp_path)
    assert pids, "the workers never started (the machine too slow for a 30 s timeout?)"
    _assert_all_gone(pids)


def test_a_port_in_use_is_not_a_failure():
    taken = []
    for port in (29500, 29400):                 # torchrun's and c10d rendezvous's default ports
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
            taken.append(s)
        except OSError:                         # already taken by someone else: in use either way
            s.close()
    try:
        task = {"kind": "epoch_gradient", "label": "g", "model": "textbook", "init_seed": 0, "dtype": "float64",
                "examples": 8, "sharding": "uneven"}
        result = launch.run_workers([task], DATA, 2, timeout=120)
    finally:
        for s in taken:
            s.close()
    assert result["world_size"] == 2 and result["backend"] == "gloo"
    assert result["g"]["gradient"].shape == (784 * 64 + 64 + 64 * 16 + 16 + 16 * 10 + 10,)


TASK = {"kind": "sgd", "label": "a"}


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(workers=0), ValueError, "workers must be an int >= 1"),
    (dict(workers=1.5), TypeError, "workers must be an int"),
    (dict(workers=2, timeout=0), ValueError, "timeout"),
    (dict(workers=2, timeout="10"), TypeError, "timeout"),
    (dict(workers=2, threads=0), ValueError, "threads"),
    (dict(workers=2, device="tpu"), ValueError, "unknown device"),
    (dict(workers=2, tasks=[]), TypeError, "tasks must be a non-empty list"),
    (dict(workers=2, tasks=[TASK, TASK]), ValueError, "unique non-empty string label"),
    (dict(workers=2, tasks=[{"kind": "dance", "label": "a"}]), ValueError, "unknown task kind"),
    (dict(workers=2, data={"x": DATA["x"]}), TypeError, "data must be a dict"),
    (dict(workers=2, script="/no/such/worker.py"), ValueError, "is not a file"),
])
def test_bad_arguments_are_refused_before_anything_starts(kwargs, error, match):
    args = dict(tasks=[TASK], data=DATA, timeout=10)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        launch.run_workers(args.pop("tasks"), args.pop("data"), args.pop("workers"), **args)


def test_the_command_is_torchrun_standalone():
    command = launch.torchrun_command(3, "c.json")
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3"]
    assert command[-3:] == ["-m", "lib.parallel.data_parallel", "c.json"]
    assert launch.default_threads(1) == max(1, os.cpu_count() or 1)
