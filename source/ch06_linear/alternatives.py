"""Other correct answers for the chapter 6 exercises: each must earn full marks."""

# %% [alternative ex1_flatten] the new shape built as a list, the product in a loop
def flatten(x, start_dim=1, end_dim=-1):
    if start_dim < 0:
        start_dim += x.dim()
    if end_dim < 0:
        end_dim += x.dim()
    merged = 1
    for size in x.shape[start_dim:end_dim + 1]:
        merged *= size
    new_shape = list(x.shape[:start_dim]) + [merged] + list(x.shape[end_dim + 1:])
    return x.reshape(new_shape)

# %% [alternative ex1_flatten] contiguous() then view, with -1 for the merged size
def flatten(x, start_dim=1, end_dim=-1):
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return x.contiguous().view(*x.shape[:start], -1, *x.shape[end + 1:])

# %% [alternative ex1_flatten] torch.reshape and functools.reduce
import functools
import operator


def flatten(x, start_dim=1, end_dim=-1):
    shape = list(x.size())
    start, end = range(len(shape))[start_dim], range(len(shape))[end_dim]
    merged = functools.reduce(operator.mul, shape[start:end + 1], 1)
    return torch.reshape(x, tuple(shape[:start] + [merged] + shape[end + 1:]))

# %% [alternative ex2_linear] torch.matmul and W.t(), the bias with torch.add
def linear(x, W, b=None):
    out = torch.matmul(x, W.t())
    return out if b is None else torch.add(out, b)

# %% [alternative ex2_linear] einsum over the last dimension
def linear(x, W, b=None):
    out = torch.einsum("...i,oi->...o", x, W)
    if b is not None:
        out += b
    return out

# %% [alternative ex2_linear] the leading dimensions flattened to 2-D and restored
def linear(x, W, b=None):
    lead = x.shape[:-1]
    rows = x.reshape(-1, x.shape[-1])                  # (prod(lead), in)
    out = rows @ W.transpose(0, 1)
    if b is not None:
        out = out + b.unsqueeze(0)
    return out.reshape(*lead, W.shape[0])

# %% [alternative ex3_in_features] in_features from the output-size formulas
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        out_h = (height - 3 + 1) // 2           # conv 3x3 without padding, then pool 2
        out_w = (width - 3 + 1) // 2
        self.fc = nn.Linear(16 * out_h * out_w, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = self.flatten(x)
        return self.fc(x)

# %% [alternative ex3_in_features] a random dummy, numel(), torch.flatten(x, 1) in forward
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        with torch.no_grad():
            n_features = self.features(torch.randn(1, in_channels, height, width)).numel()
        self.fc = nn.Linear(in_features=n_features, out_features=num_classes, bias=True)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))

# %% [alternative ex3_in_features] the dry run in a helper method, x.view(x.size(0), -1)
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(self._num_features(in_channels, height, width), num_classes)

    def _num_features(self, c, h, w):
        out = self.features(torch.zeros(2, c, h, w))       # a batch of two works too
        return out[0].numel()

    def forward(self, x):
        x = self.features(x)
        return self.fc(x.view(x.size(0), -1))

# %% [alternative ex4_unflatten] the new shape as a list, dim made positive by hand
def unflatten(x, dim, sizes):
    if dim < 0:
        dim = x.dim() + dim
    shape = list(x.shape)
    new_shape = shape[:dim] + list(sizes) + shape[dim + 1:]
    return x.reshape(new_shape)

# %% [alternative ex4_unflatten] -1 resolved first, then a view on a contiguous copy
import math


def unflatten(x, dim, sizes):
    dim = range(x.dim())[dim]
    sizes = list(sizes)
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes[sizes.index(-1)] = x.shape[dim] // known
    return x.contiguous().view(*x.shape[:dim], *sizes, *x.shape[dim + 1:])

# %% [alternative ex4_unflatten] torch.reshape with tuple concatenation
def unflatten(x, dim, sizes):
    d = dim % x.ndim
    return torch.reshape(x, tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1:]))

# %% [alternative ex5_channels] movedim there and back
def linear_on_channels(x, layer):
    return layer(x.movedim(1, -1)).movedim(-1, 1)

# %% [alternative ex5_channels] transpose(1, 3) twice: (N, W, H, C) and back
def linear_on_channels(x, layer):
    out = layer(x.transpose(1, 3))                 # (N, W, H, C_out)
    return out.transpose(1, 3)                     # (N, C_out, H, W)

# %% [alternative ex5_channels] the pixels as rows: permute, reshape, layer, back
def linear_on_channels(x, layer):
    n, c, h, w = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, c)    # (N*H*W, C)
    out = layer(rows)                              # (N*H*W, C_out)
    return out.reshape(n, h, w, -1).permute(0, 3, 1, 2).contiguous()

# %% [alternative ex6_predict] lists for the shapes, the products written out
flat_shape = [8, 3 * 5 * 5]
flat01_shape = [8 * 3, 5, 5]
in_features = 16 * 6 * 6
linear_shape = [4, 7, 3]
linear_params = 16 * 3 + 3

# %% [alternative ex6_predict] the formula walked by hand with //, shapes unpacked at once
side = ((32 - 3 + 1) // 2 - 3 + 1) // 2          # 32 -> 30 -> 15 -> 13 -> 6
in_features = 16 * side * side
flat_shape, flat01_shape = (8, 75), (24, 5, 5)
linear_shape, linear_params = (4, 7, 3), (16 + 1) * 3
