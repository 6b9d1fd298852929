"""Checks for chapter 5 (normalization and dropout) that recognise classic mistakes.

Batch norm is compared with ``F.batch_norm`` (what ``nn.BatchNorm2d`` runs), layer norm
with ``F.layer_norm``. When a result matches a known mistake (the unbiased variance in the
wrong place, statistics over the wrong dimensions, batch statistics in eval mode, dropout
without its 1/(1-p) scaling...), the failure message names it. Dropout is random, so its
checks test properties that hold for every mask: each output is 0 or the scaled input,
about a fraction p is dropped, eval mode is the identity.
"""
import torch
import torch.nn.functional as F

from nncourse.checks import CheckFailure, check_shape, tick
from nncourse.diagnose_activations import check_or_name
from nncourse.messages import say


def _batch_stats(x, dims, unbiased=False):
    """Mean and variance over ``dims``, kept broadcastable."""
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=1 if unbiased else 0)
    return mean, var


def _channel_shape(x):
    return (1, -1) + (1,) * (x.dim() - 2)


def _affine(y, x, weight, bias):
    if weight is not None:
        y = y * weight.reshape(_channel_shape(x))
    if bias is not None:
        y = y + bias.reshape(_channel_shape(x))
    return y


def _norm(x, dims, weight, bias, eps, unbiased=False, eps_outside=False):
    mean, var = _batch_stats(x, dims, unbiased)
    y = (x - mean) / (var.sqrt() + eps) if eps_outside else (x - mean) / (var + eps).sqrt()
    return _affine(y, x, weight, bias)


