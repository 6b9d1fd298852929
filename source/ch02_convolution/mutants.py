"""Plausible wrong answers for the chapter 2 exercises: each must lose its points."""

# %% [mutant ex1_output_size] forgets the dilation
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - (kernel_size - 1) - 1) // stride + 1

# %% [mutant ex1_output_size] pads one side only
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + padding - dilation * (kernel_size - 1) - 1) // stride + 1

# %% [mutant ex1_output_size] true division: a float, not floored
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1

# %% [mutant ex1_output_size] rounds up instead of down
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return math.ceil((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

# %% [mutant ex2_layer_shape] assumes square kernels, strides and padding
def conv2d_output_shape(conv, input_shape):
    n, c, h, w = input_shape
    if c != conv.in_channels:
        raise ValueError("wrong number of channels")
    if conv.padding == "same":
        return (n, conv.out_channels, h, w)
    padding = (0, 0) if conv.padding == "valid" else conv.padding
    k, s, p, d = conv.kernel_size[0], conv.stride[0], padding[0], conv.dilation[0]
    return (n, conv.out_channels, (h + 2 * p - d * (k - 1) - 1) // s + 1,
            (w + 2 * p - d * (k - 1) - 1) // s + 1)

# %% [mutant ex2_layer_shape] keeps the input's channel count
def conv2d_output_shape(conv, input_shape):
    n, c, h, w = input_shape
    if c != conv.in_channels:
        raise ValueError("wrong number of channels")
    if conv.padding == "same":
        return (n, c, h, w)
    padding = (0, 0) if conv.padding == "valid" else conv.padding
    sizes = [(size + 2 * p - d * (k - 1) - 1) // s + 1
             for size, k, s, p, d in zip((h, w), conv.kernel_size, conv.stride, padding,
                                         conv.dilation)]
    return (n, c, sizes[0], sizes[1])

# %% [mutant ex2_layer_shape] does not know padding='same'
def conv2d_output_shape(conv, input_shape):
    n, c, h, w = input_shape
    if c != conv.in_channels:
        raise ValueError("wrong number of channels")
    sizes = [(size + 2 * p - d * (k - 1) - 1) // s + 1
             for size, k, s, p, d in zip((h, w), conv.kernel_size, conv.stride, conv.padding,
                                         conv.dilation)]
    return (n, conv.out_channels, sizes[0], sizes[1])

# %% [mutant ex2_layer_shape] never raises for a wrong channel count
def conv2d_output_shape(conv, input_shape):
    n, c, h, w = input_shape
    if conv.padding == "same":
        return (n, conv.out_channels, h, w)
    padding = (0, 0) if conv.padding == "valid" else conv.padding
    sizes = [(size + 2 * p - d * (k - 1) - 1) // s + 1
             for size, k, s, p, d in zip((h, w), conv.kernel_size, conv.stride, padding,
                                         conv.dilation)]
    return (n, conv.out_channels, sizes[0], sizes[1])

# %% [mutant ex3_transposed] forgets output_padding
def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + 1

# %% [mutant ex3_transposed] uses the convolution formula
def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1

# %% [mutant ex3_transposed] subtracts the padding once
def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    return (size - 1) * stride - padding + dilation * (kernel_size - 1) + output_padding + 1

# %% [mutant ex4_parameters] ignores groups
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)

# %% [mutant ex4_parameters] always counts the bias
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return out_channels * (in_channels // groups) * kh * kw + out_channels

# %% [mutant ex4_parameters] divides both channel counts by groups
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    weights = (out_channels // groups) * (in_channels // groups) * kh * kw
    return weights + (out_channels if bias else 0)

# %% [mutant ex4_parameters] squares the first entry of a rectangular kernel
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    return out_channels * (in_channels // groups) * k * k + (out_channels if bias else 0)

# %% [mutant ex5_target_shapes] padding 1 to keep the size of a 5x5 kernel
keep = nn.Conv2d(3, 16, kernel_size=5, padding=1)
halve = nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1)
double = nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1)
depthwise = nn.Conv2d(16, 16, kernel_size=3, padding=1, groups=16)

# %% [mutant ex5_target_shapes] halves without padding (32 -> 15)
keep = nn.Conv2d(3, 16, kernel_size=5, padding=2)
halve = nn.Conv2d(16, 32, kernel_size=3, stride=2)
double = nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1)
depthwise = nn.Conv2d(16, 16, kernel_size=3, padding=1, groups=16)

# %% [mutant ex5_target_shapes] doubles without output_padding (16 -> 31)
keep = nn.Conv2d(3, 16, kernel_size=5, padding=2)
halve = nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1)
double = nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1)
depthwise = nn.Conv2d(16, 16, kernel_size=3, padding=1, groups=16)

