"""Checks for chapter 4 (activations) that recognise the classic mistakes by name.

Each ``check_*`` compares a student's result with what torch computes, like
``nncourse.checks.check_close`` (the failure gives the largest difference and the
tolerance). When the result instead matches what a known mistake would produce (softmax
over the wrong dimension, an ``exp`` that overflowed, the function instead of its
derivative...), the message names the mistake and its fix.
"""
import math

import torch

from nncourse.checks import CheckFailure, check_close, check_shape, tick, values_match
from nncourse.forbid import forbidden  # noqa: F401 (the exercises import it from here)
from nncourse.messages import say
from nncourse.watching import watches_student_code

# float32 exp overflows to inf above this input
EXP_OVERFLOW = math.log(torch.finfo(torch.float32).max)


def _as_float64(t):
    return torch.as_tensor(t).detach().to("cpu", torch.float64)


def matches(actual, candidate, atol=1e-5, rtol=1e-4):
    """True when ``actual`` has the shape of ``candidate`` and the same values (NaN = NaN)."""
    return values_match(actual, candidate, atol, rtol, equal_nan=True)


def known_mistake(actual, mistakes, atol=1e-5, rtol=1e-4):
    """The label of the first mistake whose result ``actual`` matches, else None.

    ``mistakes`` maps a label to a tensor or to a function that computes one (a function
    that raises is skipped: a mistake that cannot happen for this input).
    """
    for label, wrong in mistakes.items():
        try:
            candidate = wrong() if callable(wrong) else wrong
        except Exception:  # noqa: BLE001 - a candidate that cannot be computed
            continue
        if matches(actual, candidate, atol, rtol):
            return label
    return None


def _with_known(message, mistake):
    return say("{message}\nKnown mistake: {mistake}", message=message, mistake=mistake)


def check_or_name(actual, expected, name, mistakes=None, atol=1e-5, rtol=1e-4, hint=None,
                  nonfinite=None, quiet=False, nonfinite_if=None):
    """``check_close``; when it fails, name the known mistake that ``actual`` matches.

    ``nonfinite`` is the explanation used when ``actual`` holds inf or NaN where the
    expected values are finite (typically an overflow). With ``nonfinite_if`` (functions
    that compute what the unstable formulas give) it is given only when one of them is
    inf or NaN at every such entry too, so that the explanation is a recognised mistake;
    otherwise the message only says where the entries are.
    """
    if isinstance(actual, torch.Tensor) and nonfinite:
        check_shape(actual, torch.as_tensor(expected).shape, name=name, hint=hint, quiet=True)
        got, want = _as_float64(actual), _as_float64(expected)
        bad = ~torch.isfinite(got) & torch.isfinite(want)
        if bad.any():
            first = tuple(int(i) for i in bad.nonzero()[0])
            known = nonfinite_if is None or any(
                _nonfinite_at(candidate, bad) for candidate in nonfinite_if)
            message = say("{name}: {count} entries are inf or NaN where finite "
                          "values are expected (the first at index {index}: got {got}, "
                          "expected {want:.6g}).", name=name, count=int(bad.sum()),
                          index=first, got=got[first].item(), want=want[first].item())
            raise CheckFailure(_with_known(message, nonfinite) if known else message)
    try:
        check_close(actual, expected, name=name, atol=atol, rtol=rtol, hint=hint,
                    quiet=quiet)
    except CheckFailure as err:
        label = known_mistake(actual, mistakes or {}, atol, rtol)
        if label:
            raise CheckFailure(_with_known(str(err), label)) from None
        raise


def _nonfinite_at(candidate, where):
    """True when ``candidate()`` is inf or NaN at every entry of the mask ``where``."""
    try:
        value = _as_float64(candidate())
    except Exception:  # noqa: BLE001 - a candidate that cannot be computed
        return False
    return value.shape == where.shape and bool((~torch.isfinite(value))[where].all())


def _other_dims(x, dim):
    dim = dim % x.dim()
    return [d for d in range(x.dim()) if d != dim]


# ----------------------------------------------------------------------------------------
# softmax and log-softmax

