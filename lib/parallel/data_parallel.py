"""Data-parallel SGD with ``torch.distributed``: the worker that ``torchrun`` starts once per process.

Every process (a *rank*) holds a full copy of the network and takes its own
slice of each global batch: with ``W`` processes and a global batch of ``B``
examples, rank ``r`` computes the gradient of the mean loss over examples
``r*B/W ... (r+1)*B/W - 1`` of the batch, and
:class:`~torch.nn.parallel.DistributedDataParallel` (DDP) averages the ``W``
gradients with an all-reduce during the backward pass (Li et al. 2020), so every
process applies the same update, the one a single process would compute on the
whole batch.  The backend is gloo on the CPU and NCCL on CUDA.

This file is a script: the notebook never imports it to train, it starts it in
fresh processes (:func:`lib.parallel.launch.run_workers`)::

    OMP_NUM_THREADS=1 python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m lib.parallel.data_parallel CONFIG.json

``CONFIG.json`` names the data file (a ``torch.save`` dict with ``x`` (N, 784)
float, ``y`` (N,) int64 and optionally ``x_val``, ``y_val``), the file rank 0
writes its results to (``.npz``, keys ``"<label>/<name>"``), and a list of tasks:

``sgd``          K updates at global batch B (float64 for the equivalence check): final weights,
                 the first averaged gradient, losses, and each update's local and all-reduced
                 squared gradient norms read by a DDP communication hook (the noise scale for free);
``epoch_gradient``  one gradient over N examples sharded by ``DistributedSampler`` (which pads
                 unequal shards by repeating examples) or by uneven shards with a correctly
                 weighted sum;
``noise``        many gradients at fixed weights: the local (B/W) and all-reduced (B) squared norms;
``timing``       seconds per update with DDP (compute + all-reduce) and under ``no_sync()``
                 (compute only), and ``dist.all_reduce`` of the flat gradient and of given sizes alone;
``scaling``      linear scaling of the rate with warm-up (Goyal et al. 2017) at several global batches.

Functions here are also imported by :mod:`lib.parallel.experiments` for the
single-process reference (:func:`global_order`, :func:`single_process_sgd`), so
both sides take the same examples in the same order.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils import parameters_to_vector
from torch.utils.data.distributed import DistributedSampler

from lib.core.device import seeded_generator
from lib.core.models import build_model, small_cnn

DTYPES = {"float32": torch.float32, "float64": torch.float64}
REDUCTIONS = ("mean", "sum")


# --------------------------------------------------------------------------- shared with the single-process reference

def global_order(n: int, count: int, seed: int) -> torch.Tensor:
    """(count,) int64: example indices in training order, epoch after epoch of seeded permutations of ``range(n)``.

    Epoch ``e`` is ``torch.randperm(n)`` from a generator seeded with ``seed + e``;
    every process computes the same order and takes its own slice of each batch.
    """
    epochs = math.ceil(count / n)
    return torch.cat([torch.randperm(n, generator=seeded_generator(seed + e)) for e in range(epochs)])[:count]


def make_model(name: str, init_seed: int, dtype: torch.dtype, device: torch.device) -> torch.nn.Module:
    """The chapter's network ``name`` from ``init_seed``, in ``dtype`` on ``device``.

    ``name`` is one of :data:`lib.core.models.MODELS` or ``"cnn_no_bn"`` (the CNN without batch norm).
    """
    if name == "cnn_no_bn":
        return small_cnn(init_seed, batch_norm=False).to(device=device, dtype=dtype)
    return build_model(name, init_seed).to(device=device, dtype=dtype)


def single_process_sgd(x: torch.Tensor, y: torch.Tensor, *, model: str, init_seed: int, dtype: str,
                       global_batch: int, steps: int, rate: float, seed: int, reduction: str = "mean") -> dict:
    """The reference: one process, plain ``torch.optim.SGD`` at batch ``global_batch``, the same order.

    Returns ``{"params": (P,), "first_gradient": (P,), "loss": (steps,)}`` (float64 NumPy arrays).
    """
    torch_dtype = DTYPES[dtype]
    net = make_model(model, init_seed, torch_dtype, x.device)
    optimizer = torch.optim.SGD(net.parameters(), lr=rate)
    x = x.to(torch_dtype)
    order = global_order(x.shape[0], steps * global_batch, seed)
    losses, first = [], None
    for step in range(steps):
        idx = order[step * global_batch:(step + 1) * global_batch]
        loss = F.cross_entropy(net(x[idx]), y[idx], reduction=reduction)
        optimizer.zero_grad()
        loss.backward()
        if first is None:
            first = _flat_grad(net)
        optimizer.step()
        losses.append(float(loss.detach()))
    return {"params": _numpy(parameters_to_vector(net.parameters())), "first_gradient": _numpy(first),
            "loss": np.array(losses)}


# --------------------------------------------------------------------------- helpers

def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy().copy()


def _flat_grad(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()]).detach().clone()


class _LocalNorm:
    """State of :func:`_recording_hook`: the squared norm of this process's own gradient."""

    def __init__(self):
        self.squared = 0.0


