"""Checks for chapter 8 (losses) that recognise the classic mistakes by name.

A wrong loss rarely raises: softmax in front of ``CrossEntropyLoss`` or a ``'sum'`` where
``'mean'`` was meant still returns a number, only the wrong one. The checks here compare a
student's loss with the right value and, when it matches what a known mistake produces
instead, say which mistake it is and how to fix it:

- ``diagnose_targets`` names what is wrong with class-index targets (a column of shape
  (N, 1), floats, one-hot rows, a lost batch dimension);
- ``check_class_targets`` checks targets meant for ``nn.CrossEntropyLoss``;
- ``check_cross_entropy`` and ``check_regression_loss`` check loss values, and
  ``check_cross_entropy_grad`` the gradient of cross-entropy with respect to the logits;
- ``check_distillation_loss`` checks a distillation loss (KL divergence at a temperature);
- ``check_predicted_*`` check numbers and shapes a student predicted before running;
- ``builtin_losses_forbidden`` (and ``call_by_hand``) make an exercise that asks for a loss
  "by hand" fail with a clear message when the function calls torch's own loss.
"""
import math
import re
import warnings

import torch
import torch.nn.functional as F

from nncourse.checks import (CheckFailure, check_close, fmt_shape, none_returned, tick,
                             values_match, with_hint)
from nncourse.forbid import forbidden
from nncourse.messages import say


def _softmax_before_ce():
    return say("softmax was applied before cross-entropy: the loss takes raw logits and "
               "applies log-softmax itself, so the probabilities went through softmax "
               "twice. Pass the logits straight to the loss")


def _naive_log_softmax():
    return say("softmax(...).log() rounds the small probabilities of large logits to 0, "
               "and log(0) = -inf: use F.log_softmax(logits, dim=1), which is computed "
               "stably")


# Exercise 5 of chapter 8 asks for these conversions, so the messages give a direction,
# not the code.
def _column_targets():
    return say("the targets have shape (N, 1), a column: class indices must have shape "
               "(N,); remove the column dimension, and only that one")


def _float_targets(dtype):
    return say("the targets are floats ({dtype}): class indices must be integers of "
               "dtype torch.long", dtype=dtype)


def _one_hot_targets():
    return say("the targets are one-hot rows of shape (N, C): class indices are one "
               "number per sample, the position of the 1 in its row")


def _lost_batch_dim():
    return say("the targets have no dimension at all: a squeeze() that removes every "
               "dimension of size 1 also removes the batch dimension when N = 1; name "
               "the dimension to remove")


BUILTIN_LOSSES = {
    # name in torch._C._nn (or torch) -> what the student called
    "cross_entropy_loss": "F.cross_entropy / nn.CrossEntropyLoss",
    "nll_loss": "F.nll_loss / nn.NLLLoss",
    "nll_loss_nd": "F.nll_loss / nn.NLLLoss",
    "nll_loss2d": "F.nll_loss / nn.NLLLoss",
    "l1_loss": "F.l1_loss / nn.L1Loss",
    "mse_loss": "F.mse_loss / nn.MSELoss",
    "smooth_l1_loss": "F.smooth_l1_loss / nn.SmoothL1Loss",
    "huber_loss": "F.huber_loss / nn.HuberLoss",
}


def _as_float64(t):
    return torch.as_tensor(t).detach().to("cpu", torch.float64)


def _matches(actual, candidate, atol=1e-5, rtol=1e-4):
    return values_match(actual, candidate, atol, rtol)


def _known_mistake(actual, mistakes, atol=1e-5, rtol=1e-4):
    """The message of the mistakes whose value ``actual`` matches, else None.

    ``mistakes`` maps a message to a function that computes the mistaken value; a function
    that raises is skipped (that mistake cannot happen for this input). When several
    mistakes give the same value for this input, the message lists them all.
    """
    found = []
    for message, compute in mistakes.items():
        try:
            candidate = compute()
        except (RuntimeError, ValueError, IndexError, TypeError):
            continue
        if _matches(actual, candidate, atol, rtol):
            found.append(message)
    if len(found) > 1:
        return say("one of these (they give the same value here):\n- {mistakes}",
                   mistakes="\n- ".join(found))
    return found[0] if found else None


