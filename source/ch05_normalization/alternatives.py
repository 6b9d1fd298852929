"""Other correct answers for the chapter 5 exercises: each must earn full marks."""

# %% [alternative ex1_bn_train] the channels moved first and flattened, stats over dim 1
def batch_norm_train(x, weight, bias, eps=1e-5):
    c = x.shape[1]
    flat = x.transpose(0, 1).reshape(c, -1)            # (C, N*H*W)
    mean = flat.mean(dim=1)
    var = ((flat - mean[:, None]) ** 2).mean(dim=1)    # biased, written out
    shape = (1, c) + (1,) * (x.dim() - 2)
    x_hat = (x - mean.view(shape)) / (var.view(shape) + eps).sqrt()
    return weight.view(shape) * x_hat + bias.view(shape)

# %% [alternative ex1_bn_train] torch.var_mean and rsqrt, one line of broadcasting
def batch_norm_train(x, weight, bias, eps=1e-5):
    dims = tuple(d for d in range(x.dim()) if d != 1)
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
    shape = [-1 if d == 1 else 1 for d in range(x.dim())]
    return (x - mean) * torch.rsqrt(var + eps) * weight.view(shape) + bias.view(shape)

# %% [alternative ex1_bn_train] a loop over the channels, stacked back together
def batch_norm_train(x, weight, bias, eps=1e-5):
    outputs = []
    for c in range(x.shape[1]):
        channel = x[:, c]                              # (N, ...) one channel
        mean = channel.mean()
        var = channel.var(unbiased=False)
        outputs.append((channel - mean) / torch.sqrt(var + eps) * weight[c] + bias[c])
    return torch.stack(outputs, dim=1)

# %% [alternative ex2_running] torch.lerp does the moving average
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    dims = [d for d in range(x.dim()) if d != 1]
    batch_mean = x.mean(dim=dims)
    batch_var = x.var(dim=dims, unbiased=True)
    return (torch.lerp(running_mean, batch_mean, momentum),
            torch.lerp(running_var, batch_var, momentum))

# %% [alternative ex2_running] the unbiased variance by hand, on clones updated in place
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    c = x.shape[1]
    flat = x.transpose(0, 1).reshape(c, -1)            # (C, n)
    n = flat.shape[1]
    batch_mean = flat.sum(dim=1) / n
    batch_var = ((flat - batch_mean[:, None]) ** 2).sum(dim=1) / (n - 1)
    new_mean = running_mean.clone()
    new_var = running_var.clone()
    new_mean.mul_(1 - momentum).add_(batch_mean, alpha=momentum)
    new_var.mul_(1 - momentum).add_(batch_var, alpha=momentum)
    return new_mean, new_var

# %% [alternative ex2_running] the update written as running + momentum * (batch - running)
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    var, mean = torch.var_mean(x.transpose(0, 1).flatten(1), dim=1, correction=1)
    return (running_mean + momentum * (mean - running_mean),
            running_var + momentum * (var - running_var))

# %% [alternative ex3_module] keepdim statistics, the buffers rebound to new tensors
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        if self.training:
            mean = x.mean(dim=(0, 2, 3), keepdim=True)
            var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
            n = x.numel() / x.shape[1]
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mean.flatten()
                self.running_var = ((1 - m) * self.running_var
                                    + m * var.flatten() * n / (n - 1))
        else:
            mean = self.running_mean.view(1, -1, 1, 1)
            var = self.running_var.view(1, -1, 1, 1)
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return x_hat * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

# %% [alternative ex3_module] buffers updated with copy_ from detached statistics
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features), requires_grad=True)
        self.bias = nn.Parameter(torch.zeros(num_features), requires_grad=True)
        self.register_buffer("running_mean", torch.zeros(num_features), persistent=True)
        self.register_buffer("running_var", torch.ones(num_features), persistent=True)

    def forward(self, x):
        shape = (1, -1, 1, 1)
        if not self.training:
            x_hat = ((x - self.running_mean.reshape(shape))
                     / torch.sqrt(self.running_var.reshape(shape) + self.eps))
            return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)
        var, mean = torch.var_mean(x, dim=[0, 2, 3], correction=0)
        unbiased = torch.var(x.detach(), dim=[0, 2, 3], correction=1)
        with torch.no_grad():
            self.running_mean.copy_(torch.lerp(self.running_mean, mean, self.momentum))
            self.running_var.copy_(torch.lerp(self.running_var, unbiased, self.momentum))
        x_hat = (x - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)

