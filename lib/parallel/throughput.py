"""Throughput against batch size: examples per second and seconds per update on this device.

A mini-batch's examples go through the network together, as one matrix product
per layer, so on parallel hardware a batch of 64 costs far less than 64 batches
of one: time per update stays nearly flat while the batch grows, until the
device's arithmetic units are busy; from then on it grows in proportion to the
batch and examples per second level off.  :func:`measure_throughput` times full
SGD updates (forward, backward, ``torch.optim.SGD.step``) of a network at each
batch size and keeps the best of a few repeats (the least disturbed by other
programs, the convention of ``timeit``); :func:`saturation_batch` reads off where
the curve levels off.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lib.core import checks
from lib.core.device import pick_device, seeded_generator
from lib.core.models import MODELS, build_model


@dataclass(frozen=True)
class Throughput:
    """Seconds per SGD update at each batch size, best of ``repeats``.

    Attributes:
        model (str): the network's name in :data:`lib.core.models.MODELS`.
        device (str): where it ran (``"cpu"``, ``"cuda"``, ...).
        device_name (str): the processor's name, for captions.
        threads (int): ``torch.get_num_threads()`` during the run.
        batch_sizes (ndarray (K,) int): examples per update, increasing.
        seconds_per_update (ndarray (K,)): the best repeat's mean seconds per update.
        repeats (int): timings per batch size.
    """

    model: str
    device: str
    device_name: str
    threads: int
    batch_sizes: np.ndarray
    seconds_per_update: np.ndarray
    repeats: int

    def __post_init__(self):
        b = np.asarray(self.batch_sizes)
        s = np.asarray(self.seconds_per_update, dtype=np.float64)
        if b.ndim != 1 or b.shape != s.shape or b.size == 0:
            raise ValueError(f"batch_sizes and seconds_per_update must be equally long 1-D arrays, got "
                             f"{b.shape} and {s.shape}")
        if (np.diff(b) <= 0).any() or (b < 1).any():
            raise ValueError("batch_sizes must be increasing and >= 1")
        if not (np.isfinite(s).all() and (s > 0).all()):
            raise ValueError("seconds_per_update must be finite and > 0")

    @property
    def examples_per_second(self) -> np.ndarray:
        """(K,): batch size / seconds per update."""
        return self.batch_sizes / self.seconds_per_update

    def seconds_at(self, batch_size) -> np.ndarray:
        """Seconds per update at ``batch_size`` (numbers or an array), interpolated on log-log axes.

        Raises:
            ValueError: a batch size outside the measured range.
        """
        b = np.asarray(batch_size, dtype=np.float64)
        if (b < self.batch_sizes[0]).any() or (b > self.batch_sizes[-1]).any():
            raise ValueError(f"batch_size must lie in the measured range [{self.batch_sizes[0]}, "
                             f"{self.batch_sizes[-1]}], got {batch_size}")
        return np.exp(np.interp(np.log(b), np.log(self.batch_sizes), np.log(self.seconds_per_update)))

    def to_dict(self) -> dict:
        """Plain Python values (JSON-ready); :meth:`from_dict` reads them back."""
        return {"model": self.model, "device": self.device, "device_name": self.device_name,
                "threads": self.threads, "batch_sizes": [int(b) for b in self.batch_sizes],
                "seconds_per_update": [float(s) for s in self.seconds_per_update], "repeats": self.repeats}

    @classmethod
    def from_dict(cls, d: dict) -> "Throughput":
        return cls(d["model"], d["device"], d["device_name"], int(d["threads"]),
                   np.asarray(d["batch_sizes"], dtype=np.int64),
                   np.asarray(d["seconds_per_update"], dtype=np.float64), int(d["repeats"]))


def device_name(device: torch.device) -> str:
    """A readable name of ``device``: the GPU's model, or the CPU's model and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count() or 1
    return f"{model or 'CPU'} ({cores} core{'s' if cores > 1 else ''})"


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def measure_throughput(model: str, batch_sizes, *, repeats: int = 3, min_seconds: float = 0.05,
                       device: str | torch.device | None = None, seed: int = 0) -> Throughput:
    """Time SGD updates of ``model`` at each batch size; the best of ``repeats`` timings counts.

    Each timing repeats updates on one fixed batch of random inputs (uniform in
    [0, 1], like MNIST's scaled pixels; the speed does not depend on the values)
    until ``min_seconds`` have passed, after two warm-up updates, and divides.

    Args:
        model (str): a name in :data:`lib.core.models.MODELS` (``"textbook"``, ``"cnn"``, ...).
        batch_sizes (list of int): examples per update, increasing, >= 1.
        repeats (int): timings per batch size, >= 1.
        min_seconds (float): seconds each timing lasts at least, > 0.
        device (str or torch.device, optional): as :func:`lib.core.device.pick_device`.
        seed (int): seeds the weights and the random inputs.

    Returns:
        Throughput.

    Raises:
        TypeError, ValueError: an unknown model, batch sizes not increasing integers >= 1,
            ``repeats`` < 1, ``min_seconds`` not > 0, an unavailable device.
    """
    checks.choice(model, "model", tuple(MODELS))
    sizes = checks.integers(batch_sizes, "batch_sizes", minimum=1, distinct=True)
    if list(sizes) != sorted(sizes):
        raise ValueError(f"batch_sizes must be increasing, got {list(sizes)}")
    repeats = checks.int_at_least(repeats, "repeats")
    min_seconds = checks.positive(min_seconds, "min_seconds")
    seed = checks.seed(seed)
    dev = pick_device(device)
    generator = seeded_generator(seed)
    x_all = torch.rand(max(sizes), 784, generator=generator).to(dev)
    y_all = torch.randint(0, 10, (max(sizes),), generator=generator).to(dev)
    best = []
    for b in sizes:
        net = build_model(model, seed).to(dev)
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-3)
        x, y = x_all[:b], y_all[:b]

        def update():
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        for _ in range(2):
            update()
        timings = []
        for _ in range(repeats):
            _synchronize(dev)
            start, count = time.perf_counter(), 0
            while True:
                update()
                count += 1
                if count % 4 == 0 or count < 4:
                    _synchronize(dev)
                    elapsed = time.perf_counter() - start
                    if elapsed >= min_seconds:
                        break
            timings.append(elapsed / count)
        best.append(min(timings))
    return Throughput(model, dev.type, device_name(dev), torch.get_num_threads(),
                      np.asarray(sizes, dtype=np.int64), np.asarray(best), repeats)


def saturation_batch(record: Throughput, fraction: float = 0.9) -> int:
    """The smallest measured batch size whose examples per second reach ``fraction`` of the best.

    Past it, a larger batch buys at most ``1/fraction`` more throughput: the
    device is busy, and each further doubling of the batch about doubles the time per update.

    Raises:
        TypeError: ``record`` not a :class:`Throughput`; ``fraction`` not a number.
        ValueError: ``fraction`` outside (0, 1].
    """
    if not isinstance(record, Throughput):
        raise TypeError(f"record must be a Throughput, got {type(record).__name__}")
    fraction = checks.number(fraction, "fraction", low=0.0, high=1.0, low_open=True)
    rate = record.examples_per_second
    return int(record.batch_sizes[np.argmax(rate >= fraction * rate.max())])
