"""Seconds per model-epoch: the idiomatic PyTorch loop against the grid engine.

Run from the repository root (MNIST-sized random data, so no download is needed)::

    python benchmarks/epoch_speed.py            # all batch sizes, grids of 1, 4, 16
    python benchmarks/epoch_speed.py --quick    # a smaller check

(a) the way most tutorials train: ``TensorDataset`` + ``DataLoader(shuffle=True)``,
    one ``nn.Module``, ``torch.optim.SGD``;
(b) :func:`lib.core.engine.train_grid` with K members in lockstep.

Both train the textbook's 784-64-16-10 network for one epoch on 55,000 examples
in the same process, one after the other, so the ratios compare like with like.
Each time is the best of ``--repeats`` interleaved runs (as ``timeit`` reports),
which filters out other processes' interference on a shared machine.
The last two lines are the headline numbers.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lib.core.data import Splits
from lib.core.device import pick_device
from lib.core.models import textbook_mlp
from lib.core.engine import train_grid
from lib.core.members import Member


def idiomatic_epoch(x, y, batch_size: int, lr: float = 0.1) -> float:
    model = textbook_mlp(0).to(x.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def grid_epoch(data: Splits, batch_size: int, members: int) -> float:
    grid = [Member(lr=0.05 * (k + 1)) for k in range(members)]
    run = train_grid(grid, data, batch_size=batch_size, epochs=1, eval_every=1,
                     train_eval_size=1, progress=False)
    return run.history.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples, for a smoke test")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per timing")
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    n = 5_500 if args.quick else 55_000
    x = torch.rand(n, 784, device=device)
    y = torch.randint(0, 10, (n,), device=device)
    data = Splits(x, y, x[:1], y[:1])
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{n} examples, seconds per model-epoch")
    print(f"{'batch':>6} {'idiomatic':>10} {'grid1':>8} {'grid4':>8} {'grid16':>8} "
          f"{'x grid1':>8} {'x grid4':>8} {'x grid16':>8}")
    headline = {}
    for batch_size in (16, 32, 128):
        baseline, per_model = float("inf"), {k: float("inf") for k in (1, 4, 16)}
        for _ in range(max(1, args.repeats)):
            baseline = min(baseline, idiomatic_epoch(x, y, batch_size))
            for k in per_model:
                per_model[k] = min(per_model[k], grid_epoch(data, batch_size, k) / k)
        ratios = {k: baseline / t for k, t in per_model.items()}
        headline[batch_size] = ratios[16]
        print(f"{batch_size:>6} {baseline:>10.3f} " + " ".join(f"{per_model[k]:>8.3f}" for k in (1, 4, 16))
              + " " + " ".join(f"{ratios[k]:>7.1f}x" for k in (1, 4, 16)))
    print(f"speedup_grid16_bs128: {headline[128]:.2f}")
    print(f"speedup_grid16_bs16: {headline[16]:.2f}")


if __name__ == "__main__":
    main()