def _as_tensor(value, name):
    if value is None:
        raise CheckFailure(none_returned(name))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    if not isinstance(value, torch.Tensor):
        raise CheckFailure(say("{name} should be a tensor or a number, got {kind}",
                               name=name, kind=type(value).__name__))
    return value


# ----------------------------------------------------------------------------------------
# Targets


def _is_one_hot(y):
    if y.dim() != 2 or y.shape[1] < 2 or y.numel() == 0:
        return False
    values = y.detach().to("cpu", torch.float64)
    binary = bool(((values == 0) | (values == 1)).all())
    return binary and bool((values.sum(dim=1) == 1).all())


def diagnose_targets(y, num_classes=None):
    """What is wrong with ``y`` as class indices for ``nn.CrossEntropyLoss``, or None.

    Recognises a column (N, 1), one-hot rows (N, C), float indices, a 0-d tensor (a batch of
    one squeezed away) and, when ``num_classes`` is given, indices outside 0..C-1.
    """
    if not isinstance(y, torch.Tensor):
        return say("the targets should be a tensor, got {kind}", kind=type(y).__name__)
    if y.dim() == 0:
        return _lost_batch_dim()
    if y.dim() == 2 and y.shape[1] == 1:
        return _column_targets()
    if _is_one_hot(y):
        return _one_hot_targets()
    if y.dim() != 1:
        return say("the targets have shape {shape}: class indices have shape (N,), one "
                   "integer per sample", shape=fmt_shape(y.shape))
    if y.is_floating_point():
        return _float_targets(y.dtype)
    if y.dtype != torch.long:
        return say("the targets have dtype {dtype}: nn.CrossEntropyLoss wants "
                   "torch.long", dtype=y.dtype)
    if num_classes is not None and y.numel():
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            return say("class indices must lie in 0..{last}, found values from {low} to "
                       "{high}", last=num_classes - 1, low=low, high=high)
    return None


def check_class_targets(y, expected, name="targets", quiet=False):
    """``y`` must equal ``expected``: class indices of shape (N,) and dtype torch.long."""
    if y is None:
        raise CheckFailure(none_returned(name))
    problem = diagnose_targets(y)
    if problem is None and y.shape != expected.shape:
        problem = say("expected shape {want}, got {got}", want=fmt_shape(expected.shape),
                      got=fmt_shape(y.shape))
    if problem is not None:
        raise CheckFailure(say("{name}: {problem}", name=name, problem=problem))
    if not torch.equal(y.cpu(), expected.cpu()):
        wrong = (y.cpu() != expected.cpu()).nonzero()
        first = int(wrong[0])
        raise CheckFailure(say("{name}: {wrong} of {total} labels differ; the first at "
                               "index {index}: expected {want}, got {got}", name=name,
                               wrong=len(wrong), total=len(y), index=first,
                               want=int(expected[first]), got=int(y[first])))
    tick(say("{name}: class indices of shape ({n},), dtype torch.long", name=name,
             n=len(y)), quiet)


# ----------------------------------------------------------------------------------------
# Loss values


def _reduce_kept(per_sample, kept, reduction):
    """Reduce (N,) losses as cross-entropy does without weights: the mean counts kept ones."""
    if reduction == "mean":
        return per_sample.sum() / kept.sum()
    return _reduce(per_sample, reduction)


def _reduce(per_sample, reduction):
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean":
        return per_sample.mean()
    return per_sample


