"""Seconds per model-epoch: the idiomatic PyTorch loop against the grid engine.

Run from the repository root (MNIST-sized random data, so no download is needed)::

    python benchmarks/epoch_speed.py            # all batch sizes, grids of 1, 4, 16
    python benchmarks/epoch_speed.py --quick    # a smaller check

(a) the way most tutorials train: ``TensorDataset`` + ``DataLoader(shuffle=True)``,
    one ``nn.Module``, ``torch.optim.SGD``;
(b) :func:`lib.core.engine.train_grid` with K members in lockstep.

Both train the textbook's 784-64-16-10 network for one epoch on 55,000 examples
in the same process, one after the other, so the ratios compare like with like.
Each repeat times everything once, seconds apart; the table's times are the best
of ``--repeats`` repeats (as ``timeit`` reports).  Each ratio is computed within a
repeat and the median over the repeats is printed: a shared VM has slow stretches
of seconds to minutes, which two timings of one repeat share, so a paired ratio
is steadier than the ratio of two minima taken in different stretches (each
repeat's own ratios are printed too).

(c) the *floor*: the time of the epoch's matrix products alone, at the engine's
    own shapes and with its own calls (``addmm``, ``baddbmm``, ``bmm``), measured
    in the same repeats.  It is the epoch's floating-point work over the
    matrix-multiply rate this machine reaches on those shapes; whatever a step
    spends beyond it is element-wise work, allocation and Python.
    ``floor_ratio`` = seconds per model-epoch of the grid of 16 / the floor per
    model-epoch (1.0 would be a step made of nothing but its matrix products).

The last four lines are the headline numbers.

``--compile`` measures ``torch.compile`` (inductor, gcc) on the engine's own fused
step (:class:`lib.core.stacked.FusedSGD`, forward, backward and update as one
compiled function) against the same step eager, in one run, and prints the
compile time, both per-step times and when (if ever) the compile pays back.
On this project's 2-core CPU (torch 2.13) it compiled in 3-6 s per batch shape
(with inductor's kernels of earlier runs cached on disk; more on a fresh machine)
and ran *slower* than eager (batch 16: 817 against 611 us per step of a grid of
16; batch 128: 3616 against 2904 us), so it never pays back; the engine stays
eager, and the line ``grid engine path`` says which path the timings used.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lib.core.data import Splits
from lib.core.device import pick_device
from lib.core.models import textbook_mlp
from lib.core.engine import train_grid
from lib.core.members import Member
from lib.core.models import TEXTBOOK_SIZES
from lib.core.stacked import FusedSGD


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


def gemm_floor(n: int, batch_size: int, members: int, device, calls: int = 20) -> tuple[float, float]:
    """(seconds, flops) of the matrix products of one epoch of a grid of ``members`` textbook
    networks, each product timed alone at the engine's shapes (best of 3 x ``calls`` calls).

    Per step, with layer sizes d_0 = 784 > d_1 > ... and batch B: the forward products
    ``W_l h_{l-1}`` (the first for all K members as one (K*d_1, 784) @ (784, B) GEMM), the
    input gradients ``W_l^T dZ_l`` of every layer but the first, and the weight updates
    ``dZ_l h_{l-1}^T`` added into the weights.  2 flops per multiply-add.
    """
    K, sizes, B = members, TEXTBOOK_SIZES, batch_size
    g = torch.Generator(device="cpu").manual_seed(0)
    rand = lambda *shape: torch.rand(*shape, generator=g).to(device)  # noqa: E731
    ops = []                                          # (callable, flops)
    w0, x, h0 = rand(K * sizes[1], sizes[0]), rand(B, sizes[0]), rand(K * sizes[1], 1)
    ops.append((lambda: torch.addmm(h0, w0, x.t()), 2 * K * sizes[1] * sizes[0] * B))           # forward, layer 1
    dz0 = rand(K * sizes[1], B)
    ops.append((lambda: w0.addmm_(dz0, x), 2 * K * sizes[1] * sizes[0] * B))       # update, layer 1
    for d_in, d_out in zip(sizes[1:-1], sizes[2:]):
        w, h, dz, bias = rand(K, d_out, d_in), rand(K, d_in, B), rand(K, d_out, B), rand(K, d_out, 1)
        flops = 2 * K * d_out * d_in * B
        ops.append((lambda w=w, h=h, bias=bias: torch.baddbmm(bias, w, h), flops))               # forward
        ops.append((lambda w=w, dz=dz: torch.bmm(w.transpose(1, 2), dz), flops))                 # input gradient
        ops.append((lambda w=w, dz=dz, h=h: w.baddbmm_(dz, h.transpose(1, 2)), flops))  # update
    seconds_per_step = 0.0
    for op, _ in ops:
        op()                                                                                    # warm-up
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(calls):
                op()
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, (time.perf_counter() - started) / calls)
        seconds_per_step += best
    steps = n / B                                     # the last, smaller batch counted pro rata
    return seconds_per_step * steps, sum(f for _, f in ops) * steps


def compile_trial(x: torch.Tensor, y: torch.Tensor, batch_size: int, members: int = 16,
                  repeats: int = 3) -> str:
    """One line: ``torch.compile`` on the fused step against the eager fused step, same data and shapes."""
    from lib.core.losses import get as get_loss

    def fused_step() -> FusedSGD:
        modules = [textbook_mlp(k).to(x.device) for k in range(members)]
        params, _ = torch.func.stack_module_state(modules)
        return FusedSGD(modules[0], {k: v.detach() for k, v in params.items()}, get_loss("cross_entropy"))

    def one_step(fused: FusedSGD, xb, yb, lr):
        loss = fused.forward_loss(xb, yb)
        fused.update(lr)
        return loss

    lr = torch.linspace(0.05, 0.8, members, device=x.device).view(members, 1)
    steps = x.shape[0] // batch_size
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0)).to(x.device)
    # batches copied into one pair of buffers, as the engine does (a new tensor per step would also
    # cost the compiled function a recompilation: it guards on the batch it was traced with)
    xb, yb = x.new_empty(batch_size, x.shape[1]), y.new_empty(batch_size)
    try:
        torch._dynamo.reset()                    # a fresh start per batch size: static shapes, no stale guards
        import torch._inductor.config as inductor_config
        inductor_config.fx_graph_cache = False   # a cold compile, as a fresh Binder or CI machine pays it
        compiled = torch.compile(one_step, dynamic=False)
        target = fused_step()
        started = time.perf_counter()
        for _ in range(3):                       # the trace, and the retrace once the step's views are cached
            compiled(target, xb.copy_(x[:batch_size]), yb.copy_(y[:batch_size]), lr)
        compile_seconds = time.perf_counter() - started
    except Exception as error:                   # no compiler, unsupported platform: say so, keep eager
        return f"{batch_size:>6}  torch.compile unavailable here ({type(error).__name__}: {error}); eager only"
    best = {"eager": float("inf"), "compiled": float("inf")}
    steppers = {"eager": (one_step, fused_step()), "compiled": (compiled, target)}
    for _ in range(max(1, repeats)):
        for name, (fn, fused) in steppers.items():
            started = time.perf_counter()
            for j in range(steps):
                index = order[j * batch_size:(j + 1) * batch_size]
                torch.index_select(x, 0, index, out=xb)
                torch.index_select(y, 0, index, out=yb)
                fn(fused, xb, yb, lr)
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], (time.perf_counter() - started) / steps)
    gain = best["eager"] - best["compiled"]
    verdict = (f"pays back after {compile_seconds / gain:,.0f} steps" if gain > 0
               else "slower than eager: never pays back")
    return (f"{batch_size:>6}  compile {compile_seconds:5.1f} s   per step eager {best['eager'] * 1e6:7.0f} us, "
            f"compiled {best['compiled'] * 1e6:7.0f} us   {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples, for a smoke test")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="repeats per timing: the best time, the median paired ratio (default 5)")
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile on the fused step against the eager step")
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    n = 5_500 if args.quick else 55_000
    x = torch.rand(n, 784, device=device)
    y = torch.randint(0, 10, (n,), device=device)
    data = Splits(x, y, x[:1], y[:1])
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{n} examples, seconds per model-epoch")
    path = ("the fused hand-derived step (lib.core.stacked.FusedSGD), eager"
            if FusedSGD.supports(textbook_mlp(0)) else "autograd through torch.func.vmap")
    print(f"grid engine path: {path}")
    print("times: the best of the repeats; ratios: the median over the repeats of each repeat's own ratio")
    print(f"{'batch':>6} {'idiomatic':>10} {'grid1':>8} {'grid4':>8} {'grid16':>8} "
          f"{'x grid1':>8} {'x grid4':>8} {'x grid16':>8}")
    headline, floors, paired = {}, {}, {}
    for batch_size in (16, 32, 128):
        runs = []                                     # one dict of timings per repeat, taken seconds apart
        for _ in range(max(1, args.repeats)):
            timings = {"idiomatic": idiomatic_epoch(x, y, batch_size)}
            for k in (1, 4, 16):
                timings[k] = grid_epoch(data, batch_size, k) / k                  # per model-epoch
            seconds, flops = gemm_floor(n, batch_size, 16, device)
            timings["floor"] = seconds / 16                                        # per model-epoch
            runs.append(timings)
        best = {key: min(r[key] for r in runs) for key in runs[0]}
        # A shared VM has slow stretches lasting seconds to minutes; two timings of one repeat
        # share its stretch, so their ratio is steadier than the ratio of two separate minima.
        speedups = {k: [r["idiomatic"] / r[k] for r in runs] for k in (1, 4, 16)}
        over_floor = [r[16] / r["floor"] for r in runs]
        paired[batch_size] = (speedups[16], over_floor)
        floors[batch_size] = (best["floor"], flops / 16, statistics.median(over_floor))
        headline[batch_size] = statistics.median(speedups[16])
        print(f"{batch_size:>6} {best['idiomatic']:>10.3f} " + " ".join(f"{best[k]:>8.3f}" for k in (1, 4, 16))
              + " " + " ".join(f"{statistics.median(speedups[k]):>7.1f}x" for k in (1, 4, 16)))
    print("floor: the grid of 16's matrix products alone, seconds per model-epoch "
          "(GFLOP per model-epoch, GFLOP/s they ran at, the grid's time over the floor)")
    for batch_size, (floor, flops, ratio) in floors.items():
        print(f"{batch_size:>6} {floor:>10.3f}  {flops / 1e9:6.2f} GFLOP  {flops / floor / 1e9:6.1f} GFLOP/s  "
              f"{ratio:5.2f}x the floor")
    print("each repeat's own ratios, grid of 16 (speed-up over the idiomatic loop | time over the floor):")
    for batch_size, (speedups, over_floor) in paired.items():
        print(f"{batch_size:>6}  " + " ".join(f"{v:5.2f}" for v in speedups) + "  |  "
              + " ".join(f"{v:5.2f}" for v in over_floor))
    print(f"floor_ratio_grid16_bs128: {floors[128][2]:.2f}")
    print(f"floor_ratio_grid16_bs16: {floors[16][2]:.2f}")
    print(f"speedup_grid16_bs128: {headline[128]:.2f}")
    print(f"speedup_grid16_bs16: {headline[16]:.2f}")
    if args.compile:
        print("torch.compile on the fused step of a grid of 16 (inductor), against the same step eager:")
        for batch_size in (16, 128):
            print(compile_trial(x, y, batch_size, repeats=args.repeats))


if __name__ == "__main__":
    main()
