"""Unit tests of nncourse.diagnose_losses: right losses pass, known mistakes are named."""
import pytest
import torch
import torch.nn.functional as F

from nncourse.checks import CheckFailure
from nncourse.diagnose_losses import (builtin_losses_forbidden, call_by_hand,
                                      check_class_targets, check_cross_entropy,
                                      check_cross_entropy_grad, check_regression_loss,
                                      diagnose_targets)

g = torch.Generator().manual_seed(0)
Z = torch.randn(6, 4, generator=g)            # (N, C)
Y = torch.tensor([0, 3, 1, 2, 3, 0])          # (N,)
W = torch.tensor([0.5, 1.0, 2.0, 3.0])        # (C,)
A, B = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)


def failure(check, *args, **kwargs):
    with pytest.raises(CheckFailure) as info:
        check(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, W])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_right_cross_entropy_passes(reduction, weight, smoothing):
    y = Y.clone()
    y[2] = -100
    loss = F.cross_entropy(Z, y, weight=weight, label_smoothing=smoothing,
                           reduction=reduction)
    check_cross_entropy(loss, Z, y, weight=weight, label_smoothing=smoothing,
                        reduction=reduction, quiet=True)


def test_cross_entropy_mistakes_are_named():
    assert "softmax was applied before" in failure(
        check_cross_entropy, F.cross_entropy(Z.softmax(dim=1), Y), Z, Y)
    assert "added up ('sum')" in failure(
        check_cross_entropy, F.cross_entropy(Z, Y, reduction="sum"), Z, Y)
    assert "log-softmax over dim 0" in failure(
        check_cross_entropy, F.nll_loss(F.log_softmax(Z, dim=0), Y), Z, Y)
    assert "divided by the number of samples" in failure(
        check_cross_entropy, F.cross_entropy(Z, Y, weight=W, reduction="sum") / 6, Z, Y,
        weight=W)
    y = Y.clone()
    y[0] = -100
    assert "still count in the mean" in failure(
        check_cross_entropy, F.cross_entropy(Z, y, reduction="sum") / 6, Z, y)
    assert "C - 1 = 3 other classes" in failure(
        check_cross_entropy, F.cross_entropy(Z, Y, label_smoothing=0.4), Z, Y,
        label_smoothing=0.3)
    big = Z * 200
    naive = -big.softmax(dim=1).log()[torch.arange(6), Y].mean()
    assert "log_softmax" in failure(check_cross_entropy, naive, big, Y)


def test_unknown_wrong_value_still_fails_with_the_difference():
    message = failure(check_cross_entropy, torch.tensor(123.0), Z, Y)
    assert "largest difference" in message and "known mistake" not in message


def test_regression_mistakes_are_named():
    check_regression_loss(F.mse_loss(A, B), A, B, "mse", quiet=True)
    check_regression_loss(F.l1_loss(A, B, reduction="sum"), A, B, "l1", "sum", quiet=True)
    assert "L1 loss, not the MSE" in failure(check_regression_loss, F.l1_loss(A, B), A, B)
    assert "RMSE" in failure(check_regression_loss, F.mse_loss(A, B).sqrt(), A, B)
    assert "N * D" in failure(check_regression_loss, ((A - B) ** 2).sum(1).mean(), A, B)
    assert "absolute value is missing" in failure(
        check_regression_loss, (A - B).mean(), A, B, "l1")
    assert "averaged ('mean')" in failure(
        check_regression_loss, F.l1_loss(A, B), A, B, "l1", "sum")