def cross_entropy_mistakes(logits, y, weight=None, ignore_index=-100, label_smoothing=0.0,
                           reduction="mean"):
    """``{message: function}``: the values that classic cross-entropy mistakes produce."""
    options = dict(weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing)

    def ce(z=logits, **changes):
        return lambda: F.cross_entropy(z, y, **{"reduction": reduction, **options, **changes})

    mistakes = {
        _softmax_before_ce(): ce(logits.softmax(dim=1)),
        say("the sign is flipped: the loss is minus the log-probability of the true "
            "class"): lambda: -ce()(),
        say("log-softmax over dim 0 (the batch): the classes are in dim 1"):
            lambda: F.nll_loss(F.log_softmax(logits, dim=0), y, weight=weight,
                               ignore_index=ignore_index, reduction=reduction),
    }
    if reduction == "mean":
        mistakes[say("the losses were added up ('sum') where 'mean' was asked "
                     "for")] = ce(reduction="sum")
    if reduction == "sum":
        mistakes[say("the losses were averaged ('mean') where 'sum' was asked "
                     "for")] = ce(reduction="mean")
    if weight is not None:
        mistakes[say("the class weights were left out")] = ce(weight=None)
    if label_smoothing:
        mistakes[say("label smoothing was left out")] = ce(label_smoothing=0.0)
        num_classes = logits.shape[1]
        mistakes[say("the smoothing mass was spread over the C - 1 = {others} other "
                     "classes; PyTorch spreads eps / C over all C classes, the true one "
                     "included", others=num_classes - 1)] = ce(
            label_smoothing=label_smoothing * num_classes / (num_classes - 1))
        if weight is None:
            mistakes[say("the true class got 1 - eps only: it also gets its share "
                         "eps / C, so that each target row sums to 1")] = (
                lambda: _reduce_kept(
                    ce(reduction="none")() - label_smoothing / num_classes
                    * F.cross_entropy(logits, y, reduction="none",
                                      ignore_index=ignore_index),
                    y != ignore_index, reduction))
    if reduction == "mean":
        # the right sum of losses, divided by the wrong count
        total = F.cross_entropy(logits, y, reduction="sum", **options)
        kept = int((y != ignore_index).sum())
        if kept < len(y):
            mistakes[say("the targets equal to ignore_index ({ignore_index}) still "
                         "count in the mean: divide by the kept samples only",
                         ignore_index=ignore_index)] = lambda: total / len(y)
        if weight is not None:
            mistakes[say("the weighted losses were divided by the number of samples; "
                         "with class weights, 'mean' divides by the sum of the weights "
                         "of the counted samples")] = lambda: total / kept
    return mistakes


def check_cross_entropy(actual, logits, y, name="loss", weight=None, ignore_index=-100,
                        label_smoothing=0.0, reduction="mean", atol=1e-5, rtol=1e-4,
                        quiet=False):
    """``actual`` must equal ``F.cross_entropy(logits, y, ...)``; names known mistakes."""
    actual = _as_tensor(actual, name)
    logits = logits.detach()
    expected = F.cross_entropy(logits, y, weight=weight, ignore_index=ignore_index,
                               label_smoothing=label_smoothing, reduction=reduction)
    if _matches(actual, expected, atol, rtol):
        tick(say("{name} matches nn.CrossEntropyLoss", name=name), quiet)
        return
    if not torch.isfinite(_as_float64(actual)).all():
        # named only when softmax(...).log() does overflow on these logits
        naive = logits.softmax(dim=1).log()
        mistake = _naive_log_softmax() if not torch.isfinite(naive).all() else None
    else:
        mistake = _known_mistake(actual, cross_entropy_mistakes(
            logits, y, weight, ignore_index, label_smoothing, reduction), atol, rtol)
    _fail_with(actual, expected, name, atol, rtol, mistake, reduction)


