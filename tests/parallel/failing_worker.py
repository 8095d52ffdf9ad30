"""A worker script for tests/parallel/test_launch.py (not a test): misbehaves on purpose.

Every rank writes its process id to ``<pid_dir>/<rank>.pid``; then, by the first task's ``mode``:
``fail``: rank 1 raises while rank 0 blocks in a collective; ``sleep``: every rank sleeps.
"""
import json
import os
import sys
import time
from pathlib import Path

config = json.loads(Path(sys.argv[1]).read_text())
task = config["tasks"][0]
rank = int(os.environ["RANK"])                  # set by torchrun; the pid is written before the slow imports
Path(task["pid_dir"], f"{rank}.pid").write_text(str(os.getpid()))

import torch.distributed as dist  # noqa: E402

dist.init_process_group("gloo")
if task["mode"] == "fail":
    if rank == 1:
        time.sleep(0.5)
        raise RuntimeError("rank 1 failed on purpose")
    dist.barrier()                      # rank 0 waits for a rank that never comes
    time.sleep(600)
else:
    time.sleep(600)