def _eval_norm(x, running_mean, running_var, weight, bias, eps):
    shape = _channel_shape(x)
    y = (x - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    return _affine(y, x, weight, bias)


def check_batch_norm(actual, x, weight=None, bias=None, eps=1e-5, training=True,
                     running_mean=None, running_var=None, name=None, quiet=False):
    """Compare with ``F.batch_norm``; (N, C), (N, C, L) or (N, C, H, W) inputs.

    In training mode the batch's own statistics are used; in eval mode the running ones.
    ``name`` defaults to "batch norm output".
    """
    name = say("batch norm output") if name is None else name
    x = x.detach()
    expected = F.batch_norm(x, running_mean.clone() if running_mean is not None else None,
                            running_var.clone() if running_var is not None else None,
                            weight, bias, training=training, eps=eps)
    dims = [0] + list(range(2, x.dim()))
    mistakes = {}
    if training:
        mistakes.update({
            say("the normalisation used the unbiased variance (divide by n - 1); batch "
                "norm normalises with the biased one (divide by n = N*H*W), only "
                "running_var is unbiased"):
                lambda: _norm(x, dims, weight, bias, eps, unbiased=True),
            say("the statistics were taken per sample (over H and W only, which is "
                "instance norm): batch norm pools N, H and W for each channel"):
                lambda: _norm(x, list(range(2, x.dim())), weight, bias, eps),
            say("the statistics were taken over the batch dimension only: batch norm "
                "pools N, H and W for each channel"):
                lambda: _norm(x, [0], weight, bias, eps),
            say("one mean and variance for the whole tensor: batch norm keeps one per "
                "channel (dim 1)"):
                lambda: _norm(x, list(range(x.dim())), weight, bias, eps),
            say("eps was added outside the square root: (x - mean) / sqrt(var + eps)"):
                lambda: _norm(x, dims, weight, bias, eps, eps_outside=True),
            say("weight and bias (gamma and beta) were not applied after normalising"):
                lambda: _norm(x, dims, None, None, eps),
            say("the bias was added before multiplying by the weight: "
                "y = x_hat * weight + bias"): lambda: _affine(
                _norm(x, dims, None, bias, eps), x, weight, None),
        })
        if running_mean is not None:
            mistakes[say("the running statistics were used in training mode: while "
                         "training, batch norm normalises with the batch's own mean and "
                         "variance")] = (
                lambda: _eval_norm(x, running_mean, running_var, weight, bias, eps))
    else:
        mistakes[say("the batch's own statistics were used in eval mode: after eval(), "
                     "batch norm normalises with running_mean and running_var (this is "
                     "the 'evaluating in train mode' mistake)")] = (
            lambda: _norm(x, dims, weight, bias, eps))
        mistakes[say("weight and bias (gamma and beta) were not applied after "
                     "normalising")] = (
            lambda: _eval_norm(x, running_mean, running_var, None, None, eps))
        mistakes[say("eps was added outside the square root: (x - mean) / sqrt(var + "
                     "eps)")] = (
            lambda: _affine((x - running_mean.reshape(_channel_shape(x)))
                            / (running_var.reshape(_channel_shape(x)).sqrt() + eps),
                            x, weight, bias))
    # the NaN explanation only where the formula without eps gives NaN at those entries
    without_eps = (lambda: _norm(x, dims, weight, bias, 0.0)) if training else (
        lambda: _eval_norm(x, running_mean, running_var, weight, bias, 0.0))
    check_or_name(actual, expected, name, mistakes, atol=1e-4, rtol=1e-4,
                  nonfinite=say("a channel whose values are all equal has variance 0: "
                                "without eps inside the square root that is 0 / 0 = NaN"),
                  nonfinite_if=[without_eps], quiet=quiet)


def expected_running_stats(x, running_mean, running_var, momentum=0.1):
    """What ``nn.BatchNorm`` stores after one training step on ``x``."""
    mean, var = running_mean.clone(), running_var.clone()
    F.batch_norm(x.detach(), mean, var, training=True, momentum=momentum)
    return mean, var


def check_running_stats(new_mean, new_var, x, running_mean, running_var, momentum=0.1,
                        name=None, quiet=False):
    """The running mean and variance after one training step, as nn.BatchNorm keeps them;
    ``name`` defaults to "running statistics"."""
    name = say("running statistics") if name is None else name
    x = x.detach()
    want_mean, want_var = expected_running_stats(x, running_mean, running_var, momentum)
    dims = [0] + list(range(2, x.dim()))
    batch_mean = x.mean(dims)
    biased, unbiased = x.var(dims, correction=0), x.var(dims, correction=1)
    shared = {
        say("momentum weighs the new batch: running = (1 - momentum) * running + "
            "momentum * batch (momentum 0.1 keeps 90% of the old value)"):
            ((momentum * running_mean + (1 - momentum) * batch_mean),
             (momentum * running_var + (1 - momentum) * unbiased)),
        say("the running statistics were replaced by the batch's instead of averaged"):
            (batch_mean, unbiased),
        say("the running statistics were not updated"): (running_mean, running_var),
    }
    mean_mistakes = {label: pair[0] for label, pair in shared.items()}
    var_mistakes = {label: pair[1] for label, pair in shared.items()}
    var_mistakes[say("running_var must use the unbiased variance (divide by n - 1, "
                     "n = N*H*W), although the normalisation itself uses the biased "
                     "one")] = (
        (1 - momentum) * running_var + momentum * biased)
    var_mistakes[say("the standard deviation was stored: running_var holds a "
                     "variance")] = (
        (1 - momentum) * running_var + momentum * unbiased.sqrt())
    check_or_name(new_mean, want_mean, f"{name}: running_mean", mean_mistakes,
                  atol=1e-5, rtol=1e-4, quiet=quiet)
    check_or_name(new_var, want_var, f"{name}: running_var", var_mistakes,
                  atol=1e-5, rtol=1e-4, quiet=quiet)


def check_layer_norm(actual, x, normalized_shape, weight=None, bias=None, eps=1e-5,
                     name=None, quiet=False):
    """Compare with ``F.layer_norm``; recognise the wrong dimensions and the variance.
    ``name`` defaults to "layer norm output"."""
    name = say("layer norm output") if name is None else name
    x = x.detach()
    normalized_shape = tuple(normalized_shape)
    expected = F.layer_norm(x, normalized_shape, weight, bias, eps)
    k = len(normalized_shape)
    dims = list(range(x.dim() - k, x.dim()))

    def by_hand(dims, unbiased=False, affine=True, eps_outside=False, eps=eps):
        mean, var = _batch_stats(x, dims, unbiased)
        if eps_outside:
            y = (x - mean) / (var.sqrt() + eps)
        else:
            y = (x - mean) / (var + eps).sqrt()
        if affine and weight is not None:
            y = y * weight
        if affine and bias is not None:
            y = y + bias
        return y

    mistakes = {
        say("the statistics were taken over the batch (dim 0), like batch norm: layer "
            "norm uses each sample's own statistics over its last dimensions"):
            lambda: by_hand([0]),
        say("the normalisation used the unbiased variance (divide by n - 1); layer norm "
            "divides by n"): lambda: by_hand(dims, unbiased=True),
        say("eps was added outside the square root: (x - mean) / sqrt(var + eps)"):
            lambda: by_hand(dims, eps_outside=True),
        say("weight and bias were not applied after normalising"):
            lambda: by_hand(dims, affine=False),
    }
    if k > 1:
        mistakes[say("only the last dimension was normalised; normalized_shape "
                     "{normalized_shape} asks for the last {k} together",
                     normalized_shape=normalized_shape, k=k)] = (
            lambda: by_hand([x.dim() - 1]))
    if x.dim() > k + 1:
        mistakes[say("every dimension but the batch was normalised; only the last {k} "
                     "(normalized_shape {normalized_shape}) are", k=k,
                     normalized_shape=normalized_shape)] = (
            lambda: by_hand(list(range(1, x.dim()))))
    # the NaN explanation only where the formula without eps gives NaN at those entries
    check_or_name(actual, expected, name, mistakes, atol=1e-4, rtol=1e-4,
                  nonfinite=say("a sample whose values are all equal has variance 0: "
                                "without eps inside the square root that is 0 / 0 = NaN"),
                  nonfinite_if=[lambda: by_hand(dims, eps=0.0)], quiet=quiet)


# ----------------------------------------------------------------------------------------
# dropout


LOOKS_ALIKE = 1e-9   # a pattern this unlikely under a correct mask is a mistake's


def _chance_alike(p, k, groups):
    """Chance that ``groups`` independent groups of ``k`` fair draws each come out all
    dropped or all kept, when each is dropped with probability ``p``."""
    return (p ** k + (1 - p) ** k) ** groups


def _fail(message, mistake=None):
    raise CheckFailure(say("{message}\nKnown mistake: {mistakes}", message=message,
                           mistakes=mistake) if mistake else message)


def _check_eval(out, x, name, quiet):
    check_shape(out, x.shape, name=name, quiet=True)
    if not torch.equal(out, x):
        _fail(say("{name}: in eval mode (training=False) dropout must return its input "
                  "unchanged, but the output differs", name=name),
              say("dropout was applied in eval mode: with training=False it is the "
                  "identity (F.dropout defaults to training=True, so pass it on)"))
    tick(say("{name} is the identity in eval mode", name=name), quiet)


def _check_scaled(out, x, p, name, unit):
    """Survivors must equal x / (1 - p); name the usual wrong scalings."""
    kept = out != 0
    if not kept.any():
        return
    got, inp = out[kept].double(), x[kept].double()
    want = inp / (1 - p)
    if torch.allclose(got, want, rtol=1e-5, atol=1e-6):
        return
    if torch.allclose(got, inp, rtol=1e-5, atol=1e-6):
        _fail(say("{name}: the kept {unit} equal the input; they should be input / "
                  "(1 - p) = input * {scale:.4g}", name=name, unit=unit,
                  scale=1 / (1 - p)),
              say("dropout without the 1/(1-p) scaling: the output's expected value must "
                  "equal the input, so the survivors make up for the dropped ones"))
    if torch.allclose(got, inp * (1 - p), rtol=1e-5, atol=1e-6):
        _fail(say("{name}: the kept {unit} are input * (1 - p); they should be input / "
                  "(1 - p)", name=name, unit=unit),
              say("scaling by (1 - p) is what old-style dropout did at test time; "
                  "inverted dropout divides by (1 - p) during training instead"))
    if torch.allclose(got, inp / p, rtol=1e-5, atol=1e-6):
        _fail(say("{name}: the kept {unit} are input / p; they should be input / (1 - p)",
                  name=name, unit=unit),
              say("p is the probability to drop; the probability to keep is 1 - p"))
    worst = (got - want).abs().argmax()
    _fail(say("{name}: a kept value should be input / (1 - p); largest difference "
              "{diff:.6g} (got {got:.6g}, expected {want:.6g})", name=name,
              diff=(got - want).abs().max().item(), got=got[worst].item(),
              want=want[worst].item()))


def _check_fraction(dropped, total, p, name, unit):
    """About a fraction p must be dropped: a 6-sigma band (plus one unit) around p."""
    frac = dropped / total
    band = 6 * (p * (1 - p) / total) ** 0.5 + 1 / total
    if abs(frac - p) > band:
        mistake = None
        if abs(frac - (1 - p)) <= band:
            mistake = say("p is the probability to DROP (zero) an element; a fraction "
                          "1 - p was dropped here")
        _fail(say("{name}: {dropped} of {total} {unit} dropped ({frac:.3f}); with "
                  "p = {p} expected about {p} (between {low:.3f} and {high:.3f})",
                  name=name, dropped=dropped, total=total, unit=unit, frac=frac, p=p,
                  low=max(0, p - band), high=min(1, p + band)), mistake)


def check_dropout(out, x, p, training=True, name="dropout(x, p)", quiet=False):
    """Dropout's output for input ``x`` (with no zeros in ``x``): properties of any mask."""
    check_shape(out, x.shape, name=name, quiet=True)
    if not training:
        _check_eval(out, x, name, quiet)
        return
    if torch.isnan(out).any() or torch.isinf(out).any():
        _fail(say("{name}: the output holds NaN or inf", name=name),
              say("with p = 1 every element is dropped and 1/(1-p) divides by zero: "
                  "return zeros when p == 1") if p == 1 else None)
    if p == 0 and not torch.equal(out, x):
        _fail(say("{name}: with p = 0 nothing is dropped and the output equals the input",
                  name=name))
    _check_scaled(out, x, p, name, say("elements"))
    _check_fraction(int((out == 0).sum()), out.numel(), p, name, say("elements"))
    tick(say("{name}: zeros and survivors scaled by 1/(1-p) as expected", name=name),
         quiet)


def check_dropout2d(out, x, p, training=True, name="dropout2d(x, p)", quiet=False):
    """Dropout2d's output for ``x`` of shape (N, C, H, W): whole channels dropped."""
    check_shape(out, x.shape, name=name, dims="NCHW", quiet=True)
    if not training:
        _check_eval(out, x, name, quiet)
        return
    if torch.isnan(out).any() or torch.isinf(out).any():
        _fail(say("{name}: the output holds NaN or inf", name=name),
              say("with p = 1 every channel is dropped and 1/(1-p) divides by zero: "
                  "return zeros when p == 1") if p == 1 else None)
    n, c = x.shape[:2]
    zero = (out == 0).reshape(n, c, -1)
    all_zero, any_zero = zero.all(-1), zero.any(-1)
    if (any_zero & ~all_zero).any():
        _fail(say("{name}: some channels are only partly zero", name=name),
              say("single elements were dropped (that is nn.Dropout); Dropout2d drops "
                  "whole channels: draw one mask value per (sample, channel), shape "
                  "(N, C, 1, 1)"))
    _check_scaled(out, x, p, name, say("channels"))
    # A correct mask looks shared by chance with probability (p^n + (1-p)^n)^c (every
    # channel dropped in all samples or in none), per sample with (p^c + (1-p)^c)^n: these
    # checks only judge where that chance is below LOOKS_ALIKE.
    if (n > 1 and 0 < p < 1 and _chance_alike(p, n, c) < LOOKS_ALIKE
            and (all_zero == all_zero[:1]).all()):
        _fail(say("{name}: every sample lost the same channels", name=name),
              say("the mask has shape (1, C, 1, 1), shared by the whole batch; each "
                  "sample needs its own: (N, C, 1, 1)"))
    if (c > 1 and 0 < p < 1 and _chance_alike(p, c, n) < LOOKS_ALIKE
            and (all_zero == all_zero[:, :1]).all()):
        _fail(say("{name}: each sample lost all of its channels or none of them",
                  name=name),
              say("the mask has shape (N, 1, 1, 1), one draw per sample; each channel of "
                  "each sample needs its own: (N, C, 1, 1)"))
    _check_fraction(int(all_zero.sum()), n * c, p, name, say("channels"))
    tick(say("{name}: whole channels dropped, survivors scaled by 1/(1-p)", name=name),
         quiet)


def _dropped(out, channels):
    """The mask an output shows: dropped elements, or dropped (sample, channel) maps."""
    zero = out == 0
    return zero.reshape(*out.shape[:2], -1).all(-1) if channels else zero


def check_mask_draws(fn, x, p, name="dropout", channels=False, seed=1234, quiet=False):
    """``fn(x, p)`` must draw a new mask at every call, from torch's global generator.

    Calls it twice in a row, then once more after re-seeding the global generator with
    the seed of the first call: the first two masks must differ, the first and the third
    must be equal. Use it on inputs where a correct mask repeats by pure chance with
    negligible probability (many elements, 0 < p < 1). ``channels=True`` compares whole
    (sample, channel) maps, for Dropout2d.
    """
    torch.manual_seed(seed)
    first = _dropped(fn(x, p), channels)
    second = _dropped(fn(x, p), channels)
    torch.manual_seed(seed)
    again = _dropped(fn(x, p), channels)
    unit = say("channels") if channels else say("elements")
    if _chance_alike(p, 2, first.numel()) < LOOKS_ALIKE and torch.equal(first, second):
        _fail(say("{name}: two calls in a row dropped exactly the same {unit}; each call "
                  "must draw a new random mask", name=name, unit=unit),
              say("the function seeds its random numbers itself (torch.manual_seed, or a "
                  "generator of its own seeded inside), so every call repeats the same "
                  "mask"))
    if not torch.equal(first, again):
        _fail(say("{name}: after torch.manual_seed({seed}) the same call dropped other "
                  "{unit} than the first time: the mask must come from torch's global "
                  "generator (torch.rand_like, torch.rand, torch.bernoulli), so that "
                  "seeding torch makes a run reproducible", name=name, seed=seed,
                  unit=unit))
    tick(say("{name}: a new mask at every call, from torch's generator", name=name),
         quiet)


# ----------------------------------------------------------------------------------------
# predict first (exercise 7): numbers written down before running anything. A wrong one
# fails with the rule that decides it and, where the mistake is recognised, its name;
# never with the right number.

def bn_params_rule():
    """What decides the number of learnable values of ``BatchNorm2d(C)``."""
    return say("the learnable parameters of BatchNorm2d(C) are its weight (gamma) and "
               "its bias (beta), each one value per channel; the running statistics are "
               "buffers, not parameters")


def bn_buffers_rule():
    """What decides the number of buffer values of ``BatchNorm2d(C)``."""
    return say("the buffers of BatchNorm2d(C) are running_mean and running_var, one "
               "value per channel each, and num_batches_tracked, a single counter; count "
               "their values, not the tensors")


def running_mean_rule():
    """How one training step updates ``running_mean``."""
    return say("running_mean starts at zeros, and each forward pass in training mode "
               "sets running_mean = (1 - momentum) * running_mean + momentum * "
               "batch_mean, channel by channel")


def eval_rule():
    """What batch norm computes in eval mode."""
    return say("in eval mode batch norm computes (x - running_mean) / "
               "sqrt(running_var + eps) * weight + bias with the values these tensors "
               "hold now, whatever the batch; think about what they hold in a layer that "
               "has just been created")


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _close(a, b, atol):
    return abs(float(a) - float(b)) <= atol


def check_predicted_bn_counts(num_params, num_buffer_values, num_features,
                              name="BatchNorm2d", quiet=False):
    """The number of learnable values and of buffer values of ``BatchNorm2d(C)``."""
    from torch import nn

    from nncourse.checks import check_predicted_value

    bn = nn.BatchNorm2d(num_features)
    params = sum(p.numel() for p in bn.parameters())
    buffers = sum(b.numel() for b in bn.buffers())
    c = num_features
    known_params = {
        c: say("that counts one of weight and bias only: batch norm has both"),
        4 * c: say("that counts the running statistics as parameters too"),
        4 * c + 1: say("that counts the buffers as parameters too")}
    known_buffers = {
        2 * c: say("num_batches_tracked is a buffer too"),
        3: say("that counts the buffer tensors; count the values they hold"),
        2: say("that counts the buffer tensors; count the values they hold, and "
               "num_batches_tracked is a buffer too"),
        0: say("batch norm does hold buffers: it keeps running statistics")}

    def rule(got, known, text):
        hint = known.get(got) if isinstance(got, int) and got in known else None
        return f"{hint}\n{text}" if hint else text

    layer = f"{name}({c})"
    check_predicted_value(num_params, params, say("num_params of {layer}", layer=layer),
                          rule(num_params, known_params, bn_params_rule()), quiet=quiet)
    check_predicted_value(num_buffer_values, buffers,
                          say("num_buffer_values of {layer}", layer=layer),
                          rule(num_buffer_values, known_buffers, bn_buffers_rule()),
                          quiet=quiet)


def batch_with_channel_means(channel_means, shape=(4, 5, 5), seed=0):
    """A batch (N, C, H, W) whose channel c has exactly the mean ``channel_means[c]``
    over (N, H, W) (up to float32 rounding), with a spread of 1 around it."""
    means = torch.tensor([float(m) for m in channel_means])
    n, h, w = shape
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(means), h, w, generator=g)
    x = x - x.mean(dim=(0, 2, 3), keepdim=True)
    return x + means[None, :, None, None]