def _reduction_problem(actual, expected, reduction):
    """A message when the result has the shape of another reduction, else None."""
    if not isinstance(actual, torch.Tensor) or actual.shape == expected.shape:
        return None
    if reduction == "none" and actual.dim() == 0:
        return say("reduction='none' returns one loss per element, of shape {shape}; "
                   "got a single number: do not sum or average",
                   shape=fmt_shape(expected.shape))
    if reduction in ("mean", "sum") and expected.dim() == 0 and actual.numel() > 1:
        return say("reduction={reduction!r} returns a single number; got a tensor of "
                   "shape {shape}: reduce the per-element losses with .{reduction}()",
                   reduction=reduction, shape=fmt_shape(actual.shape))
    return None


def _fail_with(actual, expected, name, atol, rtol, mistake, reduction=None):
    problem = _reduction_problem(actual, expected, reduction)
    if problem:
        raise CheckFailure(say("{name}: {problem}", name=name, problem=problem))
    try:
        check_close(actual, expected, name, atol=atol, rtol=rtol, quiet=True)
    except CheckFailure as failure:
        if mistake:
            raise CheckFailure(say("{failure}\nThis is a known mistake: {mistake}",
                                   failure=str(failure), mistake=mistake)) from None
        raise
    raise CheckFailure(say("{name}: expected {want}, got {got}", name=name,
                           want=expected, got=actual))


def regression_mistakes(pred, target, kind, reduction="mean"):
    """``{message: function}``: the values that classic L1/MSE mistakes produce."""
    diff = pred.double() - target.double()
    other = {"l1": "mse", "mse": "l1"}[kind]
    per = {"l1": diff.abs(), "mse": diff.pow(2)}
    mistakes = {
        say("this is the {other} loss, not the {kind} loss: L1 averages |error|, MSE "
            "averages error**2", other=other.upper(), kind=kind.upper()):
            lambda: _reduce(per[other], reduction),
    }
    if reduction == "mean":
        mistakes[say("the errors were added up ('sum') where 'mean' was asked for")] = (
            lambda: per[kind].sum())
    if reduction == "sum":
        mistakes[say("the errors were averaged ('mean') where 'sum' was asked for")] = (
            lambda: per[kind].mean())
    if kind == "mse":
        mistakes[say("this is the root of the MSE (RMSE): MSELoss has no square "
                     "root")] = lambda: _reduce(per[kind], reduction).sqrt()
    if kind == "l1":
        mistakes[say("the absolute value is missing: errors of opposite signs "
                     "cancel")] = lambda: _reduce(diff, reduction)
    if reduction == "mean" and diff.dim() > 1:
        mistakes[say("the mean was taken over the samples only (the features were "
                     "added): 'mean' divides by the number of elements, N * D")] = (
            lambda: per[kind].sum(dim=tuple(range(1, diff.dim()))).mean())
    return mistakes


def check_regression_loss(actual, pred, target, kind="mse", reduction="mean", name="loss",
                          atol=1e-5, rtol=1e-4, quiet=False):
    """``actual`` must equal the L1 (``kind='l1'``) or MSE loss of ``pred`` and ``target``."""
    actual = _as_tensor(actual, name)
    loss = {"l1": F.l1_loss, "mse": F.mse_loss}[kind]
    pred = pred.detach()
    expected = loss(pred, target, reduction=reduction)
    if _matches(actual, expected, atol, rtol):
        tick(say("{name} matches the {kind} loss with reduction={reduction!r}",
                 name=name, kind=kind.upper(), reduction=reduction), quiet)
        return
    mistake = _known_mistake(actual, regression_mistakes(pred, target, kind, reduction),
                             atol, rtol)
    _fail_with(actual, expected, name, atol, rtol, mistake, reduction)


