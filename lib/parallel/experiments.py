"""The data-parallel experiments: launch the workers, run the single-process references, compare.

:func:`run_study` makes one ``torchrun`` launch per process count W
(:func:`lib.parallel.launch.run_workers`); the launch with the most processes
carries every experiment, the others only the timing.  It returns a
:class:`Study` of plain numbers and arrays:

(a) equivalence: W processes at local batch B/W against one process at batch B (float64);
(b) what breaks it: a summed loss, ``DistributedSampler``'s padding of unequal shards,
    per-process batch-norm statistics, each measured against its single-process truth;
(c) cost: seconds per update split into compute and all-reduce, and the scaling efficiency;
(d) the gradient noise scale of McCandlish et al. (2018) from the local and all-reduced gradients,
    against the per-example estimator of :mod:`lib.batch_size.gradient_noise`;
(e) the linear scaling rule with warm-up (Goyal et al. 2017) at several global batch sizes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils import vector_to_parameters

from lib.batch_size import gradient_noise
from lib.core import checks
from lib.core.data import Splits

from . import launch
from .data_parallel import DTYPES, make_model, single_process_sgd
from .settings import Settings

#: Threads per worker process: one, so that each process stands for one device and W processes use W cores
#: (and so that no process's threads wait for each other on a machine busy with other programs).
THREADS_PER_PROCESS = 1


def relative_difference(a, b) -> float:
    """:math:`\\|a - b\\| / \\|b\\|` of two flat arrays (``b`` the reference)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def full_gradient(x: torch.Tensor, y: torch.Tensor, *, model: str, init_seed: int, dtype: str) -> np.ndarray:
    """(P,): the gradient of the mean loss over all of (x, y) at the initial weights, one process."""
    net = make_model(model, init_seed, DTYPES[dtype], x.device)
    F.cross_entropy(net(x.to(DTYPES[dtype])), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()]).double().numpy()


@dataclass(frozen=True)
class Timing:
    """Seconds per update at one process count (the slowest process, best repeat).

    Attributes:
        workers (int): processes W.  threads (int): threads per process.
        global_batch (int), local_batch (int): examples per update, in all and per process.
        update (float): a DDP update (forward, backward with all-reduce, step), seconds.
        compute (float): the same under ``no_sync()`` (no all-reduce), seconds.
        allreduce (float): ``dist.all_reduce`` of the flat gradient alone, seconds.
        parameters (int): the gradient's length (float32 elements).
    """

    workers: int
    threads: int
    global_batch: int
    local_batch: int
    update: float
    compute: float
    allreduce: float
    parameters: int

    @property
    def communication(self) -> float:
        """Seconds per update that communication adds: update - compute (>= 0)."""
        return max(self.update - self.compute, 0.0)

    @property
    def examples_per_second(self) -> float:
        return self.global_batch / self.update


@dataclass(frozen=True)
class Study:
    """Everything :func:`run_study` measured (see the module's docstring for (a)-(e)).

    Differences are relative, :math:`\\|\\cdot - {\\rm ref}\\|/\\|{\\rm ref}\\|`, over the flat
    weights (``*_params``) or the first update's gradient (``*_gradient``).
    """

    workers: int
    backend: str
    global_batch: int
    steps: int
    equivalence_params: float            # (a) weights after `steps` updates, W processes vs one
    equivalence_gradient: float          # (a) first averaged gradient vs one process's
    equivalence_loss: float              # (a) max |loss difference| over the updates
    sum_gradient_ratio: float            # (b) |DDP gradient| / |one process's gradient| with a summed loss
    sum_params: float                    # (b) weights after `steps` updates with a summed loss
    padded_examples: int                 # (b) examples of the unequal-shard pass
    shard_sizes: tuple[int, ...]         # (b) what DistributedSampler handed each process
    padded_gradient: float               # (b) DistributedSampler's padded gradient vs the full one
    uneven_gradient: float               # (b) uneven shards, weighted sum, vs the full one
    bn_gradient: float                   # (b) CNN with batch norm: first gradient vs one process's
    bn_params: float                     # (b) its weights after `steps` updates
    nobn_gradient: float                 # (b) the same CNN without batch norm (control)
    timings: tuple[Timing, ...]          # (c) one per W, W = 1 first
    allreduce_sizes: np.ndarray          # (c) float32 elements all-reduced alone
    allreduce_seconds: np.ndarray        # (c) seconds each took (W = workers)
    noise_b_small: int                   # (d) local batch
    noise_b_big: int                     # (d) global batch
    noise_draws: int                     # (d) batches drawn at the fixed weights
    noise_g_squared: float               # (d) |G|^2 from the local and all-reduced norms
    noise_trace: float                   # (d) tr(Sigma) from them
    per_example: gradient_noise.GradientStatistics  # (d) the per-example estimator at the same weights
    along_training: np.ndarray           # (d) smoothed B_simple along the equivalence run's updates
    scaling: dict = field(default_factory=dict)     # (e) batch -> {variant: (val loss, accuracy, rate, updates)}

    @property
    def noise_b_simple(self) -> float:
        """:math:`B_{\\rm simple} = \\operatorname{tr}\\Sigma/|G|^2` from the data-parallel norms."""
        return self.noise_trace / self.noise_g_squared

    def efficiency(self, workers: int) -> float:
        """Scaling efficiency at the same global batch, :math:`T_1/(W\\,T_W)`: the speed-up over
        one process divided by the ideal speed-up W; 1 is ideal.

        Raises:
            ValueError: ``workers`` was not timed (or W = 1 was not)."""
        by_w = {t.workers: t for t in self.timings}
        if 1 not in by_w or workers not in by_w:
            raise ValueError(f"workers must be one of the timed counts {sorted(by_w)} (and 1 timed), got {workers}")
        return by_w[1].update / (workers * by_w[workers].update)

    def speedup(self, workers: int) -> float:
        """:math:`T_1/T_W` at the same global batch."""
        by_w = {t.workers: t for t in self.timings}
        return by_w[1].update / by_w[workers].update