def _recording_hook(state: _LocalNorm, bucket):
    """A DDP communication hook: note the local gradient's squared norm, then all-reduce as DDP would.

    DDP hands each bucket of gradients to the hook *before* averaging, so the
    local (batch B/W) gradient is read at no extra cost; ``allreduce_hook`` is
    DDP's own default (divide by W, all-reduce).
    """
    state.squared += float(bucket.buffer().to(torch.float64).pow(2).sum())
    return default_hooks.allreduce_hook(None, bucket)


class _Run:
    """What every task needs: rank, world size, device, the data in the task's dtype."""

    def __init__(self, data: dict, device: torch.device):
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.device = device
        self.data = data

    def tensors(self, dtype: torch.dtype, split: str = ""):
        return (self.data[f"x{split}"].to(self.device, dtype), self.data[f"y{split}"].to(self.device))

    def ddp(self, net: torch.nn.Module) -> DistributedDataParallel:
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(net, device_ids=ids)

    def mean_over_ranks(self, value: float) -> float:
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t) / self.world

    def max_over_ranks(self, values) -> np.ndarray:
        t = torch.tensor(np.asarray(values, dtype=np.float64), device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.cpu().numpy()

    def local(self, idx: torch.Tensor, global_batch: int) -> torch.Tensor:
        b = global_batch // self.world
        return idx[self.rank * b:(self.rank + 1) * b]

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


# --------------------------------------------------------------------------- tasks

def _recording_sgd(run: _Run, t: dict):
    """The task's data, network, its DDP wrapper with the hook that records each process's local
    gradient norm before the all-reduce, and plain SGD at the task's rate."""
    dtype = DTYPES[t["dtype"]]
    x, y = run.tensors(dtype)
    net = make_model(t["model"], t["init_seed"], dtype, run.device)
    ddp = run.ddp(net)
    norm = _LocalNorm()
    ddp.register_comm_hook(norm, _recording_hook)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=t["rate"])
    return x, y, net, ddp, norm, optimizer


def task_sgd(run: _Run, t: dict) -> dict:
    x, y, net, ddp, norm, optimizer = _recording_sgd(run, t)
    B, steps = t["global_batch"], t["steps"]
    order = global_order(x.shape[0], steps * B, t["seed"])
    losses, small, big, first = [], [], [], None
    for step in range(steps):
        idx = run.local(order[step * B:(step + 1) * B], B)
        loss = F.cross_entropy(ddp(x[idx]), y[idx], reduction=t["reduction"])
        optimizer.zero_grad()
        norm.squared = 0.0
        loss.backward()                                        # DDP all-reduces (averages) the gradients here
        averaged = _flat_grad(net)
        if first is None:
            first = averaged
        small.append(run.mean_over_ranks(norm.squared))        # mean over ranks of |local gradient|^2 (batch B/W)
        big.append(float(averaged.double().pow(2).sum()))      # |all-reduced gradient|^2 (batch B)
        optimizer.step()
        losses.append(run.mean_over_ranks(float(loss.detach())))
    return {"params": _numpy(parameters_to_vector(net.parameters())), "first_gradient": _numpy(first),
            "loss": np.array(losses), "small_sq_norm": np.array(small), "big_sq_norm": np.array(big)}


