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


# ----------------------------------------------------------------------------------------
# Issue 12: a module tree (ch01) and a multi-channel convolution (ch02)


def _tree_rows(module, name, depth, rows):
    """Depth-first list of (depth, label, parent_index) for show_module_tree."""
    own = sum(p.numel() for p in module.parameters(recurse=False))
    total = sum(p.numel() for p in module.parameters())
    label = f"{name}: {type(module).__name__}" if name else type(module).__name__
    label += f"  ({total:,} params" + (f", {own:,} own)" if own and own != total else ")")
    index = len(rows)
    rows.append([depth, label, None])
    for child_name, child in module.named_children():
        child_index = _tree_rows(child, child_name, depth + 1, rows)
        rows[child_index][2] = index
    return index


def show_module_tree(module, title=None, width=3.2, row_height=0.42):
    """Draw ``module`` and its submodules as a tree: one box per module, read left to right.

    Each box says the attribute name under which the parent holds the child, the class,
    and the parameters of the subtree (what ``named_children()`` and ``parameters()``
    walk). The layout depends only on the module's structure, so the picture is
    deterministic.
    """
    rows = []
    _tree_rows(module, "", 0, rows)
    depth = max(r[0] for r in rows) + 1
    fig, ax = plt.subplots(figsize=(width * depth + 0.6, row_height * len(rows) + 0.8))
    for i, (d, label, parent) in enumerate(rows):
        y = -i
        ax.text(d * width, y, label, va="center", ha="left", fontsize=9, family="monospace",
                bbox=dict(boxstyle="round,pad=0.3", fc="#ddeeff" if d == 0 else "#f4f4f4",
                          ec="#6fa8dc"))
        if parent is not None:
            pd = rows[parent][0]
            ax.plot([pd * width + 0.15, pd * width + 0.15, d * width - 0.05],
                    [-parent - 0.25, y, y], color="#888888", lw=1)
    ax.set_xlim(-0.2, width * depth + 0.4)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(title or f"the module tree of {type(module).__name__}")
    fig.tight_layout()
    plt.show()


def _value_panel(ax, values, title, cmap):
    values = values.detach().cpu().float()
    ax.imshow(values, cmap=cmap, alpha=0.55)
    for (i, j), v in zip(torch.cartesian_prod(torch.arange(values.shape[0]),
                                              torch.arange(values.shape[1])).tolist(),
                         values.flatten().tolist()):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def show_multichannel_conv(X, weight, bias=0.0, title=None):
    """How one output channel of a 2-D convolution is made from several input channels.

    ``X`` is one image (C_in, H, W) and ``weight`` the kernels of one output channel
    (C_in, kH, kW). Row c shows input channel c, its own kernel and their sliding sum;
    the last panel adds the C_in maps (and the bias) into the single output map. Small
    tensors only: every value is written in its cell.
    """
    X, weight = X.detach().cpu().float(), weight.detach().cpu().float()
    channels = X.shape[0]
    partial = [torch.nn.functional.conv2d(X[None, c:c + 1], weight[None, c:c + 1])[0, 0]
               for c in range(channels)]
    total = sum(partial) + bias
    fig = plt.figure(figsize=(9.5, 2.3 * channels))
    grid = fig.add_gridspec(channels, 4)
    for c in range(channels):
        _value_panel(fig.add_subplot(grid[c, 0]), X[c], f"input channel {c}", "Blues")
        _value_panel(fig.add_subplot(grid[c, 1]), weight[c], f"kernel for channel {c}",
                     "Oranges")
        _value_panel(fig.add_subplot(grid[c, 2]), partial[c],
                     f"channel {c} slid over by its kernel", "Greens")
    _value_panel(fig.add_subplot(grid[:, 3]), total,
                 " + ".join(f"ch {c}" for c in range(channels))
                 + (f" + bias {float(bias):g}" if float(bias) else "")
                 + "\n= one output channel", "Purples")
    fig.suptitle(title or f"one output channel of a Conv2d with {channels} input channels")
    fig.tight_layout()
    plt.show()