# %% [mutant ex5_target_shapes] a full convolution instead of a depthwise one
keep = nn.Conv2d(3, 16, kernel_size=5, padding=2)
halve = nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1)
double = nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1)
depthwise = nn.Conv2d(16, 16, kernel_size=3, padding=1)

# %% [mutant ex6_edges] the two kernels in the wrong channels
def edge_detector():
    sobel_x = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])
    layer = nn.Conv2d(1, 2, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        layer.weight[0, 0] = sobel_x.T
        layer.weight[1, 0] = sobel_x
    return layer

# %% [mutant ex6_edges] flips the kernels, as a textbook convolution would
def edge_detector():
    sobel_x = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])
    layer = nn.Conv2d(1, 2, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        layer.weight[0, 0] = sobel_x.flip(0, 1)
        layer.weight[1, 0] = sobel_x.T.flip(0, 1)
    return layer

# %% [mutant ex6_edges] keeps the random bias
def edge_detector():
    sobel_x = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])
    layer = nn.Conv2d(1, 2, kernel_size=3, padding=1)
    with torch.no_grad():
        layer.weight[0, 0] = sobel_x
        layer.weight[1, 0] = sobel_x.T
    return layer

# %% [mutant ex6_edges] no padding: the output shrinks
def edge_detector():
    sobel_x = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])
    layer = nn.Conv2d(1, 2, kernel_size=3, bias=False)
    with torch.no_grad():
        layer.weight[0, 0] = sobel_x
        layer.weight[1, 0] = sobel_x.T
    return layer

