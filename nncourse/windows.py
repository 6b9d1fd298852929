"""Diagrams of where a convolution or pooling window lands on a 1-D input.

One row of squares is the input (padding in grey), and every output gets a row below it
with the cells its window reads. Stride, padding, dilation and ceil_mode then stop being
words in a formula: you count the rows.
"""
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from nncourse.checks import conv_out_size, pool_out_size

INPUT_COLOR = "#cfe2f3"
PAD_COLOR = "#d9d9d9"
TAP_COLOR = "#e06666"


def window_starts(size, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Where each window starts, in input coordinates (negative: in the left padding)."""
    if ceil_mode:
        count = pool_out_size(size, kernel_size, stride, padding, dilation, ceil_mode=True)
    else:
        count = conv_out_size(size, kernel_size, stride, padding, dilation)
    return [j * stride - padding for j in range(count)]


def draw_windows(ax, size, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False,
                 title=None):
    """Draw the input of ``size`` cells and, one row per output, the cells each window
    reads. Cells past the right padding (only ``ceil_mode`` reaches them) are dashed."""
    starts = window_starts(size, kernel_size, stride, padding, dilation, ceil_mode)
    last = max([size + padding - 1] + [s + dilation * (kernel_size - 1) for s in starts])
    for x in range(-padding, last + 1):
        inside = 0 <= x < size
        beyond = x >= size + padding
        ax.add_patch(Rectangle((x, 0), 0.9, 0.9, linestyle="--" if beyond else "-",
                               facecolor="white" if beyond else
                               (INPUT_COLOR if inside else PAD_COLOR), edgecolor="black"))
        if inside:
            ax.text(x + 0.45, 0.45, str(x), ha="center", va="center", fontsize=7)
    for row, start in enumerate(starts, start=1):
        taps = [start + t * dilation for t in range(kernel_size)]
        ax.plot([taps[0] + 0.45, taps[-1] + 0.45], [-row * 1.1 + 0.45] * 2, color=TAP_COLOR,
                lw=1)
        for x in taps:
            ax.add_patch(Rectangle((x, -row * 1.1), 0.9, 0.9, facecolor=TAP_COLOR,
                                   edgecolor="black"))
        ax.text(-padding - 0.4, -row * 1.1 + 0.45, f"out {row - 1}", ha="right",
                va="center", fontsize=7)
    ax.set_xlim(-padding - 3, last + 1.5)
    ax.set_ylim(-len(starts) * 1.1 - 0.3, 1.2)
    ax.set_aspect("equal", anchor="NW")
    ax.axis("off")
    if title is None:
        title = (f"K={kernel_size} S={stride} P={padding} D={dilation}"
                 + (" ceil_mode" if ceil_mode else "") + f": {size} -> {len(starts)}")
    ax.set_title(title, fontsize=9)


def show_windows(configs, size=7, ncols=2, width=4.2):
    """One diagram per configuration: ``configs`` is a list of dicts of keyword arguments
    of ``draw_windows`` (kernel_size, stride, padding, dilation, ceil_mode, title)."""
    nrows = -(-len(configs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 2.6 * nrows),
                             squeeze=False)
    for ax, config in zip(axes.flat, configs):
        draw_windows(ax, **{"size": size, **config})
    # the same scale in every panel, so that sizes can be compared by eye
    left = min(ax.get_xlim()[0] for ax in axes.flat[:len(configs)])
    right = max(ax.get_xlim()[1] for ax in axes.flat[:len(configs)])
    bottom = min(ax.get_ylim()[0] for ax in axes.flat[:len(configs)])
    for ax in axes.flat[:len(configs)]:
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, 1.2)
    for ax in list(axes.flat)[len(configs):]:
        ax.axis("off")
    fig.tight_layout()
    plt.show()