def task_epoch_gradient(run: _Run, t: dict) -> dict:
    dtype = DTYPES[t["dtype"]]
    x, y = run.tensors(dtype)
    n = t["examples"]
    net = make_model(t["model"], t["init_seed"], dtype, run.device)
    ddp = run.ddp(net)
    if t["sharding"] == "sampler":             # what a DataLoader with DistributedSampler hands each rank
        sampler = DistributedSampler(range(n), num_replicas=run.world, rank=run.rank, shuffle=False,
                                     drop_last=False)
        idx = torch.tensor(list(sampler))
        loss = F.cross_entropy(ddp(x[idx]), y[idx])                         # mean over the local shard
    elif t["sharding"] == "uneven":            # shards of unequal size, each example once, weighted sum
        idx = torch.tensor(np.array_split(np.arange(n), run.world)[run.rank])
        loss = F.cross_entropy(ddp(x[idx]), y[idx], reduction="sum") * run.world / n
    else:
        raise ValueError(f"unknown sharding {t['sharding']!r}; allowed: 'sampler', 'uneven'")
    loss.backward()
    counts = run.max_over_ranks(np.eye(run.world)[run.rank] * idx.numel())
    return {"gradient": _numpy(_flat_grad(net)), "shard_sizes": counts}


def task_noise(run: _Run, t: dict) -> dict:
    x, y, net, ddp, norm, optimizer = _recording_sgd(run, t)
    B, pre, draws = t["global_batch"], t["pretrain"], t["draws"]
    order = global_order(x.shape[0], (pre + draws) * B, t["seed"])
    small, big = [], []
    for step in range(pre + draws):
        idx = run.local(order[step * B:(step + 1) * B], B)
        optimizer.zero_grad()
        norm.squared = 0.0
        F.cross_entropy(ddp(x[idx]), y[idx]).backward()
        if step < pre:
            optimizer.step()                    # move off the initial weights, then hold them fixed
        else:
            small.append(run.mean_over_ranks(norm.squared))
            big.append(float(_flat_grad(net).double().pow(2).sum()))
    return {"params": _numpy(parameters_to_vector(net.parameters())), "small_sq_norm": np.array(small),
            "big_sq_norm": np.array(big), "b_small": np.array(B // run.world), "b_big": np.array(B)}


def task_timing(run: _Run, t: dict) -> dict:
    dtype = DTYPES[t["dtype"]]
    x, y = run.tensors(dtype)
    net = make_model(t["model"], t["init_seed"], dtype, run.device)
    ddp = run.ddp(net)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=t["rate"])
    B = t["global_batch"]
    idx = run.local(torch.arange(B), B)
    xb, yb = x[idx], y[idx]

    def update(synchronise: bool):
        with (contextlib.nullcontext() if synchronise else ddp.no_sync()):
            loss = F.cross_entropy(ddp(xb), yb)
            optimizer.zero_grad()
            loss.backward()
        optimizer.step()

    def seconds(fn, count):
        dist.barrier()
        run.sync()
        start = time.perf_counter()
        for _ in range(count):
            fn()
        run.sync()
        return (time.perf_counter() - start) / count

    updates = t["updates"]
    for _ in range(3):                                     # warm-up: allocations, DDP's first-iteration set-up
        update(True)
        update(False)
    flat = torch.cat([p.grad.reshape(-1) for p in net.parameters()]).detach().clone()
    full, compute, reduce_ = [], [], []
    for _ in range(t["repeats"]):
        full.append(seconds(lambda: update(True), updates))
        compute.append(seconds(lambda: update(False), updates))
        reduce_.append(seconds(lambda: dist.all_reduce(flat), updates))
    sizes = [int(size) for size in t.get("allreduce_sizes", ())]
    buffers = [torch.zeros(size, dtype=torch.float32, device=run.device) for size in sizes]
    for buffer in buffers:
        dist.all_reduce(buffer)                            # warm-up: gloo sets up each message size once
    size_seconds = [float("inf")] * len(sizes)
    for _ in range(t["repeats"]):                          # sizes interleaved, best of the repeats for each
        for i, buffer in enumerate(buffers):
            size_seconds[i] = min(size_seconds[i], seconds(lambda: dist.all_reduce(buffer), max(2, updates // 2)))
    # the slowest rank sets the pace: max over ranks of each timing, then the best repeat
    full, compute, reduce_ = (run.max_over_ranks(v) for v in (full, compute, reduce_))
    return {"update_seconds": np.array(full.min()), "compute_seconds": np.array(compute.min()),
            "allreduce_seconds": np.array(reduce_.min()), "parameters": np.array(flat.numel()),
            "local_batch": np.array(B // run.world), "allreduce_sizes": np.array(sizes, dtype=np.int64),
            "allreduce_size_seconds": run.max_over_ranks(size_seconds) if sizes else np.zeros(0),
            "threads": np.array(torch.get_num_threads())}


def task_scaling(run: _Run, t: dict) -> dict:
    dtype = DTYPES[t["dtype"]]
    x, y = run.tensors(dtype)
    x_val, y_val = run.tensors(dtype, "_val")
    n = x.shape[0]
    out = {}
    for B in t["batches"]:
        for warm in (True, False):
            net = make_model(t["model"], t["init_seed"], dtype, run.device)
            ddp = run.ddp(net)
            rate = t["base_rate"] * B / t["base_batch"]                    # the linear scaling rule
            optimizer = torch.optim.SGD(ddp.parameters(), lr=rate)
            per_epoch = n // B
            warm_steps = max(1, round(t["warmup_epochs"] * per_epoch)) if warm else 0
            scheduler = (torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=t["warmup_start_factor"],
                                                           end_factor=1.0, total_iters=warm_steps)
                         if warm_steps else None)
            total = t["epochs"] * per_epoch
            order = global_order(n, total * B, t["seed"])
            losses = []
            for step in range(total):
                idx = run.local(order[step * B:(step + 1) * B], B)
                loss = F.cross_entropy(ddp(x[idx]), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                losses.append(run.mean_over_ranks(float(loss.detach())))
            with torch.no_grad():
                logits = net(x_val)
                val_loss = float(F.cross_entropy(logits, y_val))
                val_acc = float((logits.argmax(1) == y_val).double().mean())
            key = f"{B}_{'warmup' if warm else 'constant'}"
            out[f"train_loss_{key}"] = np.array(losses)
            out[f"val_loss_{key}"] = np.array(val_loss if math.isfinite(val_loss) else np.nan)
            out[f"val_accuracy_{key}"] = np.array(val_acc)
            out[f"rate_{key}"] = np.array(rate)
            out[f"updates_{key}"] = np.array(total)
    return out


TASKS = {"sgd": task_sgd, "epoch_gradient": task_epoch_gradient, "noise": task_noise, "timing": task_timing,
         "scaling": task_scaling}


# --------------------------------------------------------------------------- the script

def main(argv: list[str] | None = None) -> int:
    """Run the tasks of the config file ``argv[0]`` in this rank; rank 0 writes the results."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: torchrun ... -m lib.parallel.data_parallel CONFIG.json")
    config = json.loads(Path(argv[0]).read_text())
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    if config.get("device", "cpu") == "cuda":
        local_rank = int(os.environ["LOCAL_RANK"])
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend)
    try:
        data = torch.load(config["data"], map_location="cpu")
        run = _Run(data, device)
        results = {}
        for task in config["tasks"]:
            if task["kind"] not in TASKS:
                raise ValueError(f"unknown task kind {task['kind']!r}; allowed: {sorted(TASKS)}")
            for name, value in TASKS[task["kind"]](run, task).items():
                results[f"{task['label']}/{name}"] = np.asarray(value)
        results["world_size"] = np.array(run.world)
        results["backend"] = np.array(backend)
        if run.rank == 0:
            partial = Path(config["out"]).with_suffix(".partial.npz")
            np.savez(partial, **results)
            os.replace(partial, config["out"])           # the caller never sees a half-written file
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
