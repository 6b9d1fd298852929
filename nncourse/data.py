"""Datasets for the course.

The default is scikit-learn's handwritten digits: 1,797 real 8x8 grey images of the digits
0-9 that ship inside the scikit-learn package, so every lesson runs offline. CIFAR-10 comes
through torchvision when it is on disk (or may be downloaded when the caller allows it).
"""
import functools
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def load_digits(test_fraction=0.2, seed=0):
    """The embedded digits as tensors, split into train and test.

    Returns ``(X_train, y_train, X_test, y_test)`` with X of shape (N, 1, 8, 8), float32 in
    [0, 1], and y of shape (N,), int64. The split is stratified and fixed by ``seed``.
    """
    # fresh tensors every call: a caller that changes them in place changes no other's
    return tuple(torch.from_numpy(a.copy()) for a in _split_digits(test_fraction, seed))


@functools.lru_cache(maxsize=32)
def _split_digits(test_fraction, seed):
    """The split as numpy arrays, kept: reading scikit-learn's file and splitting it costs
    more than the short trainings of the exercises that ask for it again and again."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    X = (bunch.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    y = bunch.target.astype(np.int64)                      # (1797,)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, random_state=seed, stratify=y)
    return X_train, y_train, X_test, y_test


def digits_loaders(batch_size=64, test_fraction=0.2, seed=0, classes=None):
    """Train and test DataLoaders over the embedded digits.

    ``classes`` keeps only those digits (e.g. ``range(5)``), relabelled 0..k-1 in order.
    The training loader shuffles with its own seeded generator, so runs repeat exactly.
    """
    X_train, y_train, X_test, y_test = load_digits(test_fraction, seed)
    if classes is not None:
        X_train, y_train = _keep_classes(X_train, y_train, classes)
        X_test, y_test = _keep_classes(X_test, y_test, classes)
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size,
                       shuffle=True, generator=generator)
    test = DataLoader(TensorDataset(X_test, y_test), batch_size=batch_size)
    return train, test


def _keep_classes(X, y, classes):
    classes = list(classes)
    keep = torch.isin(y, torch.tensor(classes))
    relabel = {c: i for i, c in enumerate(classes)}
    return X[keep], torch.tensor([relabel[int(c)] for c in y[keep]], dtype=torch.int64)


def digits_as_rgb32(X):
    """Adapt (N, 1, 8, 8) digits to CIFAR-sized (N, 3, 32, 32) input.

    Each pixel becomes a 4x4 block (nearest-neighbour upsampling) and the grey channel is
    repeated three times, so a network built for CIFAR-10 runs unchanged on the digits.
    """
    X = torch.nn.functional.interpolate(X, scale_factor=4, mode="nearest")  # (N, 1, 32, 32)
    return X.repeat(1, 3, 1, 1)                                             # (N, 3, 32, 32)


def default_data_root():
    """Where CIFAR-10 is looked for: ``NNCOURSE_DATA`` or ``~/.cache/nncourse``."""
    return os.environ.get("NNCOURSE_DATA", os.path.join(os.path.expanduser("~"), ".cache",
                                                        "nncourse"))


def cifar10_available(root=None):
    """True when torchvision's CIFAR-10 files are on disk under ``root``."""
    root = root or default_data_root()
    return os.path.isdir(os.path.join(root, "cifar-10-batches-py"))


def cifar10_datasets(root=None, download=False, transform=None):
    """CIFAR-10 train and test sets through torchvision.

    Without ``download`` the files must already be under ``root`` (torchvision checks their
    checksums). The default transform gives float tensors of shape (3, 32, 32) in [0, 1].
    """
    from torchvision import datasets, transforms

    root = root or default_data_root()
    transform = transform or transforms.ToTensor()
    train = datasets.CIFAR10(root, train=True, download=download, transform=transform)
    test = datasets.CIFAR10(root, train=False, download=download, transform=transform)
    return train, test


def cifar10_loaders(batch_size=64, root=None, download=False, seed=0):
    """CIFAR-10 train and test DataLoaders (see ``cifar10_datasets``)."""
    train, test = cifar10_datasets(root, download)
    generator = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(test, batch_size=batch_size))