def _tasks(s: Settings, workers: int) -> list[dict]:
    common = dict(init_seed=0, seed=0, rate=s.rate)
    sgd = dict(kind="sgd", global_batch=s.global_batch, steps=s.steps, dtype="float64", reduction="mean", **common)
    return [
        dict(sgd, label="equivalence", model="textbook"),
        dict(sgd, label="summed", model="textbook", reduction="sum"),
        dict(sgd, label="batch_norm", model="cnn"),
        dict(sgd, label="no_batch_norm", model="cnn_no_bn", steps=1),
        dict(kind="epoch_gradient", label="padded", model="textbook", init_seed=0, dtype="float64",
             examples=s.padded_examples, sharding="sampler"),
        dict(kind="epoch_gradient", label="uneven", model="textbook", init_seed=0, dtype="float64",
             examples=s.padded_examples, sharding="uneven"),
        dict(kind="noise", label="noise", model="textbook", dtype="float64", global_batch=s.noise_batch,
             draws=s.noise_draws, pretrain=s.noise_pretrain, **common),
        _timing_task(s),
        dict(kind="scaling", label="scaling", model="textbook", dtype="float32", init_seed=0, seed=0,
             batches=list(s.scaling_batches), base_batch=s.scaling_base_batch, base_rate=s.scaling_base_rate,
             epochs=s.scaling_epochs, warmup_epochs=s.warmup_epochs, warmup_start_factor=s.warmup_start_factor),
    ]


def _timing_task(s: Settings) -> dict:
    return dict(kind="timing", label="timing", model="textbook", dtype="float32", init_seed=0, rate=0.1,
                global_batch=s.timing_batch, updates=s.timing_updates, repeats=s.timing_repeats,
                allreduce_sizes=list(s.allreduce_sizes))


def _timing(record: dict, workers: int, threads: int) -> Timing:
    return Timing(workers, threads, int(record["local_batch"]) * workers, int(record["local_batch"]),
                  float(record["update_seconds"]), float(record["compute_seconds"]),
                  float(record["allreduce_seconds"]), int(record["parameters"]))


def _check(data: Splits, s: Settings) -> tuple[int, ...]:
    if not isinstance(s, Settings):
        raise TypeError(f"settings must be lib.parallel.settings.Settings, got {type(s).__name__}")
    data = checks.splits(data, validation=True)
    workers = checks.integers(s.workers, "settings.workers", minimum=1, distinct=True)
    if workers[0] != 1 or len(workers) < 2:
        raise ValueError(f"settings.workers must start with 1 and hold another count, got {workers}")
    n = data.x_train.shape[0]
    for name in ("global_batch", "timing_batch", "noise_batch", *()):
        b = getattr(s, name)
        for w in workers:
            if b % w:
                raise ValueError(f"settings.{name}={b} must be a multiple of every process count {workers}")
        checks.batch_size(b, n, f"settings.{name}")
    for b in s.scaling_batches:
        if b % workers[-1] or b > n:
            raise ValueError(f"every entry of settings.scaling_batches must be a multiple of {workers[-1]} "
                             f"and at most {n}, got {b}")
    if s.padded_examples % workers[-1] == 0 or s.padded_examples > n:
        raise ValueError(f"settings.padded_examples must not be a multiple of {workers[-1]} (the point is "
                         f"unequal shards) and at most {n}, got {s.padded_examples}")
    return workers


