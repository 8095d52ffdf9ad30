"""Where the experiments run, and how they are seeded.

The chapter runs the same code on a laptop CPU, on Colab's GPU and on Apple
silicon.  :func:`pick_device` chooses, in this order: an explicit argument, the
``LR_BOOK_DEVICE`` environment variable, CUDA, Apple MPS, the CPU.
"""
from __future__ import annotations

import os
import re

import torch

DEVICE_ENV = "LR_BOOK_DEVICE"
_DEVICE_PATTERN = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def _available(name: str) -> bool:
    if name == "cpu":
        return True
    if name == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if not torch.cuda.is_available():
        return False
    index = int(name.split(":")[1]) if ":" in name else 0
    return index < torch.cuda.device_count()


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """Return the device to train on.

    ``name`` may be ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a
    :class:`torch.device`.  Without it, ``$LR_BOOK_DEVICE`` is read, and
    without that the fastest available device is taken (CUDA, then MPS, then CPU).
    Asking for a device that this machine lacks is an error, not a silent fallback.
    """
    if isinstance(name, torch.device):
        name = str(name)
    source = "argument"
    if name is None:
        name = os.environ.get(DEVICE_ENV) or None
        source = f"${DEVICE_ENV}"
    if name is None:
        for candidate in ("cuda", "mps", "cpu"):
            if _available(candidate):
                return torch.device(candidate)
    if not isinstance(name, str):
        raise TypeError(f"device must be a string or torch.device, got {type(name).__name__}")
    name = name.strip().lower()
    if not _DEVICE_PATTERN.match(name):
        raise ValueError(
            f"unknown device {name!r} (from {source}); allowed: 'cpu', 'cuda', 'cuda:N', 'mps'")
    if not _available(name):
        raise ValueError(f"device {name!r} (from {source}) is not available on this machine; "
                         "use 'cpu' or leave the device unset to choose automatically")
    return torch.device(name)


def seeded_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh :class:`torch.Generator` on ``device`` seeded with ``seed``.

    Every random draw in the chapter goes through an explicit generator, so a
    result depends on its seed alone, not on what ran before it.
    """
    from .checks import seed as check_seed

    seed = check_seed(seed)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
