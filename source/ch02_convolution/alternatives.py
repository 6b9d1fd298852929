"""Other correct answers for the chapter 2 exercises: each must earn full marks."""

# %% [alternative ex1_output_size] math.floor of a true division
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    return math.floor(span / stride) + 1

# %% [alternative ex1_output_size] counts the window positions one by one
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    padded = size + 2 * padding
    reach = dilation * (kernel_size - 1) + 1      # cells one dilated window covers
    count, start = 0, 0
    while start + reach <= padded:
        count += 1
        start += stride
    return count

# %% [alternative ex1_output_size] the effective kernel first, int() of the division
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    effective = dilation * kernel_size - dilation + 1
    return int((size + 2 * padding - effective) / stride) + 1

# %% [alternative ex2_layer_shape] a loop over the two axes, padding read per axis
def conv2d_output_shape(conv, input_shape):
    n, c, h, w = input_shape
    if c != conv.in_channels:
        raise ValueError("wrong number of input channels")
    out = []
    for axis, size in enumerate((h, w)):
        if conv.padding == "same":
            out.append(size)
            continue
        p = 0 if conv.padding == "valid" else conv.padding[axis]
        k, s, d = conv.kernel_size[axis], conv.stride[axis], conv.dilation[axis]
        out.append(math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1)
    return (n, conv.out_channels, out[0], out[1])

# %% [alternative ex2_layer_shape] isinstance(str) for the padding, a helper function
def size_after(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv2d_output_shape(conv, input_shape):
    batch, channels, height, width = input_shape
    if channels != conv.in_channels:
        raise ValueError(f"expected {conv.in_channels} channels, got {channels}")
    if isinstance(conv.padding, str):
        if conv.padding == "same":
            return (batch, conv.out_channels, height, width)
        ph, pw = 0, 0
    else:
        ph, pw = conv.padding
    kh, kw = conv.kernel_size
    (sh, sw), (dh, dw) = conv.stride, conv.dilation
    return (batch, conv.out_channels, size_after(height, kh, sh, ph, dh),
            size_after(width, kw, sw, pw, dw))

# %% [alternative ex2_layer_shape] a list of four, converted with tuple() at the end
def conv2d_output_shape(conv, input_shape):
    shape = list(input_shape)
    if shape[1] != conv.in_channels:
        raise ValueError("channels do not match")
    shape[1] = conv.out_channels
    padding = {"same": None, "valid": (0, 0)}.get(conv.padding, conv.padding) \
        if isinstance(conv.padding, str) else conv.padding
    if padding is not None:
        for i in range(2):
            k, s, d = conv.kernel_size[i], conv.stride[i], conv.dilation[i]
            shape[2 + i] = int((shape[2 + i] + 2 * padding[i] - d * (k - 1) - 1) // s + 1)
    return tuple(shape)

# %% [alternative ex3_transposed] the terms reordered, dilation times kernel_size first
def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    return (stride * (size - 1) + dilation * kernel_size - dilation + 1 - 2 * padding
            + output_padding)

# %% [alternative ex3_transposed] where the last input cell's window ends, minus the padding
def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    last_start = (size - 1) * stride            # each input cell writes at i * stride
    full = last_start + dilation * (kernel_size - 1) + 1
    return int(full - 2 * padding + output_padding)

# %% [alternative ex4_parameters] math.prod of the kernel, the bias as int(bias)
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kernel = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
    per_filter = in_channels // groups * math.prod(kernel)
    return out_channels * per_filter + int(bias) * out_channels

# %% [alternative ex4_parameters] counts per group, kernel_size unpacked with a try
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    try:
        kh, kw = kernel_size
    except TypeError:
        kh = kw = kernel_size
    per_group = (out_channels // groups) * (in_channels // groups) * kh * kw
    total = groups * per_group
    if bias:
        total += out_channels
    return total

# %% [alternative ex5_target_shapes] padding='same', tuples for the kernel sizes
keep = nn.Conv2d(3, 16, kernel_size=(5, 5), padding="same")
halve = nn.Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
double = nn.ConvTranspose2d(32, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1),
                            output_padding=(1, 1))
depthwise = nn.Conv2d(16, 16, kernel_size=(3, 3), padding="same", groups=16, bias=True)

# %% [alternative ex5_target_shapes] replicate padding, a dilated transposed convolution
keep = nn.Conv2d(3, 16, 5, 1, 2, padding_mode="replicate")
halve = nn.Conv2d(16, 32, 3, 2, 1, padding_mode="replicate")
double = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=2, output_padding=1, dilation=2)
depthwise = nn.Conv2d(in_channels=16, out_channels=16, kernel_size=3, stride=1, padding=1,
                      groups=16, padding_mode="circular")

# %% [alternative ex5_target_shapes] the 小土堆 style: keyword arguments, stride spelled out
keep = nn.Conv2d(in_channels=3, out_channels=16, kernel_size=5, stride=1, padding=2,
                 dilation=1, groups=1, bias=True, padding_mode="zeros")
halve = nn.Conv2d(in_channels=16, out_channels=32, kernel_size=3, stride=2, padding=1)
double = nn.ConvTranspose2d(in_channels=32, out_channels=16, kernel_size=3, stride=2,
                            padding=1, output_padding=1, bias=True)
depthwise = nn.Conv2d(in_channels=16, out_channels=16, kernel_size=3, stride=1, padding=1,
                      groups=16)

# %% [alternative ex6_edges] padding='same', the weight built as one (2, 1, 3, 3) tensor
def edge_detector():
    layer = nn.Conv2d(1, 2, (3, 3), padding="same", bias=False)
    sobel = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])
    with torch.no_grad():
        layer.weight.copy_(torch.stack([sobel, sobel.t()]).unsqueeze(1))
    return layer

