"""Pictures for the lessons: feature-map grids and curves."""
import math

import matplotlib.pyplot as plt
import torch


def show_feature_maps(maps, titles=None, ncols=8, size=1.6, cmap="gray", suptitle=None):
    """One panel per channel of ``maps``: a (C, H, W) tensor or a (1, C, H, W) batch.

    Each panel is scaled on its own, so weak and strong channels are both visible. A
    3-channel image is still drawn as 3 panels: channels are not colours after a conv.
    """
    maps = maps.detach().cpu()
    if maps.dim() == 4:
        maps = maps[0]
    channels = maps.shape[0]
    ncols = min(ncols, channels)
    nrows = math.ceil(channels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < channels:
            ax.imshow(maps[i], cmap=cmap)
            ax.set_title(titles[i] if titles else f"channel {i}", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    plt.show()


def show_image(image, title=None, size=3):
    """Draw a (3, H, W) or (1, H, W) tensor in [0, 1] as a picture."""
    image = image.detach().cpu()
    fig, ax = plt.subplots(figsize=(size, size))
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray")
    else:
        ax.imshow(image.permute(1, 2, 0).clamp(0, 1))
    ax.axis("off")
    if title:
        ax.set_title(title)
    plt.show()


def plot_curves(curves, xlabel="epoch", ylabel="loss", title=None, logy=False):
    """Plot named curves: ``{"train": [...], "test": [...]}``."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, values in curves.items():
        values = [float(v) for v in values]
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.show()


def plot_functions(functions, x=None, ncols=3, title=None):
    """Plot each function and its derivative (by autograd) side by side.

    ``functions`` maps a name to a callable on tensors, e.g. ``{"relu": torch.relu}``.
    """
    x = torch.linspace(-5, 5, 401) if x is None else x
    nrows = math.ceil(len(functions) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows), squeeze=False)
    for ax, (name, fn) in zip(axes.flat, functions.items()):
        xg = x.clone().requires_grad_(True)
        y = fn(xg)
        (grad,) = torch.autograd.grad(y.sum(), xg)
        ax.plot(x, y.detach(), label=name)
        ax.plot(x, grad, "--", label="derivative")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(name)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(functions):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