def plot_early_stopping(train, validation, best_epoch, ylabel="loss", title=None):
    """Training and validation curves with the epoch early stopping keeps marked.

    ``train`` and ``validation`` hold one value per epoch (epoch 1 first); ``best_epoch``
    (counted from 1) is the epoch whose weights are kept: the lowest validation loss.
    """
    train = [float(v) for v in train]
    validation = [float(v) for v in validation]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    epochs = range(1, len(train) + 1)
    ax.plot(epochs, train, marker="o", markersize=3, label="train")
    ax.plot(range(1, len(validation) + 1), validation, marker="o", markersize=3,
            label="validation")
    ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1)
    ax.plot([best_epoch], [validation[best_epoch - 1]], marker="*", markersize=12,
            color="black", linestyle="none",
            label=f"kept: epoch {best_epoch} (lowest validation loss)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "train and validation loss per epoch")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.show()


_DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64",
                torch.uint8: "uint8", torch.float16: "float16", torch.bfloat16: "bfloat16",
                torch.int32: "int32", torch.bool: "bool"}


def _checkpoint_lines(value):
    """One line of text per leaf of a checkpoint entry: tensors as shape and dtype,
    0-d tensors and plain values as their value, dicts and lists indented."""
    lines = []

    def short(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, (list, tuple)) and len(v) > 6:
            return f"[{', '.join(map(str, v[:3]))}, ... {len(v)} items]"
        return repr(v)

    def walk(v, prefix, indent):
        if torch.is_tensor(v):
            dtype = _DTYPE_NAMES.get(v.dtype, str(v.dtype).replace("torch.", ""))
            if v.dim() == 0:
                lines.append(f"{indent}{prefix}{v.item():.4g} (0-d {dtype})")
            else:
                lines.append(f"{indent}{prefix}{dtype} {tuple(v.shape)}")
        elif isinstance(v, dict) and len(v) == 1 and prefix:
            (k, sub), = v.items()                  # one entry: on the same line
            walk(sub, f"{prefix}{k}: ", indent)
        elif isinstance(v, dict):
            if prefix:
                lines.append(f"{indent}{prefix}")
                indent += "  "
            for k, sub in v.items():
                walk(sub, f"{k}: ", indent)
        elif isinstance(v, (list, tuple)) and v and all(isinstance(s, dict) for s in v):
            for i, sub in enumerate(v):            # e.g. param_groups[0]:
                walk(sub, f"{prefix[:-2]}[{i}]: ", indent)
        else:
            lines.append(f"{indent}{prefix}{short(v)}")

    walk(value, "", "")
    return lines


def show_checkpoint(checkpoint, notes=None, title=None, max_lines=24):
    """What a checkpoint dict holds: one box per top-level key, listing what is inside.

    Tensors show as dtype and shape, numbers as their value, nested dicts (an optimizer's
    ``state`` and ``param_groups``) indented. ``notes`` maps a key to a caption under its
    name (e.g. ``"model.state_dict()"``); a box longer than ``max_lines`` ends with how
    many lines it left out.
    """
    from matplotlib.patches import FancyBboxPatch

    notes = notes or {}
    keys = list(checkpoint)
    boxes = []
    for key in keys:
        lines = _checkpoint_lines(checkpoint[key])
        if len(lines) > max_lines:
            lines = lines[:max_lines - 1] + [f"... {len(lines) - max_lines + 1} more"]
        boxes.append(lines)
    rows = max(len(lines) for lines in boxes) + 3
    widths = [max([len(line) for line in lines]
                  + [len(str(key)) + 6, len(notes.get(key, "")) + 2, 18])
              for key, lines in zip(keys, boxes)]
    fig, axes = plt.subplots(1, len(keys), figsize=(0.085 * sum(widths) + 0.4 * len(keys),
                                                     0.22 * rows + 0.9),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    colors = plt.cm.Pastel1.colors
    for k, (ax, key, lines) in enumerate(zip(axes[0], keys, boxes)):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, rows)
        ax.axis("off")
        ax.add_patch(FancyBboxPatch((0.02, 0.1), 0.96, rows - 0.2,
                                    boxstyle="round,pad=0.02,rounding_size=0.3",
                                    facecolor=colors[k % len(colors)], edgecolor="grey"))
        ax.text(0.06, rows - 0.7, f'"{key}"', fontsize=10, fontweight="bold",
                family="monospace", va="center")
        if key in notes:
            ax.text(0.06, rows - 1.5, notes[key], fontsize=8, style="italic", va="center")
        for i, line in enumerate(lines):
            ax.text(0.06, rows - 2.4 - i, line, fontsize=8, family="monospace",
                    va="center")
    fig.suptitle(title or "what the checkpoint holds")
    fig.tight_layout()
    plt.show()