def check_cross_entropy_grad(actual, logits, y, name="gradient", atol=1e-6, rtol=1e-4,
                             quiet=False):
    """``actual`` must be d mean-cross-entropy / d logits, as autograd computes it."""
    actual = _as_tensor(actual, name)
    z = logits.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (expected,) = torch.autograd.grad(F.cross_entropy(z, y), z)
    if _matches(actual, expected, atol, rtol):
        tick(say("{name} matches autograd", name=name), quiet)
        return
    mistake = _known_mistake(actual, cross_entropy_grad_mistakes(logits, y), atol, rtol)
    _fail_with(actual, expected, name, atol, rtol, mistake)


def cross_entropy_grad_mistakes(logits, y):
    """``{message: function}``: what the classic slips in deriving d mean-CE / d logits
    give. Exercise 7 asks for the derivation, so the messages point at the step that went
    wrong without writing out the formula."""
    z = logits.detach().double()
    n, c = z.shape
    probs = z.softmax(dim=1)
    one_hot = F.one_hot(y, c).to(probs.dtype)
    return {
        say("this is the gradient of the summed loss: the mean over N samples divides "
            "the gradient by N too"): lambda: probs - one_hot,
        say("divided by N * C: the mean of cross-entropy runs over the N samples only; "
            "the loss of each sample already adds up its C classes"):
            lambda: (probs - one_hot) / (n * c),
        say("the sign is flipped: raising the logit of the true class lowers the loss, "
            "so its entry must be negative"): lambda: (one_hot - probs) / n,
        say("the term of -z[i, y[i]] is missing: the loss of sample i also depends on "
            "its true class's logit directly, not only through the log-sum-exp (each "
            "row of the gradient sums to 0)"): lambda: probs / n,
        say("the logits stand where the derivative of log(sum_k exp(z[i, k])) belongs: "
            "differentiate it, through the log and then the exp"):
            lambda: (z - one_hot) / n,
        say("the softmax runs over dim 0, the batch: the log-sum-exp of sample i adds "
            "up the C logits of its own row"): lambda: (z.softmax(dim=0) - one_hot) / n,
        say("only the true classes got a gradient: the log-sum-exp depends on every "
            "logit of the row, so every class has a nonzero derivative"):
            lambda: (probs - 1) * one_hot / n,
    }


# ----------------------------------------------------------------------------------------
# Exercises that ask for a loss by hand


def builtin_losses_forbidden(what=None):
    """Inside the block, calling one of torch's loss functions raises ``CheckFailure``
    (``what``, "this exercise" by default, names the exercise in the message).

    Every ``F.*_loss`` function and every loss module ends in ``torch._C._nn``; blocking
    those entries catches them all, however they were imported.
    """
    what = say("this exercise") if what is None else what
    paths = {f"torch._C._nn.{attr}": shown for attr, shown in BUILTIN_LOSSES.items()
             if hasattr(torch._C._nn, attr)}
    return forbidden(*paths, shown=paths, reason=what, message=_by_hand_refusal)


def _by_hand_refusal(name, reason):
    return say("{reason} asks you to compute the loss by hand, but {name} was called: "
               "build it from tensor operations (log_softmax, indexing, abs, pow, sum, "
               "mean)", name=name, reason=reason)


def _ignored_as_index():
    return say("an index is out of range, and a target here is negative: a target equal "
               "to ignore_index is not a class, so it cannot index the "
               "log-probabilities; give that sample a loss of 0 without using it as an "
               "index")


def _short_one_hot(short, c):
    return say("F.one_hot(y) without num_classes makes only max(y) + 1 = {short} "
               "columns, and the logits have {c}: the last class never occurs in this "
               "batch",
               short=short, c=c)


def _error_hint(err, args):
    """A hint for an index or shape error, only when the inputs show its cause: a negative
    target (an ignore_index used as an index), or a shape clash between C and max(y) + 1
    (a one-hot of y made without num_classes)."""
    text = str(err)
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    labels = [t for t in tensors if not t.is_floating_point() and t.dim() == 1 and t.numel()]
    logits = [t for t in tensors if t.is_floating_point() and t.dim() == 2]
    if "out of bounds" in text and any(int(t.min()) < 0 for t in labels):
        return _ignored_as_index()
    if "must match the size" in text and labels and logits:
        c, short = logits[0].shape[1], int(labels[0].max()) + 1
        sizes = {int(n) for n in re.findall(r"\((\d+)\)", text)}
        if short < c and sizes == {short, c}:
            return _short_one_hot(short, c)
    return None


