"""MNIST from the four original IDX files: find, download, verify, parse, split.

The chapter uses the files LeCun et al. published (:cite:`lecun1998mnist`), not a
re-packaged copy, so the same bytes can be checked against their well-known MD5
sums.  The pipeline:

1. :func:`ensure_mnist_files` finds the four ``.gz`` files in the data directory
   (``$LR_BOOK_DATA``, else ``~/.cache/lr-book/mnist``), downloads what is missing
   from the public mirrors, and verifies every file's MD5.  Downloads are written
   to a temporary file and renamed only once verified, so an interrupted or corrupt
   download never leaves a file that looks complete.
2. :func:`parse_idx` reads the IDX format (a big-endian header, then raw bytes).
3. :func:`load_mnist` scales pixels to [0, 1] by min-max scaling, as the textbook
   does, splits the 60,000 training images into 55,000 / 5,000 train / validation
   with a seeded permutation, keeps the 10,000 test images apart, and moves every
   tensor onto the chosen device once.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import checks
from .device import pick_device, seeded_generator

DATA_ENV = "LR_BOOK_DATA"
#: The split seed that :func:`load_mnist` uses when none is given (default 0).  The verdict check
#: (``python -m tools.verdict_check``) executes the chapter under other values of it, so that every
#: experiment sees other training and validation images, and the prose's verdicts are put to the test.
DATA_SEED_ENV = "LR_BOOK_DATA_SEED"

#: The four files and their canonical MD5 sums (the ones torchvision also checks).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Public mirrors, tried in order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

N_TRAIN, N_VALIDATION, N_TEST = 55_000, 5_000, 10_000


class DataError(RuntimeError):
    """The MNIST files are missing, corrupt, or could not be downloaded."""


def default_data_dir() -> Path:
    """``$LR_BOOK_DATA`` if set, else the per-user cache ``$XDG_CACHE_HOME/lr-book/mnist``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "lr-book" / "mnist"


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_url(url: str, timeout: float = 30.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _download_verified(name: str, expected_md5: str, directory: Path,
                       mirrors: Sequence[str], fetch: Callable[[str], bytes]) -> str | None:
    """Try each mirror; write the file atomically only if its MD5 matches.

    Returns ``None`` on success, else a description of every failed attempt.
    """
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            payload = fetch(url)
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {error}")
            continue
        actual = hashlib.md5(payload).hexdigest()
        if actual != expected_md5:
            failures.append(f"{url}: MD5 {actual} does not match {expected_md5} "
                            f"({len(payload)} bytes received)")
            continue
        # Write beside the target, then rename: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return None
    return "; ".join(failures) or "no mirrors given"


def ensure_mnist_files(data_dir: str | os.PathLike | None = None, *, download: bool = True,
                       mirrors: Sequence[str] = MIRRORS,
                       fetch: Callable[[str], bytes] = _fetch_url) -> Path:
    """Make sure the four MNIST files are in ``data_dir`` with the right MD5 sums.

    A missing file is downloaded (when ``download`` is true); a file whose MD5 is
    wrong (corrupt or truncated) is downloaded again, atomically replacing it.  When
    that is not possible, :class:`DataError` names the directory, the files to put
    there and what went wrong.  Returns the directory.
    """
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"data directory {str(directory)!r} is a file; "
                         f"give a directory (or set ${DATA_ENV} to one)")
    if isinstance(mirrors, str):
        raise TypeError("mirrors must be a sequence of base URLs, not a single string")
    problems = {}
    for name, expected in MNIST_FILES.items():
        path = directory / name
        if path.is_file():
            actual = md5_of(path)
            if actual == expected:
                continue
            problems[name] = (f"has MD5 {actual}, expected {expected} "
                              f"({path.stat().st_size} bytes: corrupt or truncated)")
        else:
            problems[name] = "is missing"
    if not problems:
        return directory
    if not download:
        raise DataError(_explain(directory, problems, "downloading is switched off"))
    directory.mkdir(parents=True, exist_ok=True)
    for name in list(problems):
        failure = _download_verified(name, MNIST_FILES[name], directory, mirrors, fetch)
        if failure is None:
            del problems[name]
        else:
            problems[name] += f"; download failed: {failure}"
    if problems:
        raise DataError(_explain(directory, problems, "the download did not succeed"))
    return directory


def _explain(directory: Path, problems: dict[str, str], why: str) -> str:
    lines = [f"MNIST is not usable in {str(directory)!r} ({why}):"]
    lines += [f"  {name} {problem}" for name, problem in problems.items()]
    lines.append(f"Put the four original files there ({', '.join(MNIST_FILES)}), "
                 f"or point ${DATA_ENV} at a directory that has them.")
    return "\n".join(lines)