def test_gradient_mistakes_are_named():
    probs, one_hot = Z.softmax(dim=1), F.one_hot(Y, 4).float()
    check_cross_entropy_grad((probs - one_hot) / 6, Z, Y, quiet=True)
    assert "summed loss" in failure(check_cross_entropy_grad, probs - one_hot, Z, Y)
    assert "sign is flipped" in failure(check_cross_entropy_grad, (one_hot - probs) / 6, Z, Y)
    assert "N * C" in failure(check_cross_entropy_grad, (probs - one_hot) / 24, Z, Y)
    assert "-z[i, y[i]] is missing" in failure(check_cross_entropy_grad, probs / 6, Z, Y)
    assert "over dim 0" in failure(
        check_cross_entropy_grad, (Z.softmax(dim=0) - one_hot) / 6, Z, Y)
    assert "only the true classes" in failure(
        check_cross_entropy_grad, (probs - 1) * one_hot / 6, Z, Y)
    unknown = failure(check_cross_entropy_grad, probs * 0.5, Z, Y)
    assert "largest difference" in unknown and "known mistake" not in unknown


def test_gradient_hints_do_not_write_out_the_formula():
    from nncourse.diagnose_losses import cross_entropy_grad_mistakes
    for message in cross_entropy_grad_mistakes(Z, Y):
        assert "softmax - one_hot" not in message and "one_hot - softmax" not in message


@pytest.mark.parametrize("targets, words", [
    (Y[:, None], "(N, 1)"),
    (Y.float(), "floats"),
    (F.one_hot(Y, 4), "one-hot"),
    (Y[:1].squeeze(), "batch dimension when N = 1"),
    (Y.int(), "torch.long"),
])
def test_target_mistakes_are_named(targets, words):
    assert words in failure(check_class_targets, targets, Y)


def test_targets_right_and_out_of_range():
    check_class_targets(Y.clone(), Y, quiet=True)
    assert diagnose_targets(Y) is None
    assert "0..2" in diagnose_targets(Y, num_classes=3)
    assert "differ" in failure(check_class_targets, Y.flip(0), Y)


def test_builtin_losses_forbidden_and_restored():
    with builtin_losses_forbidden("Exercise 2"):
        with pytest.raises(CheckFailure, match="Exercise 2.*F.cross_entropy"):
            F.cross_entropy(Z, Y)
        with pytest.raises(CheckFailure, match="nn.MSELoss"):
            torch.nn.MSELoss()(A, B)
        F.log_softmax(Z, dim=1)               # allowed
    assert torch.isfinite(F.cross_entropy(Z, Y))


def test_label_smoothing_without_the_true_share_is_named():
    eps, c = 0.2, 4
    log_probs = F.log_softmax(Z, dim=1)
    target = torch.full_like(log_probs, eps / c)
    target[torch.arange(6), Y] = 1 - eps
    wrong = -(target * log_probs).sum(dim=1).mean()
    assert "1 - eps only" in failure(check_cross_entropy, wrong, Z, Y, label_smoothing=eps)


def test_wrong_reduction_shape_is_named():
    per_sample = F.cross_entropy(Z, Y, reduction="none")
    assert "single number" in failure(check_cross_entropy, per_sample.mean(), Z, Y,
                                      reduction="none")
    assert "returns a single number" in failure(check_cross_entropy, per_sample, Z, Y)
    assert "returns a single number" in failure(
        check_regression_loss, (A - B).abs(), A, B, "l1", "sum")


def test_ambiguous_mistakes_are_all_listed():
    a = torch.arange(10.0)
    message = failure(check_regression_loss, torch.tensor(2.0), a, a + 2, "mse")
    assert "one of these" in message and "RMSE" in message and "L1 loss" in message


def test_call_by_hand_turns_index_errors_into_hints():
    def unmasked(logits, y):
        return -F.log_softmax(logits, dim=1)[torch.arange(len(y)), y].mean()

    y = Y.clone()
    y[1] = -100
    assert "ignore_index" in failure(call_by_hand, "Exercise 3", unmasked, Z, y)
    assert torch.isfinite(call_by_hand("Exercise 2", unmasked, Z, Y))


def test_error_hints_need_their_cause_in_the_inputs():
    def one_hot_short(logits, y):
        return logits.softmax(dim=1) - F.one_hot(y).to(logits.dtype)

    y = torch.tensor([0, 1, 1, 0, 2, 2])                      # class 3 never occurs
    assert "max(y) + 1 = 3" in failure(call_by_hand, "Exercise 7", one_hot_short, Z, y)

    def wrong_index(logits, y):                                # out of bounds, no ignore
        return -logits[torch.arange(len(y)), y + 10].mean()

    with pytest.raises(IndexError):                            # raised as it is: no hint
        call_by_hand("Exercise 2", wrong_index, Z, Y)