def run_study(data: Splits, settings: Settings, *, device: str = "cpu") -> Study:
    """Run (a)-(e) data-parallel with the largest of ``settings.workers`` and time the others.

    Args:
        data (Splits): MNIST (or any 784-input, 10-class data) with a validation split; the
            first ``settings.n_train`` / ``n_val`` examples are used.
        settings (Settings): the sizes (:mod:`lib.parallel.settings`).
        device (str): ``"cpu"`` (gloo) or ``"cuda"`` (NCCL; one GPU per process).

    Returns:
        Study.

    Raises:
        TypeError, ValueError: bad settings or data (before anything starts);
        lib.parallel.launch.WorkerError: a worker failed (its traceback in the message).
    """
    workers = _check(data, settings)
    s = settings
    x, y = data.x_train[:s.n_train].cpu(), data.y_train[:s.n_train].cpu()
    shared = {"x": x, "y": y, "x_val": data.x_val[:s.n_val].cpu(), "y_val": data.y_val[:s.n_val].cpu()}
    timings = []
    for w in workers[:-1]:
        result = launch.run_workers([_timing_task(s)], shared, w, timeout=s.launch_timeout, device=device,
                                    threads=THREADS_PER_PROCESS)
        timings.append(_timing(result["timing"], w, THREADS_PER_PROCESS))
    W = workers[-1]
    r = launch.run_workers(_tasks(s, W), shared, W, timeout=s.launch_timeout, device=device,
                           threads=THREADS_PER_PROCESS)
    timings.append(_timing(r["timing"], W, THREADS_PER_PROCESS))

    # (a) and (b): the single-process truths, in this process
    ref = {}
    for label, model, reduction in (("equivalence", "textbook", "mean"), ("summed", "textbook", "sum"),
                                    ("batch_norm", "cnn", "mean")):
        ref[label] = single_process_sgd(x, y, model=model, init_seed=0, dtype="float64", global_batch=s.global_batch,
                                        steps=s.steps, rate=s.rate, seed=0, reduction=reduction)
    ref["no_batch_norm"] = single_process_sgd(x, y, model="cnn_no_bn", init_seed=0, dtype="float64",
                                              global_batch=s.global_batch, steps=1, rate=s.rate, seed=0)
    full = full_gradient(x[:s.padded_examples], y[:s.padded_examples], model="textbook", init_seed=0,
                         dtype="float64")

    # (d): the per-example estimator at the weights the workers held fixed, with the exact G of the data
    noise = r["noise"]
    net = make_model("textbook", 0, torch.float64, torch.device("cpu"))
    vector_to_parameters(torch.from_numpy(noise["params"]), net.parameters())
    xd = x.double()
    exact_g = gradient_noise.batch_gradient(net, xd, y)
    per_example = gradient_noise.per_example_statistics(net, xd[:s.noise_examples], y[:s.noise_examples],
                                                        mean_gradient=exact_g)
    b_small, b_big = int(noise["b_small"]), int(noise["b_big"])
    g2, trace = gradient_noise.two_batch_estimates(noise["small_sq_norm"], noise["big_sq_norm"], b_small, b_big)
    eq = r["equivalence"]
    g2_t, tr_t = gradient_noise.two_batch_estimates(eq["small_sq_norm"], eq["big_sq_norm"],
                                                    s.global_batch // W, s.global_batch)
    along = gradient_noise.smoothed_b_simple(g2_t, tr_t, 0.9)

    scaling = {}
    sc = r["scaling"]
    for b in s.scaling_batches:
        scaling[int(b)] = {v: (float(sc[f"val_loss_{b}_{v}"]), float(sc[f"val_accuracy_{b}_{v}"]),
                               float(sc[f"rate_{b}_{v}"]), int(sc[f"updates_{b}_{v}"]))
                           for v in ("warmup", "constant")}
    first_loss_gap = float(np.max(np.abs(eq["loss"] - ref["equivalence"]["loss"])))
    return Study(
        workers=W, backend=str(r["backend"]), global_batch=s.global_batch, steps=s.steps,
        equivalence_params=relative_difference(eq["params"], ref["equivalence"]["params"]),
        equivalence_gradient=relative_difference(eq["first_gradient"], ref["equivalence"]["first_gradient"]),
        equivalence_loss=first_loss_gap,
        sum_gradient_ratio=float(np.linalg.norm(r["summed"]["first_gradient"])
                                 / np.linalg.norm(ref["summed"]["first_gradient"])),
        sum_params=relative_difference(r["summed"]["params"], ref["summed"]["params"]),
        padded_examples=s.padded_examples,
        shard_sizes=tuple(int(c) for c in r["padded"]["shard_sizes"]),
        padded_gradient=relative_difference(r["padded"]["gradient"], full),
        uneven_gradient=relative_difference(r["uneven"]["gradient"], full),
        bn_gradient=relative_difference(r["batch_norm"]["first_gradient"], ref["batch_norm"]["first_gradient"]),
        bn_params=relative_difference(r["batch_norm"]["params"], ref["batch_norm"]["params"]),
        nobn_gradient=relative_difference(r["no_batch_norm"]["first_gradient"],
                                          ref["no_batch_norm"]["first_gradient"]),
        timings=tuple(timings),
        allreduce_sizes=np.asarray(r["timing"]["allreduce_sizes"]),
        allreduce_seconds=np.asarray(r["timing"]["allreduce_size_seconds"]),
        noise_b_small=b_small, noise_b_big=b_big, noise_draws=int(len(g2)),
        noise_g_squared=float(np.mean(g2)), noise_trace=float(np.mean(trace)),
        per_example=per_example, along_training=along, scaling=scaling,
    )


def allreduce_fit(sizes, seconds) -> tuple[float, float]:
    """Latency and time per element of ``dist.all_reduce``: a robust fit of :math:`t = \\alpha + \\beta n`.

    Siegel's repeated medians (``scipy.stats.siegelslopes``: for each size the median of its slopes
    to the others, then the median of those; the intercept likewise), not least squares: one
    all-reduce that a busy machine slowed (often the smallest, whose few microseconds any
    interruption dominates) would otherwise tilt the line, even below zero.  Up to half the
    timings can be off without moving the fit; on exactly linear timings it is least squares' line.

    Args:
        sizes (array-like (K,)): elements all-reduced, at least 2 distinct.
        seconds (array-like (K,)): seconds each took, > 0.

    Returns:
        (alpha, beta): seconds of latency (clipped at >= 0), and seconds per element; ``beta`` is
        NaN when the timings do not grow with the size (no bandwidth can be read from them).

    Raises:
        ValueError: fewer than 2 sizes, lengths that differ, values not > 0.
    """
    from scipy.stats import siegelslopes

    n, t = checks.batch_series(sizes, seconds, "seconds", minimum_count=2)
    beta, alpha = siegelslopes(t, n)
    beta = float(beta) if beta > 0 else float("nan")
    return max(float(alpha), 0.0), beta


def ring_allreduce_seconds(elements, workers, *, alpha: float, bytes_per_second: float,
                           bytes_per_element: int = 4) -> np.ndarray:
    """The ring all-reduce's cost model: :math:`2(W-1)\\,\\alpha + 2\\frac{W-1}{W}\\frac{n\\,b}{\\rm bandwidth}`.

    Each of the W processes sends and receives :math:`2(W-1)/W` of the data in
    :math:`2(W-1)` steps (a reduce-scatter, then an all-gather; Patarasuk & Yuan 2009,
    the algorithm NCCL and gloo use for large messages).

    Args:
        elements (number or array): gradient length n.
        workers (number or array): processes W >= 2.
        alpha (float): seconds of latency per step, >= 0.
        bytes_per_second (float): link bandwidth, > 0.
        bytes_per_element (int): 4 for float32, 2 for bfloat16.

    Returns:
        ndarray: seconds (broadcast over ``elements`` and ``workers``).
    """
    n = checks.positive_values(elements, "elements")
    w = checks.positive_values(workers, "workers")
    if (w < 2).any():
        raise ValueError(f"workers must be >= 2, got {workers}")
    alpha = checks.non_negative(alpha, "alpha")
    bandwidth = checks.positive(bytes_per_second, "bytes_per_second")
    bytes_per_element = checks.int_at_least(bytes_per_element, "bytes_per_element")
    return 2 * (w - 1) * alpha + 2 * (w - 1) / w * n * bytes_per_element / bandwidth