# %% [mutant ex7_conv2d] flips the kernel (a textbook convolution)
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    weight = weight.flip(-2, -1)
    x = F.pad(x, (padding, padding, padding, padding))
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    out_h = (h - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w - dilation * (kw - 1) - 1) // stride + 1
    x = x.view(n, groups, c_in // groups, h, w)
    w_groups = weight.view(groups, c_out // groups, c_group, kh, kw)
    out = x.new_zeros(n, groups, c_out // groups, out_h, out_w)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dilation, j * dilation
            patch = x[..., top:top + stride * (out_h - 1) + 1:stride,
                      left:left + stride * (out_w - 1) + 1:stride]
            out += torch.einsum("ngchw,goc->ngohw", patch, w_groups[..., i, j])
    out = out.reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

# %% [mutant ex7_conv2d] forgets the bias
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x = F.pad(x, (padding, padding, padding, padding))
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    out_h = (h - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w - dilation * (kw - 1) - 1) // stride + 1
    x = x.view(n, groups, c_in // groups, h, w)
    w_groups = weight.view(groups, c_out // groups, c_group, kh, kw)
    out = x.new_zeros(n, groups, c_out // groups, out_h, out_w)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dilation, j * dilation
            patch = x[..., top:top + stride * (out_h - 1) + 1:stride,
                      left:left + stride * (out_w - 1) + 1:stride]
            out += torch.einsum("ngchw,goc->ngohw", patch, w_groups[..., i, j])
    return out.reshape(n, c_out, out_h, out_w)

# %% [mutant ex7_conv2d] ignores dilation
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x = F.pad(x, (padding, padding, padding, padding))
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    out_h = (h - (kh - 1) - 1) // stride + 1
    out_w = (w - (kw - 1) - 1) // stride + 1
    x = x.view(n, groups, c_in // groups, h, w)
    w_groups = weight.view(groups, c_out // groups, c_group, kh, kw)
    out = x.new_zeros(n, groups, c_out // groups, out_h, out_w)
    for i in range(kh):
        for j in range(kw):
            patch = x[..., i:i + stride * (out_h - 1) + 1:stride,
                      j:j + stride * (out_w - 1) + 1:stride]
            out += torch.einsum("ngchw,goc->ngohw", patch, w_groups[..., i, j])
    out = out.reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

# %% [mutant ex7_conv2d] loops over output positions but ignores groups
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x = F.pad(x, (padding, padding, padding, padding))
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    out_h = (h - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w - dilation * (kw - 1) - 1) // stride + 1
    out = torch.zeros(n, c_out, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = x[:, :, top:top + dilation * (kh - 1) + 1:dilation,
                       left:left + dilation * (kw - 1) + 1:dilation]  # (N, C, kh, kw)
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", window, weight)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

# %% [mutant ex7_conv2d] pads only the top and left
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x = F.pad(x, (padding, 0, padding, 0))
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    out_h = (h - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w - dilation * (kw - 1) - 1) // stride + 1
    x = x.view(n, groups, c_in // groups, h, w)
    w_groups = weight.view(groups, c_out // groups, c_group, kh, kw)
    out = x.new_zeros(n, groups, c_out // groups, out_h, out_w)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dilation, j * dilation
            patch = x[..., top:top + stride * (out_h - 1) + 1:stride,
                      left:left + stride * (out_w - 1) + 1:stride]
            out += torch.einsum("ngchw,goc->ngohw", patch, w_groups[..., i, j])
    out = out.reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

# %% [mutant ex7_conv2d] calls the library function it should replace
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                    groups=groups)

# %% [mutant ex1_output_size] d*K for the span of a dilated kernel, not d*(K-1) + 1
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * kernel_size) // stride + 1

# %% [mutant ex2_layer_shape] runs the layer on zeros instead of computing the shape
def conv2d_output_shape(conv, input_shape):
    if input_shape[1] != conv.in_channels:
        raise ValueError("wrong number of channels")
    return tuple(conv(torch.zeros(input_shape)).shape)

# %% [mutant ex4_parameters] builds the layer and counts its parameters
def conv2d_num_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias)
    return sum(p.numel() for p in layer.parameters())

# %% [mutant ex5_target_shapes] reflect padding, which fails on inputs smaller than it
keep = nn.Conv2d(3, 16, kernel_size=5, padding=2, padding_mode="reflect")
halve = nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1)
double = nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1)
depthwise = nn.Conv2d(16, 16, kernel_size=3, padding=1, groups=16, padding_mode="reflect")

# %% [mutant ex7_conv2d] takes the kernel as square: its width is read from its height
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x = F.pad(x, (padding, padding, padding, padding))
    n, c_in, h, w = x.shape
    c_out, c_group, k, _ = weight.shape
    out_h = (h - dilation * (k - 1) - 1) // stride + 1
    out_w = (w - dilation * (k - 1) - 1) // stride + 1
    x = x.view(n, groups, c_in // groups, h, w)
    w_groups = weight.view(groups, c_out // groups, c_group, k, -1)
    out = x.new_zeros(n, groups, c_out // groups, out_h, out_w)
    for i in range(k):
        for j in range(min(k, w_groups.shape[-1])):
            top, left = i * dilation, j * dilation
            patch = x[..., top:top + stride * (out_h - 1) + 1:stride,
                      left:left + stride * (out_w - 1) + 1:stride]
            out += torch.einsum("ngchw,goc->ngohw", patch, w_groups[..., i, j])
    out = out.reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

# %% [mutant ex8_predict] leaves the dilation out of the last layer (15 x 11)
predicted_shape = (8, 8, 15, 11)
predicted_params = 8168

# %% [mutant ex8_predict] swaps H and W
predicted_shape = (8, 8, 9, 13)
predicted_params = 8168

# %% [mutant ex8_predict] right shape, counts the weights but not the biases
predicted_shape = (8, 8, 13, 9)
predicted_params = 8112

# %% [mutant ex8_predict] right shape, one kernel per output channel (in_channels left out)
predicted_shape = (8, 8, 13, 9)
predicted_params = 816

# %% [mutant ex8_predict] rounds the stride-2 division up (16 x 12 after the second layer)
predicted_shape = (8, 8, 14, 10)
predicted_params = 8168

# %% [mutant ex9_fix_edges] the code as handed over: three bugs
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    conv = nn.Conv2d(3, 1, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[:] = SOBEL_X
    return conv(images)

# %% [mutant ex9_fix_edges] converts to float but forgets to scale to [0, 1]
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[:] = SOBEL_X
    return conv(images.unsqueeze(1).float())

# %% [mutant ex9_fix_edges] keeps in_channels=3 and copies the grey image into 3 channels
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    conv = nn.Conv2d(3, 1, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[:] = SOBEL_X
    return conv(images.unsqueeze(1).float().div(255).repeat(1, 3, 1, 1))

# %% [mutant ex9_fix_edges] adds the channel dimension in front (unsqueeze(0)): (1, N, H, W)
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[:] = SOBEL_X
    return conv(images.unsqueeze(0).float() / 255)

# %% [mutant ex9_fix_edges] makes everything float64 instead of float32
SOBEL_X = torch.tensor([[-1., 0, 1],
                        [-2, 0, 2],
                        [-1, 0, 1]])


def edge_maps(images):
    conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, bias=False).double()
    with torch.no_grad():
        conv.weight[:] = SOBEL_X
    return conv(images.unsqueeze(1).double() / 255)
