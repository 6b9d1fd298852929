"""Other correct answers for the chapter 3 exercises: each must earn full marks."""

# %% [alternative ex1_pool_size] math.floor and math.ceil of a true division
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = stride or kernel_size
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    rounding = math.ceil if ceil_mode else math.floor
    out = rounding(span / stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1                                  # that window would start in the padding
    return out

# %% [alternative ex1_pool_size] counts the window starts one by one
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if stride is None:
        stride = kernel_size
    last = size + 2 * padding - dilation * (kernel_size - 1) - 1   # last start that fits
    if ceil_mode:
        last += stride - 1                      # a window may run over the end...
    count, start = 0, 0
    while start <= last and start < size + padding:   # ...but must start in the input
        count += 1
        start += stride
    return count

# %% [alternative ex1_pool_size] divmod: one more window when the last one is partial
def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    windows, left_over = divmod(size + 2 * padding - dilation * (kernel_size - 1) - 1,
                                stride)
    out = windows + 1
    if ceil_mode and left_over > 0:
        out += 1
        if (out - 1) * stride >= size + padding:
            out -= 1
    return out

# %% [alternative ex2_max_pool] loops over the output pixels, padding filled with -inf
def max_pool2d(x, kernel_size, stride=None, padding=0):
    if stride is None:
        stride = kernel_size
    n, c, h, w = x.shape
    padded = torch.full((n, c, h + 2 * padding, w + 2 * padding), float("-inf"),
                        dtype=x.dtype)
    padded[:, :, padding:padding + h, padding:padding + w] = x
    out_h = (h + 2 * padding - kernel_size) // stride + 1
    out_w = (w + 2 * padding - kernel_size) // stride + 1
    out = torch.empty(n, c, out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, :, i * stride:i * stride + kernel_size,
                            j * stride:j * stride + kernel_size]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out

# %% [alternative ex2_max_pool] F.unfold columns, padded with the dtype's lowest number
def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = stride or kernel_size
    n, c, h, w = x.shape
    lowest = torch.finfo(x.dtype).min
    x = F.pad(x, (padding,) * 4, value=lowest)
    cols = F.unfold(x.reshape(n * c, 1, h + 2 * padding, w + 2 * padding), kernel_size,
                    stride=stride)                            # (N*C, k*k, L)
    out_h = (h + 2 * padding - kernel_size) // stride + 1
    out_w = (w + 2 * padding - kernel_size) // stride + 1
    return cols.max(dim=1).values.reshape(n, c, out_h, out_w)

# %% [alternative ex2_max_pool] Tensor.unfold, then max twice
def max_pool2d(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    if padding:
        x = F.pad(x, [padding, padding, padding, padding], mode="constant",
                  value=-math.inf)
    patches = x.unfold(-2, kernel_size, s).unfold(-2, kernel_size, s)
    return patches.max(dim=-1).values.max(dim=-1).values

# %% [alternative ex3_adaptive] prefix sums: every window's mean in one step
def adaptive_avg_pool1d(x, output_size):
    length = x.shape[-1]
    i = torch.arange(output_size)
    starts = (i * length) // output_size
    ends = -((-(i + 1) * length) // output_size)                  # rounded up
    zero = torch.zeros(x.shape[:-1] + (1,), dtype=x.dtype)
    prefix = torch.cat([zero, x.cumsum(dim=-1)], dim=-1)          # (N, C, L + 1)
    sums = prefix[..., ends] - prefix[..., starts]
    return sums / (ends - starts).to(x.dtype)

# %% [alternative ex3_adaptive] math.floor and math.ceil, means kept with keepdim
def adaptive_avg_pool1d(x, output_size):
    L = x.size(2)
    pieces = []
    for i in range(output_size):
        a = math.floor(i * L / output_size)
        b = math.ceil((i + 1) * L / output_size)
        pieces.append(x[:, :, a:b].mean(dim=2, keepdim=True))     # (N, C, 1)
    return torch.cat(pieces, dim=2)

# %% [alternative ex3_adaptive] an averaging matrix: x @ A
def adaptive_avg_pool1d(x, output_size):
    length = x.shape[-1]
    A = torch.zeros(length, output_size, dtype=x.dtype)           # (L, output_size)
    for i in range(output_size):
        start = i * length // output_size
        end = ((i + 1) * length + output_size - 1) // output_size
        A[start:end, i] = 1.0 / (end - start)
    return x @ A

# %% [alternative ex4_pool_layers] tuples everywhere, stride spelled out
pool_keep = nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
pool_ceil = nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2), ceil_mode=True)
pool_fixed = nn.AdaptiveAvgPool2d((5, 5))
pool_global = nn.AdaptiveMaxPool2d((1, 1))

# %% [alternative ex4_pool_layers] the 小土堆 style: keyword arguments, ceil_mode written out
pool_keep = nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False)
pool_ceil = nn.MaxPool2d(kernel_size=2, ceil_mode=True)
pool_fixed = nn.AdaptiveAvgPool2d(output_size=5)
pool_global = nn.AdaptiveMaxPool2d(output_size=1)

# %% [alternative ex4_pool_layers] positional arguments, a global max written as a module
class GlobalMaxPool(nn.Module):
    def forward(self, x):
        return x.amax(dim=(2, 3), keepdim=True)                  # (N, C, 1, 1)


pool_keep = nn.MaxPool2d(3, 1, 1)
pool_ceil = nn.MaxPool2d(2, 2, 0, 1, False, True)
pool_fixed = nn.AdaptiveAvgPool2d(output_size=(5, 5))
pool_global = GlobalMaxPool()

# %% [alternative ex5_downsample] an nn.AvgPool2d layer on a batch of one
def downsample(image, factor):
    pool = nn.AvgPool2d(kernel_size=factor, stride=factor)
    x = image.permute(2, 0, 1).unsqueeze(0).to(torch.float32)    # (1, 3, H, W)
    return pool(x / 255.0).squeeze(0)

# %% [alternative ex5_downsample] divides by 255 after pooling, channels moved with movedim
def downsample(image, factor):
    x = torch.movedim(image, -1, 0).float()                      # (3, H, W)
    return F.avg_pool2d(x, kernel_size=factor) / 255

# %% [alternative ex5_downsample] block means with reshape, no pooling function
def downsample(image, factor):
    h, w = image.shape[0] // factor, image.shape[1] // factor
    x = image[:h * factor, :w * factor].float() / 255            # cut the left-overs
    blocks = x.reshape(h, factor, w, factor, 3)
    return blocks.mean(dim=(1, 3)).permute(2, 0, 1).contiguous()

# %% [alternative ex6_predict] the sizes as the arithmetic done on paper
shape_ceil = (4, 6, -(-(17 - 3) // 3) + 1 - 1, -(-(12 - 3) // 3) + 1 - 1)
shape_floor = (4, 6, (17 - 3) // 3 + 1 - 1, (12 - 3) // 3 + 1 - 1)

# %% [alternative ex6_predict] lists instead of tuples
shape_ceil = [4, 6, 5, 3]
shape_floor = [4, 6, 4, 3]
