"""Plausible wrong answers for the chapter 4 exercises: each must lose its points."""

# %% [mutant ex1_softmax] the textbook formula without subtracting the maximum (overflows)
def softmax(x, dim):
    e = x.exp()
    return e / e.sum(dim, keepdim=True)

# %% [mutant ex1_softmax] always normalises the last dimension, whatever dim says
def softmax(x, dim):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)

# %% [mutant ex1_softmax] subtracts the maximum of the whole tensor, not along dim
def softmax(x, dim):
    e = (x - x.max()).exp()
    return e / e.sum(dim, keepdim=True)

# %% [mutant ex1_softmax] sums without keepdim, so the division broadcasts wrongly
def softmax(x, dim):
    e = (x - x.amax(dim, keepdim=True)).exp()
    return e / e.sum(dim)

# %% [mutant ex2_log_softmax] takes the log of a stable softmax (underflows to -inf)
def log_softmax(x, dim):
    e = (x - x.amax(dim, keepdim=True)).exp()
    return (e / e.sum(dim, keepdim=True)).log()

# %% [mutant ex2_log_softmax] subtracts the maximum inside the log-sum-exp only
def log_softmax(x, dim):
    m = x.amax(dim, keepdim=True)
    return x - (x - m).exp().sum(dim, keepdim=True).log()

# %% [mutant ex2_log_softmax] the plain formula x - log(sum(exp(x))) (overflows)
def log_softmax(x, dim):
    return x - x.exp().sum(dim, keepdim=True).log()

# %% [mutant ex3_derivatives] applies the formulas to x instead of sigmoid(x) and tanh(x)
def sigmoid_derivative(x):
    return x * (1 - x)


def tanh_derivative(x):
    return 1 - x ** 2

# %% [mutant ex3_derivatives] sigmoid' through exp(-x) (overflows) and tanh' without the square
def sigmoid_derivative(x):
    e = torch.exp(-x)
    return e / (1 + e) ** 2


def tanh_derivative(x):
    return 1 - torch.tanh(x)

# %% [mutant ex3_derivatives] right sigmoid', but tanh' written with the sigmoid pattern
def sigmoid_derivative(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh_derivative(x):
    t = torch.tanh(x)
    return t * (1 - t)

# %% [mutant ex4_relu_gelu] ReLU in place: the caller's tensor is overwritten
def relu(x):
    return x.clamp_(min=0)


def gelu(x, approximate="none"):
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        return 0.5 * x * (1 + torch.tanh(inner))
    return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))

# %% [mutant ex4_relu_gelu] GELU ignores approximate and always uses the tanh formula
def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def gelu(x, approximate="none"):
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
    return 0.5 * x * (1 + torch.tanh(inner))

# %% [mutant ex4_relu_gelu] the normal CDF written as erf(x) without the sqrt(2)
def relu(x):
    return x * (x > 0)


def gelu(x, approximate="none"):
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        return 0.5 * x * (1 + torch.tanh(inner))
    return x * 0.5 * (1 + torch.erf(x))

# %% [mutant ex5_jacobian] only the diagonal s_i (1 - s_i)
def softmax_jacobian(x):
    s = torch.softmax(x, 0)
    return torch.diag(s * (1 - s))

# %% [mutant ex5_jacobian] the sign flipped: s s^T - diag(s)
def softmax_jacobian(x):
    s = torch.softmax(x, 0)
    return torch.outer(s, s) - torch.diag(s)

# %% [mutant ex5_jacobian] built from the logits instead of the probabilities
def softmax_jacobian(x):
    return torch.diag(x) - torch.outer(x, x)

# %% [mutant ex6_chain] the upper bound 0.25 ** depth instead of the real product
def sigmoid_chain_gradient(x, depth):
    return torch.full_like(x, 0.25 ** depth)

# %% [mutant ex6_chain] every factor taken at the first input x
def sigmoid_chain_gradient(x, depth):
    s = torch.sigmoid(x)
    return (s * (1 - s)) ** depth

# %% [mutant ex6_chain] one factor too few (the loop stops early)
def sigmoid_chain_gradient(x, depth):
    grad = torch.ones_like(x)
    a = torch.sigmoid(x)
    for _ in range(depth - 1):
        grad = grad * a * (1 - a)
        a = torch.sigmoid(a)
    return grad

# %% [mutant ex1_softmax] right, but always in float32 (the dtype of x is not kept)
def softmax(x, dim):
    x = x.float()
    e = (x - x.amax(dim, keepdim=True)).exp()
    return e / e.sum(dim, keepdim=True)

# %% [mutant ex3_derivatives] asks autograd instead of using the formulas
def sigmoid_derivative(x):
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.sigmoid(x).sum(), x)
    return grad


def tanh_derivative(x):
    x = x.detach().clone().requires_grad_(True)
    torch.tanh(x).sum().backward()
    return x.grad

# %% [mutant ex5_jacobian] asks autograd for the Jacobian
def softmax_jacobian(x):
    return torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), x)

# %% [mutant ex6_chain] runs the chain forward and asks autograd for the derivative
def sigmoid_chain_gradient(x, depth):
    x = x.detach().clone().requires_grad_(True)
    a = x
    for _ in range(depth):
        a = torch.sigmoid(a)
    a.sum().backward()
    return x.grad

# %% [mutant ex7_predict] ReLU's slope at 0 taken as 1
relu_grad = [0.0, 1.0, 1.0]
sigmoid_slope_max = 0.25
row_probability = 0.2
shift_changes_nothing = True

# %% [mutant ex7_predict] sigmoid's value at 0 taken for its largest slope
relu_grad = [0.0, 0.0, 1.0]
sigmoid_slope_max = 0.5
row_probability = 0.2
shift_changes_nothing = True

# %% [mutant ex7_predict] softmax over the wrong dim (4 rows instead of 5 columns)
relu_grad = [0.0, 0.0, 1.0]
sigmoid_slope_max = 0.25
row_probability = 0.25
shift_changes_nothing = True

# %% [mutant ex7_predict] believes adding 100 to every logit changes the softmax
relu_grad = [0.0, 0.0, 1.0]
sigmoid_slope_max = 0.25
row_probability = 0.2
shift_changes_nothing = False

# %% [mutant ex7_predict] tanh's largest slope for sigmoid's
relu_grad = [0.0, 0.0, 1.0]
sigmoid_slope_max = 1
row_probability = 0.2
shift_changes_nothing = True

# %% [mutant ex8_fix_silu] the code as handed over: in place on sigmoid's saved output
def silu(x):
    s = torch.sigmoid(x)
    s.mul_(x)
    return s

# %% [mutant ex8_fix_silu] silences the error with .data: right values, wrong gradient
def silu(x):
    s = torch.sigmoid(x)
    s.data.mul_(x.data)
    return s

# %% [mutant ex8_fix_silu] moves the in-place product onto x itself
def silu(x):
    x.mul_(torch.sigmoid(x))
    return x

# %% [mutant ex8_fix_silu] detaches the result: no error, no gradient
def silu(x):
    return (x * torch.sigmoid(x)).detach()

# %% [mutant ex8_fix_silu] an in-place ReLU-style sigmoid_ on a copy of x, then x times it
def silu(x):
    s = x.clone()
    s.sigmoid_()
    s.mul_(x)
    return s
