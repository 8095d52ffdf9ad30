"""MNIST loading: IDX parsing, checksums, downloads, atomic writes, the split."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import threading
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.core import data as mnist
from lib.core.data import DataError, ensure_mnist_files, load_mnist, parse_idx, read_idx_gz

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"
REAL_DIR = Path(os.environ.get("LR_BOOK_DATA", SHARED))

# Published class counts of MNIST (LeCun et al.): an independent check of parsing.
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written by hand from the format's definition."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_parse_idx_reads_a_hand_written_file(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], dtype=np.uint8)
    assert np.array_equal(parse_idx(idx_bytes(images)), images)
    assert np.array_equal(parse_idx(idx_bytes(labels)), labels)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)))
    assert np.array_equal(read_idx_gz(path), images)


@pytest.mark.parametrize("raw, message", [
    (b"\x00\x00", "too short"),
    (b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\x00\x00\x00\x00", "not an unsigned-byte"),
    (b"\x00\x00\x08\x02" + struct.pack(">I", 2), "truncated"),
    (idx_bytes(np.zeros((4, 5)))[:-3], "promises"),
    (idx_bytes(np.zeros((4, 5))) + b"\x01", "promises"),
])
def test_parse_idx_rejects_malformed_files(raw, message):
    with pytest.raises(DataError, match=message):
        parse_idx(raw)


def test_read_idx_gz_rejects_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(b"definitely not gzip")
    with pytest.raises(DataError, match="gzip"):
        read_idx_gz(path)


def test_the_shared_files_have_the_canonical_checksums():
    for name, md5 in mnist.MNIST_FILES.items():
        assert hashlib.md5((REAL_DIR / name).read_bytes()).hexdigest() == md5


@pytest.fixture(scope="module")
def real_mnist():
    return load_mnist("cpu", data_dir=REAL_DIR, download=False)


def test_load_mnist_split_sizes_scaling_and_label_counts(real_mnist):
    d = real_mnist
    assert d.x_train.shape == (55_000, 784) and d.x_val.shape == (5_000, 784)
    assert d.x_test.shape == (10_000, 784)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert float(d.x_train.min()) == 0.0 and float(d.x_train.max()) == 1.0
    counts = torch.bincount(torch.cat([d.y_train, d.y_val]), minlength=10).tolist()
    assert counts == TRAIN_LABEL_COUNTS
    assert torch.bincount(d.y_test, minlength=10).tolist() == TEST_LABEL_COUNTS


def test_train_and_validation_are_a_partition_of_the_60000(real_mnist):
    raw = read_idx_gz(REAL_DIR / "train-images-idx3-ubyte.gz").reshape(60_000, -1)
    key = lambda rows: sorted(hashlib.md5(r.tobytes()).hexdigest() for r in rows)
    ours = (torch.cat([real_mnist.x_train, real_mnist.x_val]) * 255).round().to(torch.uint8).numpy()
    assert key(ours) == key(raw)


def test_split_is_seeded():
    a = load_mnist("cpu", data_dir=REAL_DIR, download=False, split_seed=0)
    b = load_mnist("cpu", data_dir=REAL_DIR, download=False, split_seed=0)
    c = load_mnist("cpu", data_dir=REAL_DIR, download=False, split_seed=1)
    assert torch.equal(a.y_val, b.y_val) and not torch.equal(a.y_val, c.y_val)


def test_subset_takes_the_first_examples(real_mnist):
    small = real_mnist.subset(n_train=100, n_val=10)
    assert torch.equal(small.x_train, real_mnist.x_train[:100])
    assert small.x_val.shape[0] == 10 and small.x_test.shape[0] == 10_000
    with pytest.raises(ValueError, match="between 1 and 55000"):
        real_mnist.subset(n_train=60_000)


# ----------------------------------------------------------------- downloads

@pytest.fixture()
def mirror():
    """A real HTTP mirror of the shared files on 127.0.0.1."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(REAL_DIR))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def test_missing_files_are_downloaded_and_verified(tmp_path, mirror):
    target = tmp_path / "mnist"
    ensure_mnist_files(target, mirrors=[mirror])
    for name, md5 in mnist.MNIST_FILES.items():
        assert mnist.md5_of(target / name) == md5
    assert leftovers(target) == []


def test_a_dead_mirror_is_skipped(tmp_path, mirror):
    ensure_mnist_files(tmp_path, mirrors=["http://127.0.0.1:9/", mirror])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(mnist.MNIST_FILES)


def test_offline_without_files_names_the_directory_and_the_files(tmp_path):
    def offline(url):
        raise urllib.error.URLError("no network")
    with pytest.raises(DataError) as info:
        ensure_mnist_files(tmp_path / "nowhere", fetch=offline)
    message = str(info.value)
    assert str(tmp_path / "nowhere") in message
    assert all(name in message for name in mnist.MNIST_FILES)
    assert "LR_BOOK_DATA" in message


def copy_real(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in mnist.MNIST_FILES:
        shutil.copy(REAL_DIR / name, target / name)


def test_truncated_file_is_detected_offline(tmp_path):
    copy_real(tmp_path)
    victim = tmp_path / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:1000])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz has MD5 .* truncated"):
        ensure_mnist_files(tmp_path, download=False)


def test_corrupt_file_is_replaced_by_a_verified_download(tmp_path, mirror):
    copy_real(tmp_path)
    victim = tmp_path / "t10k-labels-idx1-ubyte.gz"
    damaged = bytearray(victim.read_bytes())
    damaged[100] ^= 0xFF
    victim.write_bytes(bytes(damaged))
    ensure_mnist_files(tmp_path, mirrors=[mirror])
    assert mnist.md5_of(victim) == mnist.MNIST_FILES[victim.name]


def test_a_download_with_the_wrong_checksum_leaves_nothing_behind(tmp_path):
    payload = b"\x1f\x8b" + b"\x00" * 500   # looks like gzip, is not MNIST
    with pytest.raises(DataError, match="does not match"):
        ensure_mnist_files(tmp_path, fetch=lambda url: payload, mirrors=["http://mirror/"])
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_no_half_file(tmp_path, monkeypatch):
    real = REAL_DIR / "train-labels-idx1-ubyte.gz"
    copy_real(tmp_path)
    (tmp_path / real.name).unlink()

    def crash(src, dst):
        raise KeyboardInterrupt  # the user pressed Ctrl-C just before the rename
    monkeypatch.setattr(mnist.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_mnist_files(tmp_path, fetch=lambda url: real.read_bytes(), mirrors=["http://m/"])
    assert not (tmp_path / real.name).exists()
    assert leftovers(tmp_path) == []


def test_a_data_directory_that_is_a_file_is_rejected(tmp_path, monkeypatch):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        ensure_mnist_files(path)
    monkeypatch.setenv("LR_BOOK_DATA", str(path))
    with pytest.raises(ValueError, match="is a file"):
        load_mnist("cpu")


def test_default_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LR_BOOK_DATA", str(tmp_path / "d"))
    assert mnist.default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("LR_BOOK_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert mnist.default_data_dir() == tmp_path / "cache" / "lr-book" / "mnist"


def test_mirrors_must_be_a_list(tmp_path):
    with pytest.raises(TypeError, match="sequence of base URLs"):
        ensure_mnist_files(tmp_path, mirrors="http://one/")