def _unstable_softmax():
    return say("exp(x) overflows to inf for x above about {limit:.1f} in float32, and "
               "inf / inf is NaN. Softmax does not change when a constant is subtracted "
               "from every logit, so subtract the maximum along dim first: "
               "exp(x - max) is at most 1 (the maximum of the whole tensor is not "
               "enough: a row far below it underflows to 0 / 0).", limit=EXP_OVERFLOW)


def _log_of_softmax():
    return say("log(softmax(x)) underflows: a probability below about 1e-45 rounds to 0 "
               "in float32 and log(0) = -inf. Compute log-softmax directly: "
               "x - max - log(sum(exp(x - max))).")


def check_softmax(actual, x, dim, name="softmax(x, dim)", quiet=False, rtol=1e-4):
    """Compare with ``torch.softmax(x, dim)``; recognise the wrong dim and overflow.

    ``rtol``: for float32 logits of size L, a correct formula that adds the maximum back
    (exp(x - logsumexp)) rounds the exponent to about L * 1.2e-7, so a test with huge
    logits allows that much relative error."""
    expected = torch.softmax(x, dim)
    mistakes = {say("softmax over dim {d} instead of dim {dim}: the probabilities must "
                    "sum to 1 along dim {dim}", d=d, dim=dim):
                (lambda d=d: torch.softmax(x, d)) for d in _other_dims(x, dim)}
    mistakes[say("the whole tensor was normalised at once: divide by the sum along dim "
                 "{dim} only (sum(..., dim={dim}, keepdim=True))", dim=dim)] = (
        lambda: x.exp() / x.exp().sum())
    mistakes[say("exp(x) was never divided by its sum")] = lambda: x.exp()
    mistakes[say("these are log-probabilities (log-softmax), not probabilities")] = (
        lambda: torch.log_softmax(x, dim))
    mistakes[say("the sum was taken without keepdim=True, so it broadcast along the "
                 "wrong dimension")] = lambda: x.exp() / x.exp().sum(dim)
    unstable = [lambda: x.exp() / x.exp().sum(dim, keepdim=True),
                lambda: (x - x.max()).exp() / (x - x.max()).exp().sum(dim, keepdim=True)]
    check_or_name(actual, expected, name, mistakes, atol=1e-6, rtol=rtol,
                  nonfinite=_unstable_softmax(), quiet=quiet, nonfinite_if=unstable)


def check_log_softmax(actual, x, dim, name="log_softmax(x, dim)", quiet=False):
    """Compare with ``torch.log_softmax(x, dim)``; recognise underflow, overflow, dim."""
    expected = torch.log_softmax(x, dim)
    got = actual
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        got64, want64 = _as_float64(got), _as_float64(expected)
        if (torch.isneginf(got64) & torch.isfinite(want64)).any():
            label = known_mistake(got, {
                _unstable_softmax(): lambda: x - x.exp().sum(dim, keepdim=True).log(),
                _log_of_softmax(): lambda: torch.softmax(x, dim).log(),
            }, atol=1e-5, rtol=1e-5)
            message = say("{name}: -inf where a finite log-probability is expected.",
                          name=name)
            raise CheckFailure(_with_known(message, label) if label else message)
    m = x.amax(dim, keepdim=True)
    mistakes = {say("log-softmax over dim {d} instead of dim {dim}", d=d, dim=dim): (
        lambda d=d: torch.log_softmax(x, d)) for d in _other_dims(x, dim)}
    mistakes[say("these are probabilities (softmax), not log-probabilities")] = (
        lambda: torch.softmax(x, dim))
    mistakes[say("the maximum was subtracted inside the log-sum-exp but not outside: "
                 "log_softmax(x) = x - max - log(sum(exp(x - max)))")] = (
        lambda: x - (x - m).exp().sum(dim, keepdim=True).log())
    mistakes[say("only the maximum was subtracted: the log(sum(exp(x - max))) term is "
                 "missing")] = lambda: x - m
    unstable = [lambda: x - x.exp().sum(dim, keepdim=True).log(),
                lambda: (x - x.max()) - (x - x.max()).exp().sum(dim, keepdim=True).log()]
    check_or_name(actual, expected, name, mistakes, atol=1e-5, rtol=1e-5,
                  nonfinite=_unstable_softmax(), quiet=quiet, nonfinite_if=unstable)


# ----------------------------------------------------------------------------------------
# derivatives


