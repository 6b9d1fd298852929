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