def draw_unrolled_rnn(num_layers=2, seq_len=5, title=None):
    """An unrolled stacked RNN/LSTM: one box per (layer, time step).

    The boxes of the top layer at every step are what ``output`` holds (one frame); the
    boxes of the last step in every layer are what ``h_n`` holds (another frame). The
    box at the top right is in both: for one direction ``h_n[-1]`` equals ``output[-1]``.
    """
    from matplotlib.patches import FancyBboxPatch, Rectangle

    fig, ax = plt.subplots(figsize=(1.5 * seq_len + 2.2, 1.25 * num_layers + 2.0))
    w, h = 0.62, 0.5
    for layer in range(num_layers):
        for t in range(seq_len):
            ax.add_patch(FancyBboxPatch((t - w / 2, layer - h / 2), w, h,
                                        boxstyle="round,pad=0.02", fc="#f2f2f2",
                                        ec="black", lw=1))
            ax.text(t, layer, f"$h_{{{t}}}^{{({layer})}}$", ha="center", va="center",
                    fontsize=10)
            if t < seq_len - 1:                     # the state carried to the next step
                ax.annotate("", (t + 1 - w / 2, layer), (t + w / 2, layer),
                            arrowprops=dict(arrowstyle="->", color="grey"))
            if layer < num_layers - 1:              # the input of the layer above
                ax.annotate("", (t, layer + 1 - h / 2), (t, layer + h / 2),
                            arrowprops=dict(arrowstyle="->", color="grey"))
    for t in range(seq_len):                        # the inputs x_t
        ax.text(t, -0.95, f"$x_{{{t}}}$", ha="center", va="center", fontsize=10)
        ax.annotate("", (t, -h / 2), (t, -0.8), arrowprops=dict(arrowstyle="->",
                                                                 color="grey"))
    top, last = num_layers - 1, seq_len - 1
    ax.add_patch(Rectangle((-0.45, top - 0.38), seq_len - 0.1, 0.76, fill=False,
                           ec="tab:blue", lw=2.5))
    ax.text((seq_len - 1) / 2, top + 0.55,
            "output: last layer, every step  (L, N, D*H)", ha="center", va="bottom",
            color="tab:blue", fontsize=10)
    ax.add_patch(Rectangle((last - 0.41, -0.34), 0.82, num_layers - 0.32, fill=False,
                           ec="tab:red", lw=2.5, ls="--"))
    ax.text(last + 0.5, (num_layers - 1) / 2, "h_n: every layer,\nlast step\n"
            "(num_layers*D, N, H)", ha="left", va="center", color="tab:red", fontsize=10)
    ax.set_xlim(-0.7, seq_len + 1.1)
    ax.set_ylim(-1.3, num_layers + 0.2)
    ax.set_xticks(range(seq_len))
    ax.set_xlabel("time step t")
    ax.set_yticks(range(num_layers))
    ax.set_yticklabels([f"layer {k}" for k in range(num_layers)])
    ax.set_ylabel("layer")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"an unrolled {num_layers}-layer RNN over {seq_len} steps")
    fig.tight_layout()
    plt.show()