# %% [alternative ex3_module] statistics per channel with permute, a num_batches buffer too
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        c = x.shape[1]
        if self.training:
            flat = x.permute(1, 0, 2, 3).reshape(c, -1)     # (C, N*H*W)
            mean = flat.mean(1)
            var = flat.var(1, unbiased=False)
            with torch.no_grad():
                self.running_mean *= 1 - self.momentum
                self.running_mean += self.momentum * mean
                self.running_var *= 1 - self.momentum
                self.running_var += self.momentum * flat.var(1, unbiased=True)
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight / torch.sqrt(var + self.eps)    # (C,)
        shift = self.bias - mean * scale
        return x * scale.view(1, c, 1, 1) + shift.view(1, c, 1, 1)

# %% [alternative ex4_layer_norm] the last dims flattened into one, then reshaped back
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    k = len(normalized_shape)
    flat = x.reshape(*x.shape[:x.dim() - k], -1)        # (..., prod(normalized_shape))
    mean = flat.mean(-1, keepdim=True)
    var = ((flat - mean) ** 2).mean(-1, keepdim=True)
    y = ((flat - mean) / torch.sqrt(var + eps)).reshape(x.shape)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y

# %% [alternative ex4_layer_norm] negative dims, torch.var_mean and rsqrt
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    dims = [-i for i in range(1, len(normalized_shape) + 1)]
    var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=False)
    y = (x - mean) * torch.rsqrt(var + eps)
    if weight is not None and bias is not None:
        return torch.addcmul(bias, y, weight)
    if weight is not None:
        return y * weight
    return y if bias is None else y + bias

# %% [alternative ex4_layer_norm] tuple(normalized_shape) and an explicit biased variance
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized_shape = tuple(normalized_shape)
    dims = tuple(range(-len(normalized_shape), 0))
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, correction=0)
    out = (x - mean) / (var + eps) ** 0.5
    if weight is not None:
        out = out * weight.reshape(normalized_shape)
    if bias is not None:
        out = out + bias.reshape(normalized_shape)
    return out

# %% [alternative ex5_dropout] torch.bernoulli with the keep probability
def dropout(x, p, training=True):
    if not training:
        return x
    if p >= 1:
        return x * 0
    mask = torch.bernoulli(torch.full_like(x, 1 - p))
    return mask * x / (1 - p)

# %% [alternative ex5_dropout] torch.where on a boolean mask, the scale computed first
def dropout(x, p, training=True):
    if not training:
        return x
    if p == 1:
        return torch.zeros_like(x)
    scale = 1.0 / (1.0 - p)
    keep = torch.rand(x.shape, dtype=x.dtype) > p
    return torch.where(keep, x * scale, torch.zeros_like(x))

# %% [alternative ex5_dropout] bernoulli_ on an empty tensor, a copy in eval mode
def dropout(x, p, training=True):
    if not training:
        return x.clone()
    if p == 1.0:
        return torch.zeros_like(x)
    keep = torch.empty_like(x).bernoulli_(1 - p)
    return x * keep.div_(1 - p)

# %% [alternative ex6_dropout2d] torch.bernoulli on an (N, C, 1, 1) tensor of 1 - p
def dropout2d(x, p, training=True):
    if not training:
        return x
    if p == 1:
        return torch.zeros_like(x)
    n, c, _, _ = x.shape
    keep = torch.bernoulli(torch.full((n, c, 1, 1), 1 - p, dtype=x.dtype))
    return x * keep / (1 - p)

# %% [alternative ex6_dropout2d] an (N, C) mask expanded with [:, :, None, None]
def dropout2d(x, p, training=True):
    if not training or p == 0:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape[0], x.shape[1]) >= p           # (N, C) bool
    return torch.where(keep[:, :, None, None], x / (1 - p), torch.zeros_like(x))

# %% [alternative ex6_dropout2d] a loop over the samples, one (C, 1, 1) mask each
def dropout2d(x, p, training=True):
    if not training:
        return x
    if p == 1:
        return torch.zeros_like(x)
    out = []
    for sample in x:                                         # (C, H, W)
        keep = (torch.rand(sample.shape[0], 1, 1) >= p).to(x.dtype)
        out.append(sample * keep / (1 - p))
    return torch.stack(out)

# %% [alternative ex7_predict] the same values as arithmetic on the given numbers
num_params = 2 * 16
num_buffer_values = 2 * 16 + 1
running_mean_after_one = [0.9 * 0 + 0.1 * m for m in (2.0, -4.0, 10.0)]
eval_output = (7.0 - 0.0) / (1.0 + 1e-5) ** 0.5 * 1.0 + 0.0

# %% [alternative ex7_predict] a tuple with an int in it, the output rounded to 3 decimals
num_params = 32
num_buffer_values = 33
running_mean_after_one = (0.2, -0.4, 1)
eval_output = 7