def check_predicted_running_mean(predicted, channel_means, momentum=0.1,
                                 name="running_mean_after_one", quiet=False):
    """``predicted``: the ``running_mean`` of a new ``BatchNorm2d(C, momentum=momentum)``
    after one forward pass in training mode on a batch with these channel means."""
    from torch import nn

    from nncourse.checks import CheckFailure, check_true

    c = len(channel_means)
    if not (isinstance(predicted, (list, tuple)) and len(predicted) == c
            and all(_is_number(v) for v in predicted)):
        raise CheckFailure(say("{name} should be a list of {c} numbers (one per "
                               "channel), got {got!r}", name=name, c=c, got=predicted))
    bn = nn.BatchNorm2d(c, momentum=momentum)
    with torch.no_grad():
        bn(batch_with_channel_means(channel_means))
    actual = bn.running_mean.tolist()
    atol = 1e-4
    if all(_close(p, a, atol) for p, a in zip(predicted, actual)):
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    means = [float(m) for m in channel_means]
    known = [
        (means, say("the running mean was replaced by the batch mean: it is a moving "
                    "average that starts at zero and takes only a fraction momentum of "
                    "each batch")),
        ([(1 - momentum) * m for m in means],
         say("momentum is the weight of the new batch in PyTorch (0.1), not of the old "
             "value (the 0.9 of other libraries)")),
        ([0.0] * c, say("one forward pass in training mode does update the running "
                        "statistics")),
    ]
    hint = running_mean_rule()
    for values, text in known:
        if all(_close(p, v, atol) for p, v in zip(predicted, values)):
            hint = text + "\n" + running_mean_rule()
            break
    wrong = [i for i, (p, a) in enumerate(zip(predicted, actual)) if not _close(p, a, atol)]
    channels = say(", ").join(str(i) for i in wrong)
    if len(wrong) > 1:
        message = say("{name}: channels {channels} are not right", name=name,
                      channels=channels)
    else:
        message = say("{name}: channel {channels} is not right", name=name,
                      channels=channels)
    check_true(False, message, hint=hint, quiet=quiet)