def test_initial_expected_names_the_logarithm_and_the_class_count():
    import math

    from nncourse.diagnose_losses import check_initial_expected
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    check_initial_expected(math.log(10), 10, y, quiet=True)
    assert "log10" in failure(check_initial_expected, 1.0, 10, y)
    assert "found in the labels" in failure(check_initial_expected, math.log(5), 10, y)
    assert "Known mistake" not in failure(check_initial_expected, 2.0, 10, y)
    assert "Python float" in failure(check_initial_expected, torch.tensor(2.3), 10, y)


# ---- distillation and predict first -------------------------------------------------

@pytest.mark.filterwarnings("ignore:reduction")
def test_distillation_loss_passes_and_names_its_mistakes():
    from nncourse.diagnose_losses import check_distillation_loss
    s, t, T = Z, torch.randn(6, 4, generator=torch.Generator().manual_seed(3)) * 3, 2.0
    log_q, p = F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1)
    right = F.kl_div(log_q, p, reduction="batchmean") * T * T
    check_distillation_loss(right, s, t, T, quiet=True)
    check_distillation_loss(right.float(), s.float(), t.float(), T, quiet=True)
    assert "batchmean" in failure(check_distillation_loss,
                                  F.kl_div(log_q, p, reduction="mean") * T * T, s, t, T)
    assert "not its probabilities" in failure(
        check_distillation_loss, F.kl_div(log_q.exp(), p, reduction="batchmean") * T * T,
        s, t, T)
    assert "swapped" in failure(
        check_distillation_loss,
        F.kl_div(F.log_softmax(t / T, dim=1), log_q.exp(), reduction="batchmean") * T * T,
        s, t, T)
    assert "T**2 is missing" in failure(check_distillation_loss, right / (T * T), s, t, T)
    assert "only the teacher's logits" in failure(
        check_distillation_loss,
        F.kl_div(F.log_softmax(s, dim=1), p, reduction="batchmean") * T * T, s, t, T)
    unknown = failure(check_distillation_loss, right + 1, s, t, T)
    assert "largest difference" in unknown and "known mistake" not in unknown


def test_predicted_shape_divisor_and_ratio_give_the_rule_not_the_number():
    from nncourse.diagnose_losses import (check_predicted_divisor, check_predicted_kl_ratio,
                                          check_predicted_none_shape)
    check_predicted_none_shape((4, 7), (4, 5, 7), quiet=True)
    check_predicted_none_shape([3, 2, 2], (3, 5, 2, 2), quiet=True)
    message = failure(check_predicted_none_shape, (4, 5, 7), (4, 5, 7))
    assert "keeps the class dimension" in message
    message = failure(check_predicted_none_shape, (4,), (4, 5, 7))
    assert "one loss per target" in message and "(4, 7)" not in message
    assert "should be a tuple" in failure(check_predicted_none_shape, "4, 7", (4, 5, 7))
    weight, y = torch.tensor([1., 2., 3., 4.]), torch.tensor([3, -100, 3, 0, -100, 2])
    check_predicted_divisor(12, weight, y, quiet=True)
    for wrong, words in [(4, "leaves out their weights"), (6, "ignored ones too"),
                         (10, "all the classes"), (7, "sum of weight[y[i]]")]:
        message = failure(check_predicted_divisor, wrong, weight, y)
        assert words in message and "12" not in message
    assert "should be an int" in failure(check_predicted_divisor, 12.0, weight, y)
    check_predicted_kl_ratio(5, (8, 5), quiet=True)
    check_predicted_kl_ratio(3, (2, 3), quiet=True)
    for wrong, words in [(8, "batch size"), (40, "number of elements"), (1, "do differ")]:
        message = failure(check_predicted_kl_ratio, wrong, (8, 5))
        assert words in message and " 5" not in message.replace("(8, 5)", "")
