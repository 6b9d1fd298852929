"""Plausible wrong answers for the chapter 5 exercises: each must lose its points."""

# %% [mutant ex1_bn_train] normalises with the unbiased variance (what x.var() gives)
def batch_norm_train(x, weight, bias, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)

# %% [mutant ex1_bn_train] statistics per sample and channel (over H, W only)
def batch_norm_train(x, weight, bias, eps=1e-5):
    dims = list(range(2, x.dim())) or [0]
    shape = [1, -1] + [1] * (x.dim() - 2)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=0)
    return (x - mean) / torch.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)

# %% [mutant ex1_bn_train] eps added outside the square root
def batch_norm_train(x, weight, bias, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=0)
    return (x - mean) / (torch.sqrt(var) + eps) * weight.reshape(shape) + bias.reshape(shape)

# %% [mutant ex1_bn_train] statistics over the batch dimension only (4-D inputs go wrong)
def batch_norm_train(x, weight, bias, eps=1e-5):
    shape = [1, -1] + [1] * (x.dim() - 2)
    mean = x.mean(0, keepdim=True)
    var = x.var(0, keepdim=True, correction=0)
    return (x - mean) / torch.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)

# %% [mutant ex2_running] the biased variance in the running average
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    dims = [0] + list(range(2, x.dim()))
    new_mean = (1 - momentum) * running_mean + momentum * x.mean(dims)
    new_var = (1 - momentum) * running_var + momentum * x.var(dims, correction=0)
    return new_mean, new_var

# %% [mutant ex2_running] momentum weighs the old value (Keras-style 0.9 convention)
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    dims = [0] + list(range(2, x.dim()))
    new_mean = momentum * running_mean + (1 - momentum) * x.mean(dims)
    new_var = momentum * running_var + (1 - momentum) * x.var(dims)
    return new_mean, new_var

# %% [mutant ex2_running] updates the running statistics in place
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    dims = [0] + list(range(2, x.dim()))
    running_mean.mul_(1 - momentum).add_(momentum * x.mean(dims))
    running_var.mul_(1 - momentum).add_(momentum * x.var(dims))
    return running_mean, running_var

# %% [mutant ex3_module] uses the batch statistics in eval mode too (ignores self.training)
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        mean = x.mean((0, 2, 3))
        var = x.var((0, 2, 3), correction=0)
        with torch.no_grad():
            unbiased = x.var((0, 2, 3), correction=1)
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
        x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None]
                                                            + self.eps)
        return x_hat * self.weight[None, :, None, None] + self.bias[None, :, None, None]

# %% [mutant ex3_module] running statistics as nn.Parameter instead of buffers
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.running_mean = nn.Parameter(torch.zeros(num_features), requires_grad=False)
        self.running_var = nn.Parameter(torch.ones(num_features), requires_grad=False)

    def forward(self, x):
        if self.training:
            mean = x.mean((0, 2, 3))
            var = x.var((0, 2, 3), correction=0)
            with torch.no_grad():
                unbiased = x.var((0, 2, 3), correction=1)
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None]
                                                            + self.eps)
        return x_hat * self.weight[None, :, None, None] + self.bias[None, :, None, None]

# %% [mutant ex3_module] running variance biased (the same variance reused)
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
            mean = x.mean((0, 2, 3))
            var = x.var((0, 2, 3), correction=0)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None]
                                                            + self.eps)
        return x_hat * self.weight[None, :, None, None] + self.bias[None, :, None, None]

# %% [mutant ex3_module] running statistics updated outside no_grad (they join the graph)
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
            mean = x.mean((0, 2, 3))
            var = x.var((0, 2, 3), correction=0)
            unbiased = x.var((0, 2, 3), correction=1)
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var = ((1 - self.momentum) * self.running_var
                                + self.momentum * unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None]
                                                            + self.eps)
        return x_hat * self.weight[None, :, None, None] + self.bias[None, :, None, None]

# %% [mutant ex4_layer_norm] statistics over the batch dimension, like batch norm
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    mean = x.mean(0, keepdim=True)
    var = x.var(0, keepdim=True, correction=0)
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y

# %% [mutant ex4_layer_norm] always normalises the last dimension only
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, correction=0)
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y

# %% [mutant ex4_layer_norm] the unbiased variance
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    dims = tuple(range(x.dim() - len(normalized_shape), x.dim()))
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y

# %% [mutant ex5_dropout] no 1/(1-p) scaling of the survivors
def dropout(x, p, training=True):
    if not training:
        return x
    return x * (torch.rand_like(x) >= p).to(x.dtype)