def check_predicted_eval_output(predicted, values, index, name="eval_output", quiet=False):
    """``predicted``: ``bn(x)[index, 0]`` for a new ``nn.BatchNorm1d(1)`` put straight into
    eval mode and ``x`` the column (N, 1) of ``values``; within 1e-3."""
    from torch import nn

    from nncourse.checks import check_true

    check_true(_is_number(predicted),
               say("{name} should be a number, got {got!r}", name=name, got=predicted),
               quiet=True)
    x = torch.tensor([[float(v)] for v in values])         # (N, C) = (N, 1)
    bn = nn.BatchNorm1d(1).eval()
    with torch.no_grad():
        actual = bn(x)[index, 0].item()
    atol = 1e-3
    if _close(predicted, actual, atol):
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    mean, biased, unbiased = x.mean(), x.var(correction=0), x.var(correction=1)
    v = x[index, 0]
    own_statistics = say("that normalises with the batch's own mean and variance, which "
                         "is what training mode does")
    known = [
        (((v - mean) / (biased + bn.eps).sqrt()).item(), own_statistics),
        (((v - mean) / (unbiased + bn.eps).sqrt()).item(), own_statistics),
        (0.0, say("in eval mode batch norm does not centre the batch on its own mean: it "
                  "subtracts running_mean")),
    ]
    hint = eval_rule()
    for value, text in known:
        if _close(predicted, value, atol):
            hint = text + "\n" + eval_rule()
            break
    check_true(False, say("{name} ({predicted:g}) is not bn(x)[{index}, 0]", name=name,
                          predicted=predicted, index=index), hint=hint, quiet=quiet)