# %% [alternative ex6_edges] reflect padding, a frozen weight set through .data
def edge_detector():
    conv = nn.Conv2d(1, 2, kernel_size=3, stride=1, padding=1, bias=False,
                     padding_mode="reflect")
    kx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float32)
    conv.weight.data = torch.stack([kx, kx.T])[:, None]     # (2, 1, 3, 3)
    conv.requires_grad_(False)                               # a fixed filter
    return conv

# %% [alternative ex6_edges] a new nn.Parameter, the transpose written out
def edge_detector():
    detector = nn.Conv2d(in_channels=1, out_channels=2, kernel_size=3, padding=1,
                         bias=False, padding_mode="replicate")
    vertical = [[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]]
    horizontal = [[-1., -2., -1.], [0., 0., 0.], [1., 2., 1.]]
    detector.weight = nn.Parameter(torch.tensor([[vertical], [horizontal]]))
    return detector

# %% [alternative ex7_conv2d] im2col with F.unfold and one matrix product per group
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    out_h = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(n, groups, c_group * kh * kw, out_h * out_w)  # (N, G, C/G*k*k, L)
    w_mat = weight.view(groups, c_out // groups, c_group * kh * kw)
    out = torch.einsum("gok,ngkl->ngol", w_mat, cols).reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out

# %% [alternative ex7_conv2d] loops over the output positions and the groups
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x = F.pad(x, [padding] * 4)
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    out_h = (h - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w - dilation * (kw - 1) - 1) // stride + 1
    out = torch.zeros(n, c_out, out_h, out_w, dtype=x.dtype)
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        inputs = x[:, g * c_group:(g + 1) * c_group]            # this group's channels
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                patch = inputs[:, :, top:top + dilation * (kh - 1) + 1:dilation,
                               left:left + dilation * (kw - 1) + 1:dilation]
                out[:, o, i, j] = (patch * weight[o]).sum(dim=(1, 2, 3))
        if bias is not None:
            out[:, o] += bias[o]
    return out

# %% [alternative ex7_conv2d] Tensor.unfold windows, the groups split with torch.chunk
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    c_out, c_group, kh, kw = weight.shape
    x = F.pad(x, (padding, padding, padding, padding))
    span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    # (N, C, oh, ow, span_h, span_w), then keep every dilation-th cell of each window
    windows = x.unfold(2, span_h, stride).unfold(3, span_w, stride)
    windows = windows[..., ::dilation, ::dilation]              # (N, C, oh, ow, kh, kw)
    outs = [torch.einsum("nchwij,ocij->nohw", part, w)
            for part, w in zip(windows.chunk(groups, dim=1), weight.chunk(groups, dim=0))]
    out = torch.cat(outs, dim=1)
    return out if bias is None else out + bias.view(-1, 1, 1)

# %% [alternative ex8_predict] the sizes written as the arithmetic done on paper
predicted_shape = (8, 8, (15 + 2 * 1 - 2 * (3 - 1) - 1) // 1 + 1,
                   (11 + 2 * 1 - 2 * (3 - 1) - 1) // 1 + 1)
predicted_params = (16 * 3 * 5 * 5 + 16) + (32 * 16 * 3 * 3 + 32) + (8 * 32 * 3 * 3 + 8)

# %% [alternative ex8_predict] a list for the shape, the count as a sum of a list
predicted_shape = [8, 8, 13, 9]
predicted_params = sum([1216, 4640, 2312])

# %% [alternative ex9_fix_edges] the function form: F.conv2d with the kernel as a weight
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    x = images[:, None].to(torch.float32) / 255.0          # (N, 1, H, W)
    return F.conv2d(x, SOBEL_X.view(1, 1, 3, 3), padding=1)

# %% [alternative ex9_fix_edges] uint8 / 255 is already float32; padding='same', copy_
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    conv = nn.Conv2d(in_channels=1, out_channels=1, kernel_size=3, padding="same",
                     bias=False)
    with torch.no_grad():
        conv.weight.copy_(SOBEL_X.expand(1, 1, 3, 3))
    grey = (images / 255).unsqueeze(1)
    return conv(grey).detach()
