"""Other correct answers for the chapter 4 exercises: each must earn full marks."""

# %% [alternative ex1_softmax] torch.exp and torch.sum, the maximum from max(...).values
def softmax(x, dim):
    m = torch.max(x, dim=dim, keepdim=True).values
    e = torch.exp(x - m)
    return e / torch.sum(e, dim=dim, keepdim=True)

# %% [alternative ex1_softmax] through the log-sum-exp: exp(x - m - log(sum(exp(x - m))))
def softmax(x, dim):
    m = x.amax(dim=dim, keepdim=True)
    log_norm = m + (x - m).exp().sum(dim=dim, keepdim=True).log()
    return (x - log_norm).exp()

# %% [alternative ex1_softmax] moves dim last, normalises, moves it back
def softmax(x, dim):
    z = x.movedim(dim, -1)
    z = z - z.max(-1, keepdim=True)[0]
    e = z.exp()
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)

# %% [alternative ex2_log_softmax] torch.log of torch.sum, the maximum from max(...).values
def log_softmax(x, dim):
    m = torch.max(x, dim=dim, keepdim=True).values
    shifted = x - m
    return shifted - torch.log(torch.sum(torch.exp(shifted), dim=dim, keepdim=True))

# %% [alternative ex2_log_softmax] the log-sum-exp written as a helper, computed in float64
def _logsumexp(x, dim):
    m = x.amax(dim, keepdim=True)
    return m + (x - m).exp().sum(dim, keepdim=True).log()


def log_softmax(x, dim):
    return (x.double() - _logsumexp(x.double(), dim)).to(x.dtype)

# %% [alternative ex2_log_softmax] log1p of the sum without the largest term
def log_softmax(x, dim):
    m = x.amax(dim, keepdim=True)
    e = (x - m).exp()                            # the largest entry gives exactly 1
    return x - m - torch.log1p(e.sum(dim, keepdim=True) - 1)

# %% [alternative ex3_derivatives] sigmoid(x) * sigmoid(-x) and 1 / cosh(x)**2
def sigmoid_derivative(x):
    return torch.sigmoid(x) * torch.sigmoid(-x)    # 1 - sigmoid(x) = sigmoid(-x)


def tanh_derivative(x):
    return 1 / torch.cosh(x) ** 2                  # sech^2; cosh overflows to inf: 1/inf = 0

# %% [alternative ex3_derivatives] torch.special.expit, (1 - t)(1 + t)
def sigmoid_derivative(x):
    s = torch.special.expit(x)
    return s - s * s


def tanh_derivative(x):
    t = x.tanh()
    return (1 - t) * (1 + t)

# %% [alternative ex3_derivatives] an nn.Sigmoid module and torch.pow, products with mul
def sigmoid_derivative(x):
    s = nn.Sigmoid()(x)
    return s.mul(1 - s)


def tanh_derivative(x):
    return 1 - torch.pow(torch.tanh(x), 2)

# %% [alternative ex4_relu_gelu] torch.where, and torch.special.ndtr for the normal CDF
def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def gelu(x, approximate="none"):
    if approximate == "none":
        return x * torch.special.ndtr(x)
    c = math.sqrt(2 / math.pi)
    return 0.5 * x * (1 + torch.tanh(c * (x + 0.044715 * x.pow(3))))

# %% [alternative ex4_relu_gelu] x times a mask, the erf with x * 0.7071...
def relu(x):
    return x * (x > 0)


def gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    phi = 0.5 * (1 + torch.erf(x * (1 / math.sqrt(2))))
    return x * phi

# %% [alternative ex4_relu_gelu] torch.maximum against zero, a dict of the two formulas
def relu(x):
    return torch.maximum(x, torch.zeros((), dtype=x.dtype))


def gelu(x, approximate="none"):
    formulas = {
        "none": lambda t: t * 0.5 * (1.0 + torch.erf(t / math.sqrt(2.0))),
        "tanh": lambda t: 0.5 * t * (1.0 + torch.tanh(
            math.sqrt(2.0 / math.pi) * (t + 0.044715 * t * t * t))),
    }
    return formulas[approximate](x)

# %% [alternative ex5_jacobian] s_i (delta_ij - s_j) by broadcasting against an identity
def softmax_jacobian(x):
    s = torch.softmax(x, dim=0)
    eye = torch.eye(len(x), dtype=x.dtype)
    return s[:, None] * (eye - s[None, :])       # (C, 1) * (C, C)

# %% [alternative ex5_jacobian] two loops over i and j
def softmax_jacobian(x):
    s = torch.softmax(x, 0)
    C = x.shape[0]
    J = torch.empty(C, C, dtype=x.dtype)
    for i in range(C):
        for j in range(C):
            J[i, j] = s[i] * ((1.0 if i == j else 0.0) - s[j])
    return J

# %% [alternative ex5_jacobian] diag_embed and an outer product written with unsqueeze
def softmax_jacobian(x):
    s = F.softmax(x, dim=-1)
    return torch.diag_embed(s) - s.unsqueeze(1) @ s.unsqueeze(0)

# %% [alternative ex6_chain] keeps the activations, multiplies the factors at the end
def sigmoid_chain_gradient(x, depth):
    activations = [x]
    for _ in range(depth):
        activations.append(torch.sigmoid(activations[-1]))
    factors = [a * (1 - a) for a in activations[1:]]   # sigma'(a_{k-1}) = a_k (1 - a_k)
    return torch.stack(factors).prod(dim=0) if factors else torch.ones_like(x)

# %% [alternative ex6_chain] recursion: the chain rule one layer at a time
def sigmoid_chain_gradient(x, depth):
    if depth == 0:
        return torch.ones_like(x)
    s = torch.sigmoid(x)
    return s * (1 - s) * sigmoid_chain_gradient(s, depth - 1)

# %% [alternative ex6_chain] the derivative written with the input: sigmoid(a) sigmoid(-a)
def sigmoid_chain_gradient(x, depth):
    grad, a = 1.0, x
    for _ in range(depth):
        grad = grad * torch.sigmoid(a) * torch.sigmoid(-a)   # sigma' at this layer's input
        a = torch.sigmoid(a)
    return grad * torch.ones_like(x)

# %% [alternative ex7_predict] fractions and ints written as expressions
relu_grad = [0, 0, 1]
sigmoid_slope_max = 1 / 4
row_probability = 1 / 5
shift_changes_nothing = 1 == 1

# %% [alternative ex7_predict] a tuple for the gradient, values rounded differently
relu_grad = (0.0, 0.0, 1.0)
sigmoid_slope_max = 0.2500
row_probability = 0.2000
shift_changes_nothing = True

# %% [alternative ex8_fix_silu] out of place: sigmoid(x).mul(x)
def silu(x):
    return torch.sigmoid(x).mul(x)

# %% [alternative ex8_fix_silu] keeps the in-place product, but on a copy of sigmoid's output
def silu(x):
    s = torch.sigmoid(x).clone()
    s.mul_(x)
    return s

# %% [alternative ex8_fix_silu] the library function
def silu(x):
    return F.silu(x)