def autograd_derivative(fn, x):
    """Derivative of an element-wise ``fn`` at every entry of ``x``, by autograd."""
    xg = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(xg).sum(), xg)
    return grad


def check_sigmoid_derivative(actual, x, name="sigmoid_derivative(x)", quiet=False):
    """sigma'(x) = sigma(x) * (1 - sigma(x)), checked against autograd."""
    s = torch.sigmoid(x)
    mistakes = {
        say("that is sigmoid itself, not its derivative"): s,
        say("the formula sigma(x) * (1 - sigma(x)) was applied to x instead of to "
            "sigma(x)"): x * (1 - x),
        say("sigma(x) * (1 + sigma(x)): the sign inside the bracket is wrong"):
            s * (1 + s),
        say("1 - sigma(x)**2 is the tanh pattern; sigmoid's derivative is "
            "sigma(x) * (1 - sigma(x))"): 1 - s ** 2,
    }
    check_or_name(actual, autograd_derivative(torch.sigmoid, x), name, mistakes,
                  atol=1e-6, rtol=1e-4, quiet=quiet)


def check_tanh_derivative(actual, x, name="tanh_derivative(x)", quiet=False):
    """tanh'(x) = 1 - tanh(x)**2, checked against autograd."""
    t = torch.tanh(x)
    mistakes = {
        say("that is tanh itself, not its derivative"): t,
        say("the formula 1 - tanh(x)**2 was applied to x instead of to tanh(x)"):
            1 - x ** 2,
        say("1 - tanh(x): the square is missing"): 1 - t,
        say("tanh(x) * (1 - tanh(x)) is the sigmoid pattern; tanh's derivative is "
            "1 - tanh(x)**2"): t * (1 - t),
    }
    check_or_name(actual, autograd_derivative(torch.tanh, x), name, mistakes,
                  atol=1e-6, rtol=1e-4, quiet=quiet)


def check_sigmoid_chain_gradient(actual, x, depth, name="sigmoid_chain_gradient(x, depth)",
                                 quiet=False):
    """Derivative of sigmoid applied ``depth`` times, against autograd."""
    def chain(t, n=depth):
        for _ in range(n):
            t = torch.sigmoid(t)
        return t

    s = torch.sigmoid(x)
    mistakes = {
        say("0.25 ** depth is only an upper bound (sigma' is at most 0.25): each "
            "factor is sigma'(a) at that layer's own input a"):
            torch.full_like(x, 0.25 ** depth),
        say("sigma'(x) ** depth reuses the first layer's input for every layer: "
            "layer k's input is the output of layer k - 1"): (s * (1 - s)) ** depth,
        say("that is the output of the chain, not its derivative"): lambda: chain(x),
        say("one factor too few: the chain rule has one sigma' per layer"):
            lambda: autograd_derivative(lambda t: chain(t, depth - 1), x),
        say("one factor too many: the chain rule has one sigma' per layer"):
            lambda: autograd_derivative(lambda t: chain(t, depth + 1), x),
    }
    check_or_name(actual, autograd_derivative(chain, x), name, mistakes, atol=1e-9,
                  rtol=1e-4, quiet=quiet)


# ----------------------------------------------------------------------------------------
# ReLU and GELU