def call_by_hand(what, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with torch's own losses forbidden: the result of a loss that
    an exercise asks to be written by hand (``what`` names the exercise in the message).

    An index or shape error inside ``fn`` whose cause the inputs show (see
    ``_error_hint``) becomes a ``CheckFailure`` with a hint; any other error is raised as
    it is.
    """
    with builtin_losses_forbidden(what):
        try:
            return fn(*args, **kwargs)
        except (IndexError, RuntimeError) as err:
            hint = _error_hint(err, args)
            if not hint:
                raise
            raised = say("{what}: your function raised {kind}: {error}", what=what,
                         kind=type(err).__name__, error=err)
            raise CheckFailure(with_hint(raised, hint)) from None


# ----------------------------------------------------------------------------------------
# The initial-loss sanity check


def check_initial_expected(expected, num_classes, y, name="expected", quiet=False):
    """``expected`` must be ln(C) for the C outputs of the net; names the usual slips."""
    want = math.log(num_classes)
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        raise CheckFailure(say("{name} should be a Python float, got {kind}", name=name,
                               kind=type(expected).__name__))
    if math.isclose(expected, want, rel_tol=1e-6, abs_tol=1e-6):
        tick(f"{name} = ln({num_classes}) = {want:.6f}", quiet)
        return
    seen = len(torch.unique(y))
    mistakes = {
        say("that is log10(C): ln is the natural logarithm"): math.log10(num_classes),
        say("that is log2(C): ln is the natural logarithm"): math.log2(num_classes),
        say("that is C itself, not its logarithm"): float(num_classes),
        say("that is the logarithm of the classes found in the labels ({seen}); C is "
            "the number of outputs of the net", seen=seen):
            math.log(seen) if seen else None,
        say("that is the logarithm of max(y) + 1 = {count}, from the labels; C is the "
            "number of outputs of the net", count=int(y.max()) + 1):
            math.log(int(y.max()) + 1),
    }
    found = [label for label, value in mistakes.items()
             if value is not None and math.isclose(expected, value, rel_tol=1e-6,
                                                   abs_tol=1e-6)]
    message = say("{name}: expected ln({c}) = {want:.6f} for a net with {c} outputs, "
                  "got {got:.6g}", name=name, c=num_classes, want=want, got=expected)
    if found:
        message = say("{message}\nKnown mistake: {mistake}", message=message,
                      mistake=found[0])
    raise CheckFailure(message)


# ----------------------------------------------------------------------------------------
# Distillation: KL divergence between softened distributions


def distillation_value(student_logits, teacher_logits, T):
    """T**2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the samples:
    the reference, in float64, computed with ``F.kl_div`` (reduction='batchmean'). The
    teacher is detached; a student tensor that requires grad keeps its graph, so the
    reference gradient can be taken with autograd."""
    s = student_logits.double()
    t = teacher_logits.detach().double()
    return F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1),
                    reduction="batchmean") * T * T


def distillation_mistakes(student_logits, teacher_logits, T):
    """``{message: function}``: the values that the classic distillation slips give."""
    s = student_logits.detach().double()
    t = teacher_logits.detach().double()
    n, c = s.shape
    log_q, q = F.log_softmax(s / T, dim=1), F.softmax(s / T, dim=1)
    log_p, p = F.log_softmax(t / T, dim=1), F.softmax(t / T, dim=1)

    def kl(inp, target, reduction="batchmean", log_target=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")           # torch warns about 'mean' here
            return F.kl_div(inp, target, reduction=reduction, log_target=log_target)

    right = kl(log_q, p)
    return {
        say("reduction='mean' divides by every element, N * C: the KL divergence of a "
            "sample adds up its classes, so average over the samples only "
            "('batchmean')"):
            lambda: kl(log_q, p, "mean") * T * T,
        say("the KL divergences were added up over the batch: average them over the N "
            "samples"): lambda: kl(log_q, p, "sum") * T * T,
        say("the input of the KL divergence must be the student's log-probabilities "
            "(log_softmax), not its probabilities"): lambda: kl(q, p) * T * T,
        say("the input of the KL divergence must be the student's log-probabilities "
            "(log_softmax), not its logits"): lambda: kl(s / T, p) * T * T,
        say("the arguments are swapped: this is KL(q || p); the input is the student's "
            "log-probabilities and the target the teacher's probabilities"):
            lambda: kl(log_p, q) * T * T,
        say("the target is given as log-probabilities but read as probabilities: pass "
            "probabilities, or say log_target=True"): lambda: kl(log_q, log_p) * T * T,
        say("the factor T**2 is missing"): lambda: right,
        say("the factor is T, not T**2"): lambda: right * T,
        say("only the teacher's logits were divided by T: the student's distribution is "
            "taken at the same temperature"):
            lambda: kl(F.log_softmax(s, dim=1), p) * T * T,
        say("only the student's logits were divided by T: the soft targets are the "
            "teacher's probabilities at temperature T"):
            lambda: kl(log_q, F.softmax(t, dim=1)) * T * T,
        say("the logits were multiplied by T: a temperature divides them"):
            lambda: kl(F.log_softmax(s * T, dim=1), F.softmax(t * T, dim=1)) * T * T,
    }


def check_distillation_loss(actual, student_logits, teacher_logits, T, name="loss",
                            atol=1e-5, rtol=1e-4, quiet=False):
    """``actual`` must be T**2 * KL(p || q) averaged over the samples, for the teacher's
    soft targets p = softmax(teacher / T) and the student's q = softmax(student / T)."""
    actual = _as_tensor(actual, name)
    expected = distillation_value(student_logits.detach(), teacher_logits, T)
    if _matches(actual, expected, atol, rtol):
        tick(say("{name} matches T**2 * KL(teacher || student) at T = {T:g}", name=name,
                 T=T), quiet)
        return
    mistake = _known_mistake(actual, distillation_mistakes(student_logits, teacher_logits,
                                                           T), atol, rtol)
    _fail_with(actual, expected, name, atol, rtol, mistake, "mean")


# ----------------------------------------------------------------------------------------
# Predict first: numbers and shapes written down before running anything

def _shape_none_rule():
    return say("with reduction='none', CrossEntropyLoss returns one loss per target: "
               "each loss adds up over the class dimension (dim 1 of the logits), and "
               "every other dimension stays")


def _weighted_mean_rule():
    return say("with class weights, 'mean' divides the weighted sum by the sum of "
               "weight[y[i]] over the samples that count, and a target equal to "
               "ignore_index does not count at all")


def _kl_ratio_rule():
    return say("'batchmean' divides the sum of all the elements by the batch size N; "
               "'mean' divides the same sum by the number of elements")


def _predicted_int(predicted, name):
    if not isinstance(predicted, int) or isinstance(predicted, bool):
        raise CheckFailure(say("{name} should be an int, like 3, got {got!r}", name=name,
                               got=predicted))


def _not_predicted(name, predicted, rule, known):
    """The failure of a wrong prediction: the known mistake it is, if any, then the
    rule."""
    hint = rule
    if known:
        hint = say("{mistake}\nThe rule: {rule}", mistake=known[0], rule=rule)
    return CheckFailure(with_hint(say("{name} is not {got}", name=name, got=predicted),
                                  hint))


def check_predicted_none_shape(predicted, logits_shape, name="shape_none", quiet=False):
    """The shape of ``CrossEntropyLoss(reduction='none')`` on logits of ``logits_shape``
    (N, C, d1, ...), predicted; torch computes the real one. A wrong answer gets the rule;
    keeping the class dimension is named."""
    from nncourse.checks import check_predicted_shape

    n, c, *rest = logits_shape
    logits = torch.zeros(logits_shape)
    targets = torch.zeros((n, *rest), dtype=torch.long)
    actual = tuple(F.cross_entropy(logits, targets, reduction="none").shape)
    ok_form = isinstance(predicted, (tuple, list)) and all(
        isinstance(d, int) and not isinstance(d, bool) for d in predicted)
    rule = _shape_none_rule()
    if ok_form and tuple(predicted) == tuple(logits_shape):
        raise CheckFailure(with_hint(say("{name}: {shape} is the shape of the logits, "
                                         "and keeps the class dimension", name=name,
                                         shape=fmt_shape(predicted)), rule))
    rules = [(say("N, the samples"), rule)] + [
        (say("position dimension {i}", i=i + 1), rule) for i in range(len(rest))]
    if ok_form and len(predicted) != len(actual):
        raise CheckFailure(with_hint(say("{name}: you wrote {count} dimensions, and "
                                         "that is not the number the loss has",
                                         name=name, count=len(predicted)), rule))
    check_predicted_shape(predicted, actual, name, rules, quiet=quiet)


def check_predicted_divisor(predicted, weight, y, ignore_index=-100, name="divisor",
                            quiet=False):
    """The number that weighted ``'mean'`` cross-entropy divides its sum by, predicted;
    measured from torch as sum / mean on random logits."""
    _predicted_int(predicted, name)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(len(y), len(weight), generator=g, dtype=torch.float64)
    w = weight.double()
    total = F.cross_entropy(logits, y, weight=w, ignore_index=ignore_index, reduction="sum")
    mean = F.cross_entropy(logits, y, weight=w, ignore_index=ignore_index)
    actual = int(round(float(total / mean)))
    if predicted == actual:
        tick(say("{name} = {value}, predicted right", name=name, value=actual), quiet)
        return
    kept = y != ignore_index
    known = [(len(y), say("that counts every sample, the ignored ones too, and leaves "
                          "out the weights")),
             (int(kept.sum()), say("that counts the kept samples but leaves out their "
                                   "weights")),
             (int(round(float(w.sum()))), say("that adds up the weights of all the "
                                              "classes, not those of the samples' "
                                              "targets"))]
    found = [text for value, text in known if value == predicted and value != actual]
    raise _not_predicted(name, predicted, _weighted_mean_rule(), found)


def check_predicted_kl_ratio(predicted, shape, name="kl_ratio", quiet=False):
    """How many times larger KLDivLoss 'batchmean' is than 'mean' on inputs of ``shape``,
    predicted; measured from torch on random distributions."""
    _predicted_int(predicted, name)
    g = torch.Generator().manual_seed(1)
    log_q = torch.randn(shape, generator=g, dtype=torch.float64).log_softmax(dim=1)
    p = torch.randn(shape, generator=g, dtype=torch.float64).softmax(dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # torch warns about 'mean' here
        mean = F.kl_div(log_q, p, reduction="mean")
    actual = int(round(float(F.kl_div(log_q, p, reduction="batchmean") / mean)))
    if predicted == actual:
        tick(say("{name} = {value}, predicted right", name=name, value=actual), quiet)
        return
    n = shape[0]
    known = [(n, say("that is the batch size: 'batchmean' already divides by it")),
             (math.prod(shape), say("that is the number of elements: 'mean' divides by "
                                    "it, and 'batchmean' divides by something too")),
             (1, say("the two reductions do differ: torch warns about 'mean' for "
                     "KLDivLoss"))]
    found = [text for value, text in known if value == predicted and value != actual]
    raise _not_predicted(name, predicted, _kl_ratio_rule(), found)