def parse_idx(raw: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Parse an (uncompressed) IDX file: the format MNIST is published in.

    Layout: two zero bytes, a type code (``0x08`` = unsigned byte), the number of
    dimensions ``d``, then ``d`` big-endian 32-bit sizes, then the data in C order.
    """
    if len(raw) < 4:
        raise DataError(f"{source}: {len(raw)} bytes is too short for an IDX header")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code != 0x08:
        raise DataError(f"{source}: not an unsigned-byte IDX file "
                        f"(magic bytes {raw[:4].hex()}, expected 0000 08 dd)")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{source}: IDX header truncated or empty ({ndim} dimensions)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{source}: IDX header promises {shape} = {expected} bytes of data, "
                        f"file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_gz(path: str | os.PathLike) -> np.ndarray:
    """Decompress and parse one ``.idx?-ubyte.gz`` file."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable gzip file ({error})") from error
    return parse_idx(raw, source=str(path))


@functools.lru_cache(maxsize=4)
def _raw_arrays(directory: str) -> tuple[np.ndarray, ...]:
    root = Path(directory)
    return tuple(read_idx_gz(root / name) for name in MNIST_FILES)


@dataclass(frozen=True)
class Splits:
    """A data set split into train / validation / test tensors on one device.

    For MNIST, ``x_*`` are float32 of shape (n, 784) with values in [0, 1] and
    ``y_*`` are int64 class labels; toy problems use the same container with their
    own shapes (regression targets are float).  Validation and test may be absent.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None

    def __post_init__(self):
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if (x is None) != (y is None):
                raise ValueError(f"x_{part} and y_{part} must both be given or both be None")
            if x is None:
                continue
            if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
                raise TypeError(f"x_{part} and y_{part} must be torch tensors")
            if x.shape[0] != y.shape[0] or x.shape[0] == 0:
                raise ValueError(f"x_{part} has {x.shape[0]} rows and y_{part} {y.shape[0]}; "
                                 "they must match and be non-empty")
            if x.device != self.x_train.device or y.device != self.x_train.device:
                raise ValueError("all tensors must live on the same device")

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def n_train(self) -> int:
        return self.x_train.shape[0]

    def subset(self, n_train: int | None = None, n_val: int | None = None,
               n_test: int | None = None) -> "Splits":
        """The first ``n_*`` examples of each split (they are already shuffled)."""
        def cut(n, x, y, what):
            if n is None or x is None:
                return x, y
            n = checks.integer(n, what, minimum=1, maximum=x.shape[0])
            return x[:n], y[:n]
        return Splits(*cut(n_train, self.x_train, self.y_train, "n_train"),
                     *cut(n_val, self.x_val, self.y_val, "n_val"),
                     *cut(n_test, self.x_test, self.y_test, "n_test"))


def default_split_seed() -> int:
    """``$LR_BOOK_DATA_SEED`` as a non-negative int, 0 when unset or empty.

    Raises:
        ValueError: the variable holds anything but a non-negative integer.
    """
    raw = os.environ.get(DATA_SEED_ENV, "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise ValueError(f"${DATA_SEED_ENV}={raw!r} is not a seed; allowed: a non-negative integer (default 0)")
    return int(raw)


def min_max_scale(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """Scale to [0, 1] by ``(x - low) / (high - low)``, the textbook's normalisation."""
    if not high > low:
        raise ValueError(f"min-max scaling needs high > low, got low={low}, high={high}")
    return ((images.astype(np.float32) - low) / (high - low)).astype(np.float32)


def load_mnist(device: str | torch.device | None = None, *, data_dir=None,
               split_seed: int | None = None, download: bool = True) -> Splits:
    """MNIST as the textbook prepares it, on ``device``.

    Pixels are min-max scaled with the training images' minimum and maximum; the
    60,000 training images are split by a permutation seeded with ``split_seed``
    into 55,000 for training and 5,000 for validation; the 10,000 test images stay
    apart.  ``split_seed=None`` (the default) takes :func:`default_split_seed`, 0 unless
    ``$LR_BOOK_DATA_SEED`` says otherwise; since :meth:`Splits.subset` keeps the first examples
    of each split, another seed also gives every quick-budget experiment other images.
    """
    split_seed = default_split_seed() if split_seed is None else checks.seed(split_seed, "split_seed")
    directory = ensure_mnist_files(data_dir, download=download)
    train_images, train_labels, test_images, test_labels = _raw_arrays(str(directory.resolve()))
    if train_images.shape != (60_000, 28, 28) or test_images.shape != (10_000, 28, 28):
        raise DataError(f"unexpected MNIST shapes {train_images.shape}, {test_images.shape}")
    low, high = float(train_images.min()), float(train_images.max())
    order = torch.randperm(60_000, generator=seeded_generator(split_seed)).numpy()
    train_index, val_index = order[:N_TRAIN], order[N_TRAIN:]
    target = pick_device(device)

    def tensors(images, labels):
        x = torch.from_numpy(min_max_scale(images.reshape(len(images), -1), low, high))
        y = torch.from_numpy(labels.astype(np.int64))
        return x.to(target), y.to(target)

    return Splits(*tensors(train_images[train_index], train_labels[train_index]),
                 *tensors(train_images[val_index], train_labels[val_index]),
                 *tensors(test_images, test_labels))