def gelu_tanh(x):
    """GELU's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def check_gelu(actual, x, approximate="none", name="gelu(x)", quiet=False):
    """Compare with ``F.gelu(x, approximate=...)``; recognise the other formula."""
    expected = torch.nn.functional.gelu(x, approximate=approximate)
    exact = x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    mistakes = {
        say("that is ReLU, not GELU"): torch.relu(x),
        say("x * sigmoid(1.702 x) is a third approximation; use the formula asked for"):
            x * torch.sigmoid(1.702 * x),
        say("x * Phi(x) needs the Gaussian CDF Phi(x) = 0.5 (1 + erf(x / sqrt(2))); "
            "erf(x) without the / sqrt(2) is not it"): x * 0.5 * (1 + torch.erf(x)),
    }
    if approximate == "none":
        mistakes[say("that is the tanh approximation; approximate='none' means the "
                     "exact x * Phi(x) with erf")] = gelu_tanh(x)
    else:
        mistakes[say("that is the exact GELU (erf); approximate='tanh' asks for the "
                     "tanh formula")] = exact
    check_or_name(actual, expected, name, mistakes, atol=1e-6, rtol=1e-4, quiet=quiet)


def check_unchanged(x_after, x_before, name=None, quiet=False):
    """The function under test must not have modified its input in place; ``name``
    defaults to "the input"."""
    name = say("the input") if name is None else name
    if not torch.equal(x_after, x_before):
        changed = int((x_after != x_before).sum())
        raise CheckFailure(say(
            "{name} was modified: {changed} entries changed.\nKnown mistake: an "
            "in-place operation (relu_, clamp_, x[x < 0] = 0, inplace=True) overwrote a "
            "tensor the caller (or autograd) still needs; return a new tensor instead.",
            name=name, changed=changed))
    tick(say("{name} unchanged", name=name), quiet)


def check_relu(actual, x, name="relu(x)", quiet=False):
    """Compare with ``torch.relu(x)``; recognise the usual confusions."""
    mistakes = {
        say("negative inputs must become 0, positive ones stay: max(x, 0)"):
            x.clamp(max=0),
        say("that is the absolute value, not ReLU"): x.abs(),
        say("that is the step function (ReLU's derivative), not ReLU"):
            (x > 0).to(x.dtype),
    }
    check_or_name(actual, torch.relu(x), name, mistakes, atol=0, rtol=0, quiet=quiet)


# ----------------------------------------------------------------------------------------
# the softmax Jacobian


def softmax_jacobian_autograd(x):
    """d softmax(x)_i / d x_j for a 1-D ``x``, by autograd."""
    return torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), x)


def check_softmax_jacobian(actual, x, name="softmax_jacobian(x)", quiet=False):
    """Compare with the autograd Jacobian of softmax; recognise the usual slips."""
    s = torch.softmax(x, 0)
    right = torch.diag(s) - torch.outer(s, s)
    mistakes = {
        say("only the diagonal s_i (1 - s_i): every output depends on every logit, so "
            "the off-diagonal entries are -s_i s_j"): torch.diag(s * (1 - s)),
        say("the sign is flipped: J = diag(s) - s s^T"): -right,
        say("diag(s) alone: the - s s^T term is missing"): torch.diag(s),
        say("the Jacobian was built from the logits x instead of the probabilities "
            "s = softmax(x)"): torch.diag(x) - torch.outer(x, x),
    }
    check_or_name(actual, softmax_jacobian_autograd(x), name, mistakes, atol=1e-6,
                  rtol=1e-4, quiet=quiet)


# ----------------------------------------------------------------------------------------
# "Predict first": a value written down before running anything


def check_predicted_values(got, expected, name, rule, mistakes=None, atol=1e-3,
                           quiet=False):
    """Numbers predicted by hand (one number, a bool, or a list of numbers) must equal
    ``expected``, computed by the test. A wrong prediction is told ``rule`` (how to work
    it out, never the value) and, when it is what a known mistake gives (``mistakes``
    maps a wrong value to its explanation), that mistake."""
    from nncourse.checks import check_true

    if isinstance(expected, bool):
        check_true(isinstance(got, bool), say("{name} should be True or False, got "
                                              "{kind}", name=name,
                                              kind=type(got).__name__), quiet=True)
        right = got == expected
    else:
        numbers = got if isinstance(got, (list, tuple)) else [got]
        if isinstance(expected, list):
            wrong_kind = say("{name} should be a list of numbers, got {got!r}",
                             name=name, got=got)
        else:
            wrong_kind = say("{name} should be a number, got {got!r}", name=name,
                             got=got)
        check_true(all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in numbers), wrong_kind, quiet=True)
        want = expected if isinstance(expected, list) else [expected]
        check_true(len(numbers) == len(want),
                   say("{name} should hold {want} numbers, got {got}", name=name,
                       want=len(want), got=len(numbers)), quiet=True)
        right = all(abs(float(g) - float(w)) <= atol for g, w in zip(numbers, want))
    if right:
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    hint = rule
    for wrong, text in (mistakes or {}).items():
        wrong = list(wrong) if isinstance(wrong, tuple) else wrong
        same = (got == wrong if isinstance(wrong, bool) or isinstance(got, bool) else
                isinstance(wrong, list) == isinstance(got, (list, tuple)) and all(
                    abs(float(g) - float(w)) <= atol for g, w in
                    zip(got if isinstance(got, (list, tuple)) else [got],
                        wrong if isinstance(wrong, list) else [wrong])))
        if same:
            hint = f"{text}\n{rule}"
            break
    check_true(False, say("{name} = {got!r} is not what PyTorch computes", name=name,
                          got=got), hint=hint, quiet=quiet)


# ----------------------------------------------------------------------------------------
# "Fix this": an in-place operation on a tensor that autograd saved


@watches_student_code
def watch_backward(fn, x):
    """Run ``fn`` on a copy of ``x`` that requires grad and backpropagate the sum of its
    result; return what happened, as data (beside the student's code: see
    ``nncourse.watching``)."""
    x = x.detach().clone().requires_grad_(True)
    before = x.detach().clone()
    try:
        out = fn(x)
    except RuntimeError as err:
        return {"stage": "forward", "error": str(err)}
    if not isinstance(out, torch.Tensor):
        return {"stage": "forward",
                "error": say("it returned a {kind}", kind=type(out).__name__)}
    seen = {"stage": "done", "error": None, "requires_grad": out.requires_grad,
            "x_changed": not torch.equal(x.detach(), before), "grad": None}
    if out.requires_grad:
        try:
            out.sum().backward()
        except RuntimeError as err:
            return {"stage": "backward", "error": str(err)}
        seen["grad"] = None if x.grad is None else x.grad.detach().clone()
    return seen


def silu_data_trick_grad(x):
    """The gradient a SiLU gets when its product is written into sigmoid's output through
    ``.data``: no error, but autograd uses the overwritten tensor."""
    x = x.detach().clone().requires_grad_(True)
    s = torch.sigmoid(x)
    s.data.mul_(x.data)
    s.sum().backward()
    return x.grad


def check_silu_fix(fn, x, name="silu(x)", quiet=False):
    """``fn`` must compute x * sigmoid(x) in the forward pass *and* let autograd compute
    the right gradient, without changing ``x``."""
    from nncourse.checks import check_true

    reference = x.detach().clone().requires_grad_(True)
    expected = reference * torch.sigmoid(reference)
    expected.sum().backward()
    seen = watch_backward(fn, x)
    if seen["stage"] == "forward":
        leaf = "a leaf Variable that requires grad" in seen["error"]
        check_true(False, say("{name} raised in the forward pass: {error}", name=name,
                              error=seen["error"]),
                   hint=say("the in-place operation now writes into x itself, which the "
                            "caller owns and autograd needs") if leaf else None)
    if seen["stage"] == "backward":
        known = "modified by an inplace operation" in seen["error"]
        inplace_hint = say("an in-place operation (a method ending in _, or "
                           "inplace=True) overwrote a tensor that autograd saved for "
                           "the backward pass: sigmoid keeps its output to compute its "
                           "gradient. Compute the product into a new tensor")
        check_true(False, say("backward through {name} raised: {error}", name=name,
                              error=seen["error"]), hint=inplace_hint if known else None)
    check_true(not seen["x_changed"], say("{name} changed its input x in place",
                                          name=name), quiet=True)
    check_true(seen["requires_grad"], say("the result of {name} does not require grad: "
                                          "autograd cannot reach x", name=name),
               hint=say("detach(), .data or torch.no_grad() cut the graph: the fix must "
                        "keep it"), quiet=True)
    with torch.no_grad():
        values = fn(x.detach().clone())
    check_close(values, expected.detach(), say("the values of {name}", name=name),
                quiet=True)
    check_true(seen["grad"] is not None, say("backward through {name} left no "
                                             "gradient in x", name=name), quiet=True)
    hint = None
    if matches(seen["grad"], silu_data_trick_grad(x)):
        hint = say("the gradient is what autograd gives when sigmoid's saved output is "
                   "overwritten behind its back (through .data): no error, wrong "
                   "gradients. Compute the product into a new tensor")
    check_close(seen["grad"], reference.grad, say("the gradient of {name}.sum() with "
                                                  "respect to x", name=name),
                hint=hint, quiet=quiet)
