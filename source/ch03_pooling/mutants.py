"""Plausible wrong answers for the chapter 3 exercises: each must lose its points."""

# %% [mutant ex1_pool_size] stride defaults to 1, as for a convolution
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if stride is None:
        stride = 1
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out

# %% [mutant ex1_pool_size] ignores ceil_mode
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if stride is None:
        stride = kernel_size
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1

# %% [mutant ex1_pool_size] rounds up but keeps a window that starts beyond the input
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if stride is None:
        stride = kernel_size
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if ceil_mode:
        return math.ceil(span / stride) + 1
    return span // stride + 1

# %% [mutant ex1_pool_size] forgets the dilation
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if stride is None:
        stride = kernel_size
    span = size + 2 * padding - (kernel_size - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out

# %% [mutant ex2_max_pool] pads with zeros
def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    x = F.pad(x, (padding, padding, padding, padding))
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.amax(dim=(-2, -1))

# %% [mutant ex2_max_pool] stride defaults to 1
def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = 1 if stride is None else stride
    x = F.pad(x, (padding, padding, padding, padding), value=float("-inf"))
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.amax(dim=(-2, -1))

# %% [mutant ex2_max_pool] loops over output pixels but ignores the padding
def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    out_h = (h - kernel_size) // stride + 1
    out_w = (w - kernel_size) // stride + 1
    out = torch.empty(n, c, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride:i * stride + kernel_size,
                       j * stride:j * stride + kernel_size]
            out[:, :, i, j] = window.amax(dim=(-2, -1))
    return out

# %% [mutant ex2_max_pool] takes the average
def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    return F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=False)

# %% [mutant ex3_adaptive] equal windows of L // n values
def adaptive_avg_pool1d(x, output_size):
    width = max(1, x.shape[-1] // output_size)
    means = [x[..., i * width:(i + 1) * width].mean(dim=-1) for i in range(output_size)]
    return torch.stack(means, dim=-1)

# %% [mutant ex3_adaptive] rounds the end of each window down
def adaptive_avg_pool1d(x, output_size):
    length = x.shape[-1]
    means = []
    for i in range(output_size):
        start = (i * length) // output_size
        end = ((i + 1) * length) // output_size
        means.append(x[..., start:end].mean(dim=-1))
    return torch.stack(means, dim=-1)

# %% [mutant ex3_adaptive] an ordinary average pooling with kernel L // n
def adaptive_avg_pool1d(x, output_size):
    return F.avg_pool1d(x, max(1, x.shape[-1] // output_size))

# %% [mutant ex4_pool_layers] expects the stride to default to 1
pool_keep = nn.MaxPool2d(3, padding=1)
pool_ceil = nn.MaxPool2d(2, ceil_mode=True)
pool_fixed = nn.AdaptiveAvgPool2d(5)
pool_global = nn.AdaptiveMaxPool2d(1)

# %% [mutant ex4_pool_layers] forgets ceil_mode
pool_keep = nn.MaxPool2d(3, stride=1, padding=1)
pool_ceil = nn.MaxPool2d(2)
pool_fixed = nn.AdaptiveAvgPool2d(5)
pool_global = nn.AdaptiveMaxPool2d(1)

# %% [mutant ex4_pool_layers] AvgPool2d(5): a window of 5, not an output of 5
pool_keep = nn.MaxPool2d(3, stride=1, padding=1)
pool_ceil = nn.MaxPool2d(2, ceil_mode=True)
pool_fixed = nn.AvgPool2d(5)
pool_global = nn.AdaptiveMaxPool2d(1)

# %% [mutant ex4_pool_layers] global average instead of global maximum
pool_keep = nn.MaxPool2d(3, stride=1, padding=1)
pool_ceil = nn.MaxPool2d(2, ceil_mode=True)
pool_fixed = nn.AdaptiveAvgPool2d(5)
pool_global = nn.AdaptiveAvgPool2d(1)

# %% [mutant ex5_downsample] averages integers, then divides
def downsample(image, factor):
    x = image.permute(2, 0, 1).long()
    return F.avg_pool2d(x, factor).float() / 255

# %% [mutant ex5_downsample] reshape instead of permute
def downsample(image, factor):
    x = image.reshape(3, image.shape[0], image.shape[1]).float() / 255
    return F.avg_pool2d(x, factor)

# %% [mutant ex5_downsample] forgets to divide by 255
def downsample(image, factor):
    return F.avg_pool2d(image.permute(2, 0, 1).float(), factor)

# %% [mutant ex5_downsample] max pooling instead of averaging
def downsample(image, factor):
    x = image.permute(2, 0, 1).float() / 255
    return F.max_pool2d(x, factor)

# %% [mutant ex2_max_pool] pads with -inf on the top and left only
def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    x = F.pad(x, (padding, 0, padding, 0), value=float("-inf"))
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.amax(dim=(-2, -1))

# %% [mutant ex3_adaptive] every window ends one past floor((i + 1) * L / n)
def adaptive_avg_pool1d(x, output_size):
    length = x.shape[-1]
    means = []
    for i in range(output_size):
        start = (i * length) // output_size
        end = min(length, (i + 1) * length // output_size + 1)
        means.append(x[..., start:end].mean(dim=-1))
    return torch.stack(means, dim=-1)

# %% [mutant ex4_pool_layers] padding=1 instead of ceil_mode (right for 7x7 only)
pool_keep = nn.MaxPool2d(3, stride=1, padding=1)
pool_ceil = nn.MaxPool2d(2, padding=1)
pool_fixed = nn.AdaptiveAvgPool2d(5)
pool_global = nn.AdaptiveMaxPool2d(1)

# %% [mutant ex5_downsample] ceil_mode=True keeps the left-over rows and columns
def downsample(image, factor):
    x = image.permute(2, 0, 1).float() / 255
    return F.avg_pool2d(x, factor, ceil_mode=True)

# %% [mutant ex6_predict] ignores ceil_mode: both answers rounded down
shape_ceil = (4, 6, 4, 3)
shape_floor = (4, 6, 4, 3)

# %% [mutant ex6_predict] takes the max pool's stride as 1 (the convolution default)
shape_ceil = (4, 6, 14, 9)
shape_floor = (4, 6, 14, 9)

# %% [mutant ex6_predict] forgets the average pool's stride=1 and halves again
shape_ceil = (4, 6, 3, 2)
shape_floor = (4, 6, 2, 1)

# %% [mutant ex6_predict] swaps H and W
shape_ceil = (4, 6, 3, 5)
shape_floor = (4, 6, 3, 4)

# %% [mutant ex6_predict] right with ceil_mode, but rounds up without it too
shape_ceil = (4, 6, 5, 3)
shape_floor = (4, 6, 5, 3)
