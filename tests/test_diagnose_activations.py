"""The chapter 4 and 5 diagnostics accept right answers and name the classic mistakes."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nncourse.checks import CheckFailure
from nncourse import diagnose_activations as da
from nncourse import diagnose_normalization as dn


def fails_with(check, *args, words, **kwargs):
    with pytest.raises(CheckFailure) as err:
        check(*args, **kwargs)
    message = str(err.value)
    for word in words:
        assert word in message, message
    return message


def test_softmax_right_answer_passes(capsys):
    x = torch.randn(4, 1000) * 50
    da.check_softmax(torch.softmax(x, 1), x, 1)
    assert "\u2713" in capsys.readouterr().out


def test_softmax_wrong_dim_is_named():
    x = torch.randn(3, 5)
    message = fails_with(da.check_softmax, torch.softmax(x, 0), x, 1,
                         words=["dim 0 instead of dim 1", "largest difference", "tolerance"])
    assert "Known mistake" in message


def test_softmax_overflow_is_named():
    x = torch.tensor([[1000.0, 0.0, -5.0]])
    naive = x.exp() / x.exp().sum(1, keepdim=True)
    fails_with(da.check_softmax, naive, x, 1, words=["inf or NaN", "subtract the maximum"])


def test_softmax_without_keepdim_is_named():
    x = torch.randn(4, 4)
    fails_with(da.check_softmax, x.exp() / x.exp().sum(1), x, 1, words=["keepdim"])


def test_log_softmax_mistakes_are_named():
    x = torch.tensor([[0.0, -1000.0, 3.0]])
    da.check_log_softmax(torch.log_softmax(x, 1), x, 1, quiet=True)
    fails_with(da.check_log_softmax, torch.softmax(x, 1).log(), x, 1,
               words=["log(softmax(x)) underflows"])
    y = torch.randn(3, 6)
    m = y.amax(1, keepdim=True)
    fails_with(da.check_log_softmax, y - (y - m).exp().sum(1, keepdim=True).log(), y, 1,
               words=["not outside"])
    fails_with(da.check_log_softmax, torch.log_softmax(y, 0), y, 1, words=["dim 0"])


def test_derivative_mistakes_are_named():
    x = torch.linspace(-6, 6, 50)
    s = torch.sigmoid(x)
    da.check_sigmoid_derivative(s * (1 - s), x, quiet=True)
    fails_with(da.check_sigmoid_derivative, x * (1 - x), x, words=["applied to x"])
    t = torch.tanh(x)
    da.check_tanh_derivative(1 - t ** 2, x, quiet=True)
    fails_with(da.check_tanh_derivative, 1 - t, x, words=["square is missing"])


def test_chain_gradient():
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)
    grad, a = torch.ones_like(x), x
    for _ in range(6):
        s = torch.sigmoid(a)
        grad, a = grad * s * (1 - s), s
    da.check_sigmoid_chain_gradient(grad, x, 6, quiet=True)
    fails_with(da.check_sigmoid_chain_gradient, torch.full_like(x, 0.25 ** 6), x, 6,
               words=["upper bound"])


def test_gelu_and_relu():
    x = torch.linspace(-4, 4, 101)
    da.check_gelu(F.gelu(x), x, quiet=True)
    da.check_gelu(F.gelu(x, approximate="tanh"), x, "tanh", quiet=True)
    fails_with(da.check_gelu, da.gelu_tanh(x), x, words=["tanh approximation"])
    fails_with(da.check_relu, x.abs(), x, words=["absolute value"])
    y = x.clone()
    fails_with(da.check_unchanged, y.clamp_(min=0), x, words=["in-place"])


def test_softmax_jacobian():
    x = torch.randn(6)
    s = torch.softmax(x, 0)
    da.check_softmax_jacobian(torch.diag(s) - torch.outer(s, s), x, quiet=True)
    fails_with(da.check_softmax_jacobian, torch.diag(s * (1 - s)), x,
               words=["off-diagonal"])


def test_batch_norm_mistakes_are_named():
    x = torch.randn(8, 3, 4, 4) * 3 + 1
    w, b = torch.rand(3) + 0.5, torch.randn(3)
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(w)
        bn.bias.copy_(b)
    dn.check_batch_norm(bn(x), x, w, b, quiet=True)
    dims = [0, 2, 3]
    unbiased = ((x - x.mean(dims, keepdim=True)) / (x.var(dims, keepdim=True) + 1e-5).sqrt()
                * w.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1))
    fails_with(dn.check_batch_norm, unbiased, x, w, b, words=["unbiased"])
    rm, rv = torch.randn(3), torch.rand(3) + 0.5
    fails_with(dn.check_batch_norm, bn(x), x, w, b, training=False, running_mean=rm,
               running_var=rv, words=["evaluating in train mode"])


def test_running_stats_biased_variance_is_named():
    x = torch.randn(8, 3, 4, 4)
    rm, rv = torch.zeros(3), torch.ones(3)
    mean, var = dn.expected_running_stats(x, rm, rv)
    dn.check_running_stats(mean, var, x, rm, rv, quiet=True)
    biased = 0.9 * rv + 0.1 * x.var([0, 2, 3], correction=0)
    fails_with(dn.check_running_stats, mean, biased, x, rm, rv, words=["unbiased"])


def test_layer_norm_over_batch_is_named():
    x = torch.randn(4, 5, 6)
    dn.check_layer_norm(F.layer_norm(x, (5, 6)), x, (5, 6), quiet=True)
    wrong = (x - x.mean(0, keepdim=True)) / (x.var(0, keepdim=True, correction=0)
                                             + 1e-5).sqrt()
    fails_with(dn.check_layer_norm, wrong, x, (5, 6), words=["batch (dim 0)"])


def test_dropout_checks():
    x = torch.randn(64, 64)
    torch.manual_seed(0)
    dn.check_dropout(F.dropout(x, 0.3), x, 0.3, quiet=True)
    dn.check_dropout(x, x, 0.3, training=False, quiet=True)
    mask = (torch.rand_like(x) > 0.3).float()
    fails_with(dn.check_dropout, x * mask, x, 0.3, words=["1/(1-p)"])
    fails_with(dn.check_dropout, F.dropout(x, 0.3), x, 0.3, training=False,
               words=["eval mode"])
    fails_with(dn.check_dropout, F.dropout(x, 0.7), x, 0.3, words=["input / (1 - p)"])


def test_dropout2d_checks():
    x = torch.randn(16, 8, 5, 5)
    dn.check_dropout2d(F.dropout2d(x, 0.4), x, 0.4, quiet=True)
    fails_with(dn.check_dropout2d, F.dropout(x, 0.4), x, 0.4, words=["whole channels"])
    shared = (torch.rand(1, 8, 1, 1) > 0.4).float().expand_as(x) / 0.6
    shared[:, 0] = 0
    shared[:, 1] = 1 / 0.6
    fails_with(dn.check_dropout2d, x * shared, x, 0.4, words=["(N, C, 1, 1)"])


def test_nonfinite_explanation_only_when_the_unstable_formula_explains_it():
    from nncourse.diagnose_activations import check_softmax
    x = torch.tensor([[1.0, 2.0, 3.0]])
    nan_elsewhere = torch.tensor([[float("nan"), 0.2447, 0.6652]])
    with pytest.raises(CheckFailure) as err:
        check_softmax(nan_elsewhere, x, 1)
    assert "Known mistake" not in str(err.value)
    big = torch.tensor([[1000.0, 0.0]])
    with pytest.raises(CheckFailure) as err:
        check_softmax(big.exp() / big.exp().sum(1, keepdim=True), big, 1)
    assert "Known mistake" in str(err.value)


# ---- issue 12: predict-first values and the SiLU fix ------------------------------------
def test_check_predicted_values(capsys):
    da.check_predicted_values([0, 0, 1], [0.0, 0.0, 1.0], "g", "rule")
    da.check_predicted_values(True, True, "b", "rule")
    message = fails_with(da.check_predicted_values, [0, 1, 1], [0.0, 0.0, 1.0], "g", "RULE",
                         {(0.0, 1.0, 1.0): "KNOWN"}, words=("KNOWN", "RULE"))
    assert "[0.0, 0.0, 1.0]" not in message
    fails_with(da.check_predicted_values, 0.3, 0.2, "p", "RULE", {0.25: "KNOWN"},
               words=("RULE",))
    fails_with(da.check_predicted_values, 1, True, "b", "RULE", words=("True or False",))
    fails_with(da.check_predicted_values, [0, 1], [0.0, 0.0, 1.0], "g", "", words=("3",))


def _silu_broken(x):
    s = torch.sigmoid(x)
    s.mul_(x)
    return s


def _silu_data(x):
    s = torch.sigmoid(x)
    s.data.mul_(x.data)
    return s


def _silu_leaf(x):
    x.mul_(torch.sigmoid(x))
    return x


def test_check_silu_fix():
    x = torch.randn(3, 4)
    da.check_silu_fix(lambda t: t * torch.sigmoid(t), x)
    da.check_silu_fix(F.silu, x)
    fails_with(da.check_silu_fix, _silu_broken, x, words=("in-place", "backward"))
    fails_with(da.check_silu_fix, _silu_data, x, words=(".data",))
    fails_with(da.check_silu_fix, _silu_leaf, x, words=("forward",))
    fails_with(da.check_silu_fix, lambda t: F.silu(t).detach(), x, words=("require grad",))
    fails_with(da.check_silu_fix, lambda t: t * torch.sigmoid(2 * t), x, words=("values",))
