"""Plausible wrong answers for the chapter 6 exercises: each must lose its points."""

# %% [mutant ex1_flatten] flattens the batch too
def flatten(x, start_dim=1, end_dim=-1):
    return x.reshape(-1)

# %% [mutant ex1_flatten] keeps the batch but ignores start_dim and end_dim
def flatten(x, start_dim=1, end_dim=-1):
    return x.reshape(x.shape[0], -1)

# %% [mutant ex1_flatten] uses view, which fails on a tensor that is not contiguous
def flatten(x, start_dim=1, end_dim=-1):
    start, end = start_dim % x.dim(), end_dim % x.dim()
    return x.view(*x.shape[:start], -1, *x.shape[end + 1:])

# %% [mutant ex1_flatten] end_dim treated as exclusive, like a Python slice
def flatten(x, start_dim=1, end_dim=-1):
    start, end = start_dim % x.dim(), end_dim % x.dim()
    if end == x.dim() - 1:
        end = x.dim()
    return x.reshape(*x.shape[:start], -1, *x.shape[end:])

# %% [mutant ex2_linear] multiplies by W instead of its transpose
def linear(x, W, b=None):
    out = x @ W
    return out if b is None else out + b

# %% [mutant ex2_linear] works on 2-D inputs only: the leading dimensions are lost
def linear(x, W, b=None):
    out = x.reshape(-1, W.shape[1]) @ W.T
    return out if b is None else out + b

# %% [mutant ex2_linear] always adds the bias (fails when it is None)
def linear(x, W, b=None):
    return x @ W.T + b

# %% [mutant ex3_in_features] forgets the + 1 of the output-size formula (16x14x14)
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16 * ((height - 3) // 2) * ((width - 3) // 2), num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.features(x)))

# %% [mutant ex3_in_features] forgets the 16 channels
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(((height - 2) // 2) * ((width - 2) // 2), num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.features(x)))

# %% [mutant ex3_in_features] LazyLinear: in_features unknown until the first batch
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.fc = nn.LazyLinear(num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.features(x)))

# %% [mutant ex3_in_features] torch.flatten in forward: the batch is flattened too
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        with torch.no_grad():
            dummy = torch.zeros(1, in_channels, height, width)
            in_features = torch.flatten(self.features(dummy)).shape[0]
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x)))

# %% [mutant ex4_unflatten] always splits dimension 1
def unflatten(x, dim, sizes):
    return x.reshape(x.shape[0], *sizes, *x.shape[2:])

# %% [mutant ex4_unflatten] negative dim not turned into a positive one
def unflatten(x, dim, sizes):
    return x.reshape(*x.shape[:dim], *sizes, *x.shape[dim + 1:])

# %% [mutant ex4_unflatten] drops the dimensions after dim (right only when dim is the last)
def unflatten(x, dim, sizes):
    dim = dim % x.dim()
    return x.reshape(*x.shape[:dim], *sizes)

# %% [mutant ex5_channels] view to channels-last: right shape, scrambled values
def linear_on_channels(x, layer):
    n, c, h, w = x.shape
    out = layer(x.reshape(n, h, w, c))
    return out.reshape(n, -1, h, w)

# %% [mutant ex5_channels] forgets to move the channels back
def linear_on_channels(x, layer):
    return layer(x.permute(0, 2, 3, 1))

# %% [mutant ex5_channels] reshapes the (N, H*W, C_out) result straight to (N, C_out, H, W)
def linear_on_channels(x, layer):
    n, c, h, w = x.shape
    out = layer(x.flatten(2).transpose(1, 2))      # (N, H*W, C_out)
    return out.reshape(n, -1, h, w)

# %% [mutant ex1_flatten] negative end_dim used as it is: x.shape[end_dim + 1:] keeps them all
def flatten(x, start_dim=1, end_dim=-1):
    merged = math.prod(x.shape[start_dim:end_dim + 1] if end_dim >= 0
                       else x.shape[start_dim:])
    return x.reshape(*x.shape[:start_dim], merged, *x.shape[end_dim + 1:])

# %% [mutant ex3_in_features] the dry run uses a fixed 3x32x32 dummy, whatever the sizes
class ConvClassifier(nn.Module):
    def __init__(self, in_channels, height, width, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        with torch.no_grad():
            dummy = torch.zeros(1, in_channels, 32, 32)
            in_features = self.flatten(self.features(dummy)).shape[1]
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.features(x)))

# %% [mutant ex5_channels] moves the channels back with permute(0, 3, 2, 1): H and W swap
def linear_on_channels(x, layer):
    return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 2, 1)

# %% [mutant ex6_predict] nn.Flatten() read as flattening everything, the batch too
flat_shape = (600,)
flat01_shape = (24, 5, 5)
in_features = 576
linear_shape = (4, 7, 3)
linear_params = 51

# %% [mutant ex6_predict] Flatten(0, 1) read as the default flatten that keeps the batch
flat_shape = (8, 75)
flat01_shape = (8, 75)
in_features = 576
linear_shape = (4, 7, 3)
linear_params = 51

# %% [mutant ex6_predict] the + 1 of the conv formula forgotten: 32 -> 29 -> 14 -> 11 -> 5
flat_shape = (8, 75)
flat01_shape = (24, 5, 5)
in_features = 16 * 5 * 5
linear_shape = (4, 7, 3)
linear_params = 51

# %% [mutant ex6_predict] 13 halved rounding up: 32 -> 30 -> 15 -> 13 -> 7
flat_shape = (8, 75)
flat01_shape = (24, 5, 5)
in_features = 16 * 7 * 7
linear_shape = (4, 7, 3)
linear_params = 51

# %% [mutant ex6_predict] Linear taken to merge the leading dimensions like a flatten
flat_shape = (8, 75)
flat01_shape = (24, 5, 5)
in_features = 576
linear_shape = (28, 3)
linear_params = 51

# %% [mutant ex6_predict] the bias left out of the count
flat_shape = (8, 75)
flat01_shape = (24, 5, 5)
in_features = 576
linear_shape = (4, 7, 3)
linear_params = 16 * 3

# %% [mutant ex6_predict] the sizes divided with / and never rounded: 13 / 2 = 6.5
flat_shape = (8, 75)
flat01_shape = (24, 5, 5)
in_features = 16 * 6.5 * 6.5
linear_shape = (4, 7, 3)
linear_params = 51
