"""Models that more than one chapter builds on.

``cifar10_net`` is the small CIFAR-10 classifier of chapter 7 (Sequential). Chapters 10 and 11
reuse it, so it lives here rather than in a notebook.
"""
from collections import OrderedDict

from torch import nn


def cifar10_net(num_classes=10):
    """Return the curriculum's CIFAR-10 classifier as a named ``nn.Sequential``.

    Input (N, 3, 32, 32), output (N, num_classes) logits. Three 5x5 convolutions with
    padding 2 keep the height and width; each 2x2 max-pool halves them: 32 -> 16 -> 8 -> 4,
    so the flattened feature vector has 64 * 4 * 4 = 1024 entries. With 10 classes the model
    has 145,578 parameters.
    """
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 32, kernel_size=5, padding=2)),    # (N, 32, 32, 32)
        ("pool1", nn.MaxPool2d(2)),                               # (N, 32, 16, 16)
        ("conv2", nn.Conv2d(32, 32, kernel_size=5, padding=2)),   # (N, 32, 16, 16)
        ("pool2", nn.MaxPool2d(2)),                               # (N, 32, 8, 8)
        ("conv3", nn.Conv2d(32, 64, kernel_size=5, padding=2)),   # (N, 64, 8, 8)
        ("pool3", nn.MaxPool2d(2)),                               # (N, 64, 4, 4)
        ("flatten", nn.Flatten()),                                # (N, 1024)
        ("fc1", nn.Linear(64 * 4 * 4, 64)),                       # (N, 64)
        ("fc2", nn.Linear(64, num_classes)),                      # (N, num_classes)
    ]))
