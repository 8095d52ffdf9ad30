"""scikit-learn's 8x8 handwritten digits as a reader's own data: DataLoaders of dictionary batches.

The 1,797 images of ``sklearn.datasets.load_digits`` (the UCI "optical recognition of
handwritten digits" test set, :cite:`alpaydin1998optdigits`) ship inside scikit-learn,
so nothing is downloaded.  Each image is 8 x 8 pixels with values 0 to 16; they are
scaled to [0, 1] and served as ``{"pixels": (64,) float32, "digit": () int64}``, the
way many real pipelines hand a model its batches (a dict, not a tuple), so that the
tools must be told which key is which or be given an objective of the reader's own.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lib.core import checks
from lib.core.device import seeded_generator


class Digits(Dataset):
    """A split of the digits as a map-style dataset of dicts.

    Attributes:
        pixels (Tensor, (n, 64)): float32 in [0, 1].  digits (Tensor, (n,)): int64 labels 0..9.
    """

    def __init__(self, pixels: torch.Tensor, digits: torch.Tensor):
        self.pixels, self.digits = pixels, digits

    def __len__(self) -> int:
        return len(self.digits)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"pixels": self.pixels[i], "digit": self.digits[i]}


def load_digits(n_val: int = 500, seed: int = 0) -> tuple[Digits, Digits]:
    """The 1,797 digits split at random (seeded) into training and validation sets.

    Args:
        n_val (int): validation images, in [1, 1796]. Default 500.
        seed (int): seed of the split. Default 0.

    Returns:
        (train, val): two :class:`Digits`.

    Raises:
        TypeError, ValueError: ``n_val`` or ``seed`` out of range.
        ImportError: scikit-learn is not installed (``pip install scikit-learn``).
    """
    from sklearn.datasets import load_digits as bundled

    n_val = checks.integer(n_val, "n_val", minimum=1, maximum=1796)
    seed = checks.seed(seed)
    bunch = bundled()
    pixels = torch.tensor(bunch.data, dtype=torch.float32) / 16.0                   # (1797, 64)
    digits = torch.tensor(bunch.target, dtype=torch.int64)                          # (1797,)
    order = torch.randperm(len(digits), generator=seeded_generator(seed))
    val, train = order[:n_val], order[n_val:]
    return Digits(pixels[train], digits[train]), Digits(pixels[val], digits[val])


def loader(data: Digits, batch_size: int, *, shuffle: bool = True, seed: int = 0) -> DataLoader:
    """A ``DataLoader`` of dict batches ``{"pixels": (B, 64), "digit": (B,)}``; a shuffling one draws
    a new order each pass from its own seeded generator."""
    batch_size = checks.batch_size(batch_size, len(data))
    generator = seeded_generator(checks.seed(seed)) if shuffle else None
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)


def network(seed: int = 0, width: int = 64) -> nn.Sequential:
    """The page's network: 64 pixels -> ``width`` -> ``width`` -> 10, GELU activations, layer norm
    after the first layer (a model the chapter's sections do not use), PyTorch's default initialisation
    drawn from ``seed``."""
    seed = checks.seed(seed)
    width = checks.integer(width, "width", minimum=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, width), nn.LayerNorm(width), nn.GELU(),
                             nn.Linear(width, width), nn.GELU(), nn.Linear(width, 10))


def objective(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The reader's own objective ``(model, batch) -> loss``: cross-entropy of the digit given the pixels."""
    return F.cross_entropy(model(batch["pixels"]), batch["digit"])


def accuracy(model: nn.Module, data: Digits) -> float:
    """The fraction of ``data`` the model classifies correctly, in evaluation mode (modes put back)."""
    modes = [m.training for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            return float((model(data.pixels).argmax(1) == data.digits).float().mean())
    finally:
        for m, mode in zip(model.modules(), modes):
            m.training = mode
