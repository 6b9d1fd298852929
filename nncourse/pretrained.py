"""Pretrained models offline, and the small VGG that chapter 10 pretrains itself.

Weights of torchvision models are downloaded into the torch hub cache,
``torch.hub.get_dir()/checkpoints/<file name of the weights' URL>``, and read from there
afterwards. This course never downloads: ``load_pretrained`` uses the cached file when it
is there and otherwise says plainly that the model keeps its random initialisation.

``small_vgg`` is torchvision's ``VGG`` class cut down to the 8x8 digits, so that transfer
learning can be shown for real in seconds: ``pretrained_digits_vgg`` trains one on the
digits 0-4.
"""
import copy
import functools
import os
from urllib.parse import urlparse

import torch
from torch import nn

SMALL_VGG_CFG = (16, 16, "M", 32, 32, "M")


# ----------------------------------------------------------------------------------------
# Pretrained weights from the torch hub cache, never from the network


def cached_weights_path(weights):
    """The file torch.hub keeps ``weights`` in (it may not exist).

    ``weights`` is a member of a torchvision weights enum, e.g.
    ``VGG16_Weights.IMAGENET1K_V1``; the file name is the last part of its URL.
    """
    file_name = os.path.basename(urlparse(weights.url).path)
    return os.path.join(torch.hub.get_dir(), "checkpoints", file_name)


def load_pretrained(builder, weights, verbose=True, **kwargs):
    """Build ``builder(weights=weights)`` from the torch hub cache, or randomly initialised.

    Returns ``(model, pretrained)``, where ``pretrained`` is True only when the weights'
    file was found in the cache and loaded. When it is absent the model is built with
    ``weights=None`` (nothing is downloaded) and, with ``verbose``, a message says so:
    the predictions of such a model mean nothing. ``kwargs`` go to the builder.
    """
    path = cached_weights_path(weights)
    pretrained = os.path.exists(path)
    if pretrained:
        model = builder(weights=weights, progress=False, **kwargs)
        message = f"{weights}: loaded from the torch hub cache ({os.path.basename(path)})"
    else:
        model = builder(weights=None, **kwargs)
        message = (f"{weights}: {os.path.basename(path)} is not in the torch hub cache "
                   "(torch.hub.get_dir()/checkpoints) and nothing is downloaded here, so "
                   "the model keeps its RANDOM initialisation: it is not pretrained")
    if verbose:
        print(message)
    return model, pretrained


# ----------------------------------------------------------------------------------------
# A small VGG for the 8x8 digits


def vgg_features(cfg=SMALL_VGG_CFG, in_channels=1):
    """VGG's feature extractor from a configuration list, as torchvision's ``make_layers``.

    A number is a 3x3 convolution with padding 1 (height and width kept) and that many
    output channels, followed by a ReLU; ``"M"`` is a 2x2 max-pool (height and width
    halved). Unlike ``make_layers`` the number of input channels can be chosen.
    """
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


def small_vgg(num_classes=5, cfg=SMALL_VGG_CFG, in_channels=1, image_size=8, hidden=64,
              dropout=0.2):
    """torchvision's ``VGG`` class with a small ``features`` and a small ``classifier``.

    ``VGG.forward`` runs ``features -> avgpool -> flatten -> classifier``. Its classifier
    keeps VGG16's seven layers (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear), so
    ``classifier[6]`` is the head here too; only the widths are smaller. With the default
    cfg an (N, 1, 8, 8) batch becomes (N, 32, 2, 2) features and (N, num_classes) logits.

    ``VGG``'s constructor always builds the ImageNet-sized classifier (25088 -> 4096 ->
    4096, 119 million parameters, seconds to initialise), so the object is created on the
    meta device (shapes only: no memory, no time) and then its three parts are replaced by
    real, small ones.
    """
    from torchvision.models import VGG

    with torch.device("meta"):
        net = VGG(nn.Sequential(), num_classes=num_classes)
    net.features = vgg_features(cfg, in_channels)
    side = image_size // 2 ** cfg.count("M")
    channels = [v for v in cfg if v != "M"][-1]
    net.avgpool = nn.AdaptiveAvgPool2d((side, side))  # like VGG16's (7, 7)
    net.classifier = nn.Sequential(
        nn.Linear(channels * side * side, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),  # classifier[6]: the head
    )
    return net


@functools.lru_cache(maxsize=4)
def _pretrained_digits_vgg(num_epochs, lr, seed):
    from nncourse.data import digits_loaders
    from nncourse.training import train_epoch

    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    train_loader, _ = digits_loaders(classes=range(5), seed=seed)
    net = small_vgg(num_classes=5)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(num_epochs):
        train_epoch(net, train_loader, loss_fn, optimizer)
    torch.set_rng_state(generator_state)  # the caller's random numbers are not disturbed
    return net.eval()


def pretrained_digits_vgg(num_epochs=15, lr=1e-3, seed=0):
    """A ``small_vgg`` trained on the digits 0-4 (``digits_loaders(classes=range(5))``).

    The same call gives the same network (it is trained once per process and a fresh copy
    is returned every time, so changing it does not change the next one). Returned in
    eval mode.
    """
    return copy.deepcopy(_pretrained_digits_vgg(num_epochs, lr, seed))