# %% [mutant ex5_dropout] keeps each element with probability p instead of dropping it
def dropout(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    return x * (torch.rand_like(x) < p).to(x.dtype) / p

# %% [mutant ex5_dropout] still drops in eval mode (training ignored)
def dropout(x, p, training=True):
    if p == 1:
        return torch.zeros_like(x)
    return x * (torch.rand_like(x) >= p).to(x.dtype) / (1 - p)

# %% [mutant ex5_dropout] divides by zero when p = 1
def dropout(x, p, training=True):
    if not training:
        return x
    return x * (torch.rand_like(x) >= p).to(x.dtype) / (1 - p)

# %% [mutant ex6_dropout2d] drops single elements, like nn.Dropout
def dropout2d(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    return x * (torch.rand_like(x) >= p).to(x.dtype) / (1 - p)

# %% [mutant ex6_dropout2d] one mask (1, C, 1, 1) shared by the whole batch
def dropout2d(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = (torch.rand(1, x.shape[1], 1, 1) >= p).to(x.dtype)
    return x * keep / (1 - p)

# %% [mutant ex6_dropout2d] whole channels dropped but the survivors not scaled
def dropout2d(x, p, training=True):
    if not training:
        return x
    keep = (torch.rand(x.shape[0], x.shape[1], 1, 1) >= p).to(x.dtype)
    return x * keep

# %% [mutant ex1_bn_train] weight and bias reshaped to (1, C, 1, 1): right for 4-D input only
def batch_norm_train(x, weight, bias, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=0)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return x_hat * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)

# %% [mutant ex3_module] running statistics as plain tensor attributes: not saved, not moved
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.running_mean = torch.zeros(num_features)
        self.running_var = torch.ones(num_features)

    def forward(self, x):
        if self.training:
            mean = x.mean((0, 2, 3))
            var = x.var((0, 2, 3), correction=0)
            with torch.no_grad():
                unbiased = x.var((0, 2, 3), correction=1)
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None]
                                                            + self.eps)
        return x_hat * self.weight[None, :, None, None] + self.bias[None, :, None, None]

# %% [mutant ex4_layer_norm] applies weight and bias only when both are given
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    dims = tuple(range(x.dim() - len(normalized_shape), x.dim()))
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=0)
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None and bias is not None:
        y = y * weight + bias
    return y

# %% [mutant ex5_dropout] seeds torch inside the function: the same mask at every call
def dropout(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    torch.manual_seed(0)
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x * keep / (1 - p)

# %% [mutant ex5_dropout] a numpy mask: seeding torch does not reproduce it
import numpy as np


def dropout(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.from_numpy(np.random.rand(*x.shape) >= p).to(x.dtype)
    return x * keep / (1 - p)

# %% [mutant ex6_dropout2d] one draw per sample, (N, 1, 1, 1): all channels go together
def dropout2d(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = (torch.rand(x.shape[0], 1, 1, 1) >= p).to(x.dtype)
    return x * keep / (1 - p)

# %% [mutant ex6_dropout2d] a torch.Generator of its own: the same mask at every call
def dropout2d(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    g = torch.Generator().manual_seed(42)
    keep = (torch.rand(x.shape[0], x.shape[1], 1, 1, generator=g) >= p).to(x.dtype)
    return x * keep / (1 - p)

# %% [mutant ex7_predict] counts the buffer tensors, not the values they hold
num_params = 32
num_buffer_values = 3
running_mean_after_one = [0.2, -0.4, 1.0]
eval_output = 7.0

# %% [mutant ex7_predict] forgets num_batches_tracked among the buffers
num_params = 32
num_buffer_values = 32
running_mean_after_one = [0.2, -0.4, 1.0]
eval_output = 7.0

# %% [mutant ex7_predict] the running statistics counted as parameters too
num_params = 64
num_buffer_values = 33
running_mean_after_one = [0.2, -0.4, 1.0]
eval_output = 7.0

# %% [mutant ex7_predict] momentum weighs the old value (the 0.9 convention of Keras)
num_params = 32
num_buffer_values = 33
running_mean_after_one = [1.8, -3.6, 9.0]
eval_output = 7.0

# %% [mutant ex7_predict] the running mean replaced by the batch mean
num_params = 32
num_buffer_values = 33
running_mean_after_one = [2.0, -4.0, 10.0]
eval_output = 7.0

# %% [mutant ex7_predict] eval mode normalising with the batch's own statistics
num_params = 32
num_buffer_values = 33
running_mean_after_one = [0.2, -0.4, 1.0]
eval_output = 1.2247