def plot_ddp_allreduce(shards, grads, n=None, title=None):
    """Data parallelism in one picture, from real numbers.

    ``shards``: one list of dataset indices per rank (what its ``DistributedSampler``
    yields); ``grads``: one 1-D tensor per rank, a few entries of the gradient that rank
    computed on its shard. Left: which rank reads which sample (a sample read twice is
    padding). Right: each rank's gradient entries and their mean, the all-reduced gradient
    that every rank then applies.
    """
    from matplotlib.patches import Rectangle

    world_size = len(shards)
    n = n if n is not None else len({i for s in shards for i in s})
    colours = plt.get_cmap("tab10")
    fig, (ax_data, ax_grad) = plt.subplots(1, 2, figsize=(11, 3.4),
                                           gridspec_kw={"width_ratios": [1.1, 1]})
    for rank, shard in enumerate(shards):
        for pos, index in enumerate(shard):
            padding = pos * world_size + rank >= n  # beyond the dataset: repeated
            ax_data.add_patch(Rectangle((index, rank), 0.9, 0.8, fc=colours(rank),
                                        alpha=0.45 if padding else 0.9,
                                        hatch="//" if padding else None, ec="black",
                                        lw=0.5))
    ax_data.set_xlim(-0.2, n + 0.2)
    ax_data.set_ylim(world_size + 0.1, -0.1)
    ax_data.set_yticks([r + 0.4 for r in range(world_size)])
    ax_data.set_yticklabels([f"rank {r}" for r in range(world_size)])
    ax_data.set_xticks([i + 0.45 for i in range(n)])
    ax_data.set_xticklabels(range(n), fontsize=8)
    ax_data.set_xlabel("sample index (hatched: read again as padding)")
    ax_data.set_title("1. the data is split: each rank reads its shard")
    grads = [g.detach().flatten().cpu() for g in grads]
    mean = torch.stack(grads).mean(dim=0)
    k = len(mean)
    width = 0.8 / (world_size + 1)
    for rank, g in enumerate(grads):
        ax_grad.bar([i + rank * width for i in range(k)], g.tolist(), width,
                    color=colours(rank), label=f"rank {rank}'s gradient")
    ax_grad.bar([i + world_size * width for i in range(k)], mean.tolist(), width,
                color="black", label="all-reduce: the mean")
    ax_grad.axhline(0, color="grey", lw=0.5)
    ax_grad.set_xticks([i + world_size * width / 2 for i in range(k)])
    ax_grad.set_xticklabels([f"g[{i}]" for i in range(k)])
    ax_grad.set_xlabel("gradient entry")
    ax_grad.set_ylabel("gradient")
    ax_grad.set_title("2. every rank applies the mean of the gradients")
    ax_grad.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def show_flatten_order(x, title=None):
    """Where each value of a (C, H, W) feature map lands when it is flattened.

    Top: one grid per channel, every value written in its cell, each channel in its own
    colour. Bottom: ``torch.flatten(x)``, the vector ``nn.Flatten()`` makes of one
    sample, with the same colours and, under each position, the (c, h, w) it came from:
    channel-major order, then row by row, then along a row. Small tensors only. A
    (1, C, H, W) batch of one is drawn as its sample. Returns the figure.
    """
    from matplotlib.colors import to_rgb

    x = x.detach().cpu()
    if x.dim() == 4:
        x = x[0]
    channels, height, width = x.shape
    n = x.numel()
    palette = [to_rgb(c) for c in plt.get_cmap("tab10").colors]
    light = torch.tensor([[0.35 * v + 0.65 for v in palette[c % 10]]
                          for c in range(channels)])
    # the (c, h, w) of every position, flattened by torch itself, so the order shown is
    # the order torch uses
    c_of = torch.arange(channels).view(-1, 1, 1).expand(channels, height, width).flatten()
    h_of = torch.arange(height).view(1, -1, 1).expand(channels, height, width).flatten()
    w_of = torch.arange(width).view(1, 1, -1).expand(channels, height, width).flatten()
    flat = torch.flatten(x)
    text = lambda v: f"{v:g}" if isinstance(v, (int, float)) else str(v)  # noqa: E731
    fig = plt.figure(figsize=(max(6.0, 0.55 * n + 1.0), 4.4))
    grid = fig.add_gridspec(2, channels, height_ratios=[1.5, 1.0])
    for c in range(channels):
        ax = fig.add_subplot(grid[0, c])
        ax.imshow(light[c].view(1, 1, 3).expand(height, width, 3))
        for h in range(height):
            for w in range(width):
                ax.text(w, h, text(x[c, h, w].item()), ha="center", va="center",
                        fontsize=9)
        ax.set_xticks(range(width))
        ax.set_yticks(range(height))
        ax.set_xlabel("w")
        ax.set_ylabel("h")
        ax.set_title(f"channel c = {c}", color=palette[c % 10], fontsize=10)
    ax = fig.add_subplot(grid[1, :])
    ax.imshow(light[c_of].view(1, n, 3), aspect="auto")
    for i, v in enumerate(flat.tolist()):
        ax.text(i, 0, text(v), ha="center", va="center", fontsize=9)
    for i in range(1, n):
        if i % (height * width) == 0:
            ax.axvline(i - 0.5, color="black", linewidth=2)
        elif i % width == 0:
            ax.axvline(i - 0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set_yticks([])
    ax.set_xticks(range(n))
    ax.set_xticklabels([f"{i}\n{c},{h},{w}" for i, c, h, w in
                        zip(range(n), c_of.tolist(), h_of.tolist(), w_of.tolist())],
                       fontsize=7)
    ax.set_xlabel("position in the flattened vector; under it, the c,h,w it came from "
                  "(solid line: next channel, dashed: next row)")
    ax.set_title(f"flattened: {n} values = {channels} * {height} * {width}, channel by "
                 "channel, each row by row", fontsize=10)
    fig.suptitle(title or f"how nn.Flatten orders one ({channels}, {height}, {width}) "
                 "sample: c, then h, then w")
    fig.tight_layout()
    plt.show()
    return fig


def show_batch_flatten(X, labels=None, title=None):
    """``nn.Flatten()`` against ``torch.flatten`` on a small batch of images (N, 1, H, W).

    Top: the images. Middle: ``nn.Flatten()(X)``, one row per sample. Bottom:
    ``torch.flatten(X)``, one strip for the whole batch, each sample's stretch shaded in
    its colour. Returns the figure.
    """
    X = X.detach().cpu()
    n = len(X)
    features = X[0].numel()
    kept, merged = torch.nn.Flatten()(X), torch.flatten(X)
    colours = plt.get_cmap("tab10").colors
    fig = plt.figure(figsize=(10, 4.6))
    grid = fig.add_gridspec(3, n, height_ratios=[1.3, 1.0, 0.45])
    for i in range(n):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(X[i, 0], cmap="gray_r")
        name = f"sample {i}" + (f": digit {int(labels[i])}" if labels is not None else "")
        ax.set_title(name, color=colours[i % 10], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(grid[1, :])
    ax.imshow(kept, cmap="gray_r", aspect="auto")
    ax.set_yticks(range(n), [f"sample {i}" for i in range(n)])
    ax.set_xticks([0, features - 1])
    ax.set_xlabel("feature", labelpad=-2)
    ax.set_title(f"nn.Flatten(): {tuple(kept.shape)}, one row per sample; "
                 f"Linear({features}, 10) sees one sample at a time", fontsize=9)
    ax = fig.add_subplot(grid[2, :])
    ax.imshow(merged[None], cmap="gray_r", aspect="auto")
    for i in range(n):
        ax.axvspan(features * i - 0.5, features * (i + 1) - 0.5, color=colours[i % 10],
                   alpha=0.25)
    ax.set_yticks([])
    ax.set_xticks([features * i for i in range(n)] + [merged.numel() - 1])
    ax.set_xlabel("position in the one long vector")
    ax.set_title(f"torch.flatten(x): {tuple(merged.shape)}, one row for the whole batch; "
                 f"a Linear({merged.numel()}, 10) would see all {n} samples at once",
                 fontsize=9)
    fig.suptitle(title or "flattening a batch: keep dimension 0")
    fig.tight_layout()
    plt.show()
    return fig


# ----------------------------------------------------------------------------------------
# Issue 12: losses against the error, the logit or the margin (ch08)


def plot_loss_shapes(panels, title=None):
    """Losses as functions of one number, their slopes (by autograd) underneath.

    ``panels`` is a list of dicts, one column each: ``title``, ``x`` (a 1-D tensor: the
    error, the logit, the margin...), ``xlabel``, ``var`` (the short name of x, for the
    slope's axis) and ``losses`` (``{name: fn}``, each ``fn`` mapping x to one loss per
    element). Top row: the losses; bottom row: d loss / d x, what backward() sends into
    x. Returns the figure.
    """
    ncols = len(panels)
    fig, axes = plt.subplots(2, ncols, figsize=(4.2 * ncols, 5.4), sharex="col",
                             squeeze=False)
    for col, panel in enumerate(panels):
        top, bottom = axes[0, col], axes[1, col]
        x = panel["x"].detach().cpu()
        var = panel.get("var", "x")
        for name, fn in panel["losses"].items():
            xg = x.clone().requires_grad_(True)
            with torch.enable_grad():
                values = fn(xg)
                (slope,) = torch.autograd.grad(values.sum(), xg)
            (line,) = top.plot(x, values.detach(), label=name)
            bottom.plot(x, slope, color=line.get_color(), label=name)
        for ax in (top, bottom):
            ax.axhline(0, color="grey", lw=0.5)
            ax.axvline(0, color="grey", lw=0.5)
            ax.grid(alpha=0.3)
        top.set_title(panel["title"])
        top.set_ylabel("loss")
        top.legend(fontsize=8)
        bottom.set_title(f"its slope d loss / d {var}")
        bottom.set_xlabel(panel.get("xlabel", var))
        bottom.set_ylabel(f"d loss / d {var}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
    return fig


# ----------------------------------------------------------------------------------------
# Issue 12: normalization and dropout (ch05)


def plot_channel_histograms(stages, bins=60, title=None):
    """One panel per stage, one histogram per channel: how each channel's values spread.

    ``stages`` maps a panel title to a batch (N, C, ...), e.g. ``{"before": X, "after
    BatchNorm2d": Y}``; channel c of every stage is drawn in the same colour. The panels
    share their y axis. Returns the figure.
    """
    fig, axes = plt.subplots(1, len(stages), figsize=(4.5 * len(stages), 3.2),
                             sharey=True, squeeze=False)
    for ax, (name, batch) in zip(axes[0], stages.items()):
        batch = batch.detach().cpu().float()
        for c in range(batch.shape[1]):
            ax.hist(batch[:, c].flatten(), bins=bins, alpha=0.6, label=f"channel {c}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("value")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("count")
    axes[0, 0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
    return fig


def show_norm_groups(num_samples=4, num_channels=6, num_groups=2, title=None):
    """Which (sample, channel) cells of an (N, C, H, W) batch share one mean and variance.

    One grid per normalisation, samples as rows and channels as columns; each cell stands
    for the H x W values of one feature map, and cells of one colour are normalised
    together: batch norm per channel, layer norm over (C, H, W) per sample, group norm
    per sample and group of channels, instance norm per sample and channel. Returns the
    figure.
    """
    n, c, g = num_samples, num_channels, num_groups
    rows, cols = torch.meshgrid(torch.arange(n), torch.arange(c), indexing="ij")
    groups = {
        "BatchNorm2d(C)": cols,                            # one set per channel
        "LayerNorm((C, H, W))": rows,                      # one set per sample
        f"GroupNorm({g}, C)": rows * g + cols // (c // g),  # per sample and group
        "InstanceNorm2d(C)": rows * c + cols,              # per sample and channel
    }
    fig, axes = plt.subplots(1, len(groups), figsize=(3 * len(groups), 2.6))
    for ax, (name, ids) in zip(axes, groups.items()):
        ax.imshow(ids, cmap="tab20", vmin=0, vmax=ids.max().item() + 1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("channel C")
        ax.set_ylabel("sample N")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or "cells of one colour share one mean and one variance")
    fig.tight_layout()
    plt.show()
    return fig


def show_panels_same_scale(panels, vmin=0.0, vmax=1.0, title=None, size=2.5):
    """Grey images side by side on ONE colour scale from ``vmin`` to ``vmax``.

    ``panels`` maps a title to a (1, H, W) or (H, W) tensor. Unlike show_feature_maps,
    which scales every panel on its own, equal values look equal in every panel, so a
    panel whose values were multiplied by 2 looks brighter. Returns the figure.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size + 0.3),
                             squeeze=False)
    for ax, (name, image) in zip(axes[0], panels.items()):
        image = image.detach().cpu().float()
        ax.imshow(image[0] if image.dim() == 3 else image, cmap="gray", vmin=vmin,
                  vmax=vmax)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title or f"one grey scale for every panel: black {vmin:g}, white {vmax:g}")
    fig.tight_layout()
    plt.show()
    return fig


# ----------------------------------------------------------------------------------------
# Issue 12, chapter 10: what a surgery left trainable


def _param_layers(module, new):
    """(name, class, trainable, frozen, is_new) for every submodule owning parameters."""
    rows = []
    for name, sub in module.named_modules():
        own = list(sub.parameters(recurse=False))
        if not own:
            continue
        trainable = sum(p.numel() for p in own if p.requires_grad)
        frozen = sum(p.numel() for p in own if not p.requires_grad)
        is_new = any(name == n or name.startswith(n + ".") for n in new)
        rows.append((name or "(top)", type(sub).__name__, trainable, frozen, is_new))
    return rows


def plot_trainable_params(module, new=(), title=None):
    """Where a model's parameters are, and which of them will train, after a surgery.

    Left: one bar per layer that owns parameters (in ``named_modules()`` order, log
    scale), grey and hatched where frozen (``requires_grad`` False), blue where
    trainable, orange for the layers named in ``new`` (the replaced head); a layer only
    partly frozen says so after its count. Right: the totals of the three kinds, on a
    linear scale, with their share of the model. The picture depends only on the
    structure and the ``requires_grad`` flags, so it is deterministic.
    """
    from matplotlib.patches import Patch
    from matplotlib.ticker import EngFormatter

    rows = _param_layers(module, tuple(new))
    colours = {"frozen": "#b7b7b7", "trainable": "#3c78d8", "new": "#e69138"}
    fig, (ax, ax_total) = plt.subplots(
        1, 2, figsize=(11, 0.3 * len(rows) + 1.6), gridspec_kw={"width_ratios": [1.6, 1]})
    for i, (name, cls, trainable, frozen, is_new) in enumerate(rows):
        kind = "frozen" if not trainable else ("new" if is_new else "trainable")
        ax.barh(i, trainable + frozen, color=colours[kind], edgecolor="black",
                linewidth=0.4, hatch="//" if kind == "frozen" else None)
        note = f" ({frozen:,} frozen)" if trainable and frozen else ""
        ax.text(trainable + frozen, i, f" {trainable + frozen:,}{note}", va="center",
                fontsize=7)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{name}  {cls}" for name, cls, *_ in rows], fontsize=8,
                       family="monospace")
    ax.invert_yaxis()
    ax.set_xscale("log")
    sizes = [t + f for _, _, t, f, _ in rows]
    ax.set_xlim(min(sizes) / 10, max(sizes) * 40)
    ax.set_xlabel("parameters of the layer (log scale)")
    ax.set_title("per layer")
    ax.legend(handles=[Patch(fc=colours["frozen"], hatch="//", ec="black", label="frozen"),
                       Patch(fc=colours["trainable"], ec="black", label="trainable"),
                       Patch(fc=colours["new"], ec="black", label="new (replaced)")],
              fontsize=8, loc="upper right")
    totals = {"frozen": sum(r[3] for r in rows),
              "trainable": sum(r[2] for r in rows if not r[4]),
              "new": sum(r[2] for r in rows if r[4])}
    everything = max(sum(totals.values()), 1)
    ax_total.barh(range(3), list(totals.values()), color=list(colours.values()),
                  edgecolor="black", linewidth=0.4)
    ax_total.patches[0].set_hatch("//")
    for i, count in enumerate(totals.values()):
        ax_total.text(count, i, f" {count:,} ({100 * count / everything:.2g}%)",
                      va="center", fontsize=8)
    ax_total.set_yticks(range(3))
    ax_total.set_yticklabels(["frozen", "trainable,\npretrained", "trainable,\nnew"],
                             fontsize=8)
    ax_total.invert_yaxis()
    ax_total.set_xlim(0, max(max(totals.values()) * 1.7, 1))
    ax_total.xaxis.set_major_formatter(EngFormatter())
    ax_total.set_xlabel("parameters (linear scale)")
    ax_total.set_title("in total")
    fig.suptitle(title or f"trainable and frozen parameters of {type(module).__name__}")
    fig.tight_layout()
    plt.show()
    return fig


def _sequential_layer_label(layer):
    """A one-line description of a layer for ``draw_sequential_shapes``."""
    import re

    nn = torch.nn
    if isinstance(layer, nn.Sequential):
        return f"Sequential of {len(layer)} layers"
    if isinstance(layer, nn.Conv2d):
        k, p = layer.kernel_size, layer.padding
        k = k[0] if len(set(k)) == 1 else k
        p = p if isinstance(p, str) else (p[0] if len(set(p)) == 1 else p)
        return f"Conv2d({layer.in_channels}, {layer.out_channels}, {k}, padding={p})"
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}, {layer.out_features})"
    if (isinstance(layer, nn.MaxPool2d) and layer.stride == layer.kernel_size
            and layer.padding == 0 and layer.dilation == 1 and not layer.ceil_mode):
        return f"MaxPool2d({layer.kernel_size})"
    if isinstance(layer, nn.Flatten) and (layer.start_dim, layer.end_dim) == (1, -1):
        return "Flatten()"
    text = re.sub(r"\((\d+), \1\)", r"\1", layer.extra_repr())
    text = re.sub(r", (stride|padding|dilation)=(1|0)\b|, ceil_mode=False|, inplace=False",
                  "", text)
    text = f"{type(layer).__name__}({text})"
    return text if len(text) <= 34 else text[:31] + "..."


def draw_sequential_shapes(net, input_shape, title=None):
    """A ``Sequential`` as a column of its direct children, with the shape of the tensor
    that flows between each pair, found by a dry run of a zero batch of ``input_shape``.

    Each box gives the child's position, name, what it is and its number of parameters
    (blue: it has some; grey: none). When a child raises a ``RuntimeError``, its box
    turns red beside the shape that reached it, and the children after it are faded: the
    dry run never reached them. Returns the figure; it depends only on the layers and the
    shape, so it is deterministic.
    """
    from matplotlib.patches import FancyBboxPatch, Patch

    children = list(net.named_children())
    x = torch.zeros(input_shape)
    shapes, failed = [tuple(x.shape)], None      # shapes[i]: what goes into child i
    with torch.no_grad():
        for i, (_, layer) in enumerate(children):
            try:
                x = layer(x)
            except RuntimeError as err:
                failed = (i, type(err).__name__)
                break
            shapes.append(tuple(x.shape))
    n, step, box_w, box_h = len(children), 0.9, 4.2, 0.5
    fig, ax = plt.subplots(figsize=(7.4, 0.62 * (n + 2) + 0.6))

    def arrow(y_top, label):
        ax.annotate("", (0, y_top - step + box_h / 2 + 0.02), (0, y_top - box_h / 2 - 0.02),
                    arrowprops=dict(arrowstyle="->", color="grey"))
        ax.text(0.15, y_top - step / 2, label, va="center", ha="left", fontsize=9,
                family="monospace", color="tab:blue")

    dims = {2: "   (N, features)", 4: "   (N, C, H, W)"}.get(len(shapes[0]), "")
    ax.text(0, 0, "input", ha="center", va="center", fontsize=9)
    arrow(0, f"{shapes[0]}{dims}")
    for i, (name, layer) in enumerate(children):
        y = -step * (i + 1)
        params = sum(p.numel() for p in layer.parameters())
        broken = failed is not None and i == failed[0]
        reached = failed is None or i <= failed[0]
        if broken:
            fc, ec = "#f4cccc", "tab:red"
        else:
            fc, ec = ("#ddeeff", "#6fa8dc") if params else ("#f4f4f4", "#999999")
        alpha = 1.0 if reached else 0.4
        ax.add_patch(FancyBboxPatch((-box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.04", fc=fc, ec=ec, alpha=alpha))
        ax.text(-box_w / 2 + 0.12, y, f"{i}  {name}", va="center", ha="left", fontsize=9,
                family="monospace", fontweight="bold", alpha=alpha)
        ax.text(-box_w / 2 + 1.45, y, _sequential_layer_label(layer), va="center", ha="left",
                fontsize=8.5, family="monospace", alpha=alpha)
        ax.text(box_w / 2 + 0.15, y, f"{params:,} params", va="center", ha="left",
                fontsize=8.5, color="dimgrey", alpha=alpha)
        if broken:
            ax.text(box_w / 2 + 1.5, y, f"{failed[1]}:\ncannot take {shapes[i]}",
                    va="center", ha="left", fontsize=8.5, color="tab:red")
        elif reached:
            arrow(y, str(shapes[i + 1]))
    if failed is None:
        ax.text(0, -step * (n + 1), "output", ha="center", va="center", fontsize=9)
    ax.legend(handles=[Patch(fc="#ddeeff", ec="#6fa8dc", label="has parameters"),
                       Patch(fc="#f4f4f4", ec="#999999", label="no parameters")],
              loc="lower right", fontsize=8, frameon=False)
    ax.set_xlim(-box_w / 2 - 0.2, box_w / 2 + 3.6)
    ax.set_ylim(-step * (n + 1) - 0.3, 0.3)
    ax.axis("off")
    ax.set_title(title or f"a dry run of {tuple(input_shape)} through the "
                          f"{n} layers of a {type(net).__name__}")
    fig.tight_layout()
    return fig
