"""Diagnostics for chapter 6: Linear, Flatten and Unflatten.

Two mistakes dominate this chapter, and both are about shapes:

- ``in_features`` computed by hand, wrongly: the fix is a dry run, and ``shape_story``
  prints one, layer by layer, with the output-size formula of every convolution and
  pooling layer written out with its numbers;
- a flatten that swallows the batch (``torch.flatten(x)`` instead of ``x.flatten(1)``):
  the model then mixes samples, and ``check_batch_independent`` notices that changing
  one sample changes the output of another.
"""
import math
import re

import torch
import torch.nn.functional as F
from torch import nn

from nncourse.checks import CheckFailure, fmt_shape, not_a_tensor, tick, with_hint
from nncourse.convpool import layer_formula
from nncourse.diagnose_activations import check_or_name
from nncourse.messages import say

SPATIAL = ("H", "W", "D")


def _flattened_batch():
    """The hint for a flatten that swallowed the batch."""
    return say("torch.flatten(x) (or x.view(-1), x.reshape(-1)) flattens the batch "
               "dimension too, so the samples of a batch end up in one long vector. "
               "Keep dimension 0: nn.Flatten(), x.flatten(1) or "
               "x.reshape(x.shape[0], -1)")


def _with_known(message, labels):
    """``message`` and, on the next line, the known mistakes ``labels`` it may be."""
    return say("{message}\nKnown mistake: {mistakes}", message=message,
               mistakes=say("; or ").join(labels))


def _describe(layer):
    text = repr(layer)
    return text if "\n" not in text else type(layer).__name__


def _sized(layer):
    return isinstance(layer, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                              nn.modules.pooling._AvgPoolNd,
                              nn.modules.pooling._AdaptiveAvgPoolNd,
                              nn.modules.pooling._AdaptiveMaxPoolNd))


def shape_story(layers, input_shape):
    """A dry run of ``layers`` on a dummy batch of one, as text: one line per layer.

    ``input_shape`` leaves out the batch, e.g. ``(3, 32, 32)``. Convolution and pooling
    lines show their output-size formula per spatial dimension. The run stops at the
    first layer that fails, and says so.
    """
    layers = list(layers.children()) if isinstance(layers, nn.Sequential) else list(layers)
    x = torch.zeros(1, *input_shape)
    lines = [say("input (a batch of one): {shape}", shape=fmt_shape(tuple(x.shape)))]
    with torch.no_grad():
        for layer in layers:
            before = tuple(x.shape)
            try:
                x = layer(x)
            except RuntimeError as err:
                lines.append(say("{layer} fails on {shape}: {error}",
                                 layer=_describe(layer), shape=fmt_shape(before),
                                 error=str(err).splitlines()[0]))
                return "\n".join(lines)
            line = f"{_describe(layer)} -> {fmt_shape(tuple(x.shape))}"
            if _sized(layer):
                formulas = [f"{SPATIAL[i]}: {layer_formula(layer, before[2 + i], i)}"
                            for i in range(len(before) - 2)]
                line += "\n    " + "\n    ".join(formulas)
            if isinstance(layer, nn.Flatten) and layer.start_dim == 1 and x.dim() == 2:
                line += f"   ({' * '.join(str(d) for d in before[1:])} = {x.shape[1]})"
            lines.append(line)
    return "\n".join(lines)


def dry_run_features(body, input_shape):
    """Number of features per sample after ``body`` (then flattened): a dry run."""
    with torch.no_grad():
        out = body(torch.zeros(1, *input_shape))
    return math.prod(out.shape[1:])


def check_in_features(linear, body, input_shape, name="fc", quiet=False):
    """``linear.in_features`` must equal what ``body`` leaves per sample of ``input_shape``.

    On failure the message shows the dry run of ``body``, layer by layer, with formulas.
    """
    if isinstance(linear, nn.LazyLinear) or isinstance(
            getattr(linear, "weight", None), nn.parameter.UninitializedParameter):
        raise CheckFailure(say("{name} is a LazyLinear that has not seen an input yet: "
                               "here in_features must be known when the model is built; "
                               "find it with a dry run (a dummy input through the layers "
                               "before it)", name=name))
    if not isinstance(linear, nn.Linear):
        raise CheckFailure(say("{name} should be an nn.Linear, got {kind}", name=name,
                               kind=type(linear).__name__))
    wanted = dry_run_features(body, input_shape)
    if linear.in_features != wanted:
        story = shape_story(list(body.children()) + [nn.Flatten()]
                            if isinstance(body, nn.Sequential) else [body, nn.Flatten()],
                            input_shape)
        raise CheckFailure(say(
            "{name}.in_features is {got}, but the layers before it leave {wanted} "
            "features per sample for an input of shape {shape}. The dry run:\n{story}",
            name=name,
            got=linear.in_features, wanted=wanted, shape=fmt_shape(tuple(input_shape)),
            story=story))
    tick(f"{name}.in_features = {wanted}", quiet)


def check_batch_independent(fn, X, name="output", quiet=False):
    """Changing one sample of ``X`` must not change what ``fn`` gives for the others.

    This is what a flatten over the batch breaks; the message names that mistake. Also
    fails when the output's first dimension is not the batch.
    """
    with torch.no_grad():
        try:
            out = fn(X)
        except RuntimeError as err:
            # a batch flattened into one row reaches the Linear layer as (1, N * features)
            row = re.search(r"cannot be multiplied \(1x(\d+) and", str(err))
            merged = row is not None and len(X) > 1 and int(row[1]) % len(X) == 0
            raise CheckFailure(with_hint(
                say("{name} failed on a batch of {n}: {error}", name=name, n=len(X),
                    error=str(err).splitlines()[0]),
                _flattened_batch() if merged else None)) from None
        if out.shape[0] != X.shape[0]:
            merged = out.dim() == 1 or out.shape[0] == 1
            raise CheckFailure(with_hint(
                say("{name} has shape {shape} for a batch of {n}: dimension 0 should be "
                    "the batch.", name=name, shape=fmt_shape(tuple(out.shape)),
                    n=X.shape[0]),
                _flattened_batch() if merged else None))
        changed = X.clone()
        changed[-1] = changed[-1] + 1.0 + changed[-1].abs()
        out_changed = fn(changed)
        others = (out_changed[:-1] - out[:-1]).abs().max().item() if len(X) > 1 else 0.0
    if others > 1e-5:
        raise CheckFailure(with_hint(
            say("{name}: changing the last sample of the batch changed the output of the "
                "other samples (by up to {others:.3g}): the samples are mixed.",
                name=name, others=others),
            _flattened_batch()))
    tick(say("{name}: each sample's output depends on that sample only", name=name),
         quiet)


def checked_call(fn, *args, name=None, hint=None):
    """``fn(*args)``; an error inside it becomes a CheckFailure that names the call,
    instead of a bare traceback.

    ``hint`` is added to the message: a string always; a dict ``{text: hint}`` only when
    the error message contains ``text`` (so that a hint names a cause only when the error
    is the one that cause raises); a function of the error only when it returns a hint.
    """
    name = name or getattr(fn, "__name__", say("the function"))
    try:
        return fn(*args)
    except (RuntimeError, TypeError, IndexError) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        message = say("{name} failed: {kind}: {error}", name=name,
                      kind=type(err).__name__, error=first_line)
        if isinstance(hint, dict):
            hint = next((h for text, h in hint.items() if text in str(err)), None)
        elif callable(hint):
            hint = hint(err)
        raise CheckFailure(with_hint(message, hint)) from None


# ----------------------------------------------------------------------------------------
# Results compared with what torch computes; a known mistake is named only when the
# result is what that mistake gives for these inputs.


def _resolve(shape, numel):
    """``shape`` with its -1 replaced as reshape would, or None when it cannot be."""
    shape = list(shape)
    known = math.prod(d for d in shape if d != -1)
    if shape.count(-1) == 1 and known and numel % known == 0:
        shape[shape.index(-1)] = numel // known
    return tuple(shape) if -1 not in shape and math.prod(shape) == numel else None


def check_reshaped(out, expected, name="output", mistakes=None, quiet=False):
    """``out`` must equal ``expected`` exactly (a reshape moves no value).

    ``mistakes`` maps a label to the shape that mistake gives; a wrong shape names the
    mistakes whose shape it is. Otherwise the message says which dimension differs.
    """
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(not_a_tensor(name, out))
    if out.shape != expected.shape:
        found = [label for label, shape in (mistakes or {}).items()
                 if shape is not None and tuple(shape) == tuple(out.shape)]
        message = say("{name}: expected shape {want}, got {got}", name=name,
                      want=fmt_shape(tuple(expected.shape)),
                      got=fmt_shape(tuple(out.shape)))
        raise CheckFailure(_with_known(message, found) if found else message)
    if not torch.equal(out.detach().cpu(), expected.cpu()):
        raise CheckFailure(say("{name}: the shape is right but the values are not where "
                               "they should be: a reshape keeps the order of the values",
                               name=name))
    tick(say("{name} has shape {shape} and the right values", name=name,
             shape=fmt_shape(tuple(out.shape))), quiet)


def flatten_mistakes(x, start_dim=1, end_dim=-1):
    """``{label: shape}``: the shapes that the classic flatten mistakes give."""
    shape = tuple(x.shape)
    start, end = start_dim % x.dim(), end_dim % x.dim()
    mistakes = {}
    if (start, end) != (0, x.dim() - 1):
        mistakes[say("every dimension was merged, the batch too: only the dimensions "
                     "from start_dim to end_dim merge")] = (x.numel(),)
    if (start, end) != (1, x.dim() - 1) and x.dim() > 1:
        mistakes[say("start_dim and end_dim were ignored: this is the default flatten of "
                     "everything after the batch")] = _resolve((shape[0], -1), x.numel())
    if end > start:
        merged = math.prod(shape[start:end])
        mistakes[say("end_dim was treated as excluded, like the end of a Python slice; "
                     "nn.Flatten includes it")] = shape[:start] + (merged,) + shape[end:]
    return mistakes


def unflatten_mistakes(x, dim, sizes):
    """``{label: shape}``: the shapes that the classic unflatten mistakes give."""
    shape, sizes = tuple(x.shape), tuple(sizes)
    d = dim % x.dim()
    mistakes = {}
    if d != 1 and x.dim() > 1:
        mistakes[say("dimension 1 was split whatever dim was")] = _resolve(
            shape[:1] + sizes + shape[2:], x.numel())
    if dim < 0:
        label = say("the negative dim {dim} was used in slices as it is: x.shape[:dim] "
                    "and x.shape[dim + 1:] need it counted from the front", dim=dim)
        mistakes[label] = _resolve(shape[:dim] + sizes + shape[dim + 1:], x.numel())
    if d < x.dim() - 1:
        mistakes[say("the dimensions after dim were dropped")] = _resolve(
            shape[:d] + sizes, x.numel())
    return mistakes


def check_linear(out, x, W, b=None, name="linear(x, W, b)", quiet=False):
    """``out`` must equal ``F.linear(x, W, b)``; names the classic slips when it matches."""
    x, W = x.detach(), W.detach()
    b = None if b is None else b.detach()
    expected = F.linear(x, W, b)
    mistakes = {}
    if W.shape[0] == W.shape[1]:
        mistakes[say("x was multiplied by W, not by its transpose: W has shape "
                     "(out_features, in_features)")] = lambda: F.linear(x, W.T, b)
    if b is not None:
        mistakes[say("the bias is missing")] = lambda: x @ W.T
        mistakes[say("the bias was subtracted")] = lambda: x @ W.T - b
    check_or_name(out, expected, name, mistakes, atol=1e-4, rtol=1e-4, quiet=quiet)


def check_linear_on_channels(out, x, layer, name="linear_on_channels(x, layer)",
                             quiet=False):
    """``out`` must be ``layer`` applied to the channel vector of every pixel of ``x``."""
    x = x.detach()
    W = layer.weight.detach()
    b = None if layer.bias is None else layer.bias.detach()
    n, c, h, w = x.shape
    expected = torch.einsum("nchw,oc->nohw", x, W)
    if b is not None:
        expected = expected + b[None, :, None, None]
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, h, w, W.shape[0]) != tuple(
            expected.shape):
        message = say("{name}: expected shape {want}, got {got}", name=name,
                      want=fmt_shape(tuple(expected.shape)),
                      got=fmt_shape(tuple(out.shape)))
        raise CheckFailure(_with_known(message, [say(
            "the channels are still last, (N, H, W, C_out): move them back to "
            "dimension 1")]))
    mistakes = {
        say("the input was reshaped (or viewed) to channels-last instead of permuted: "
            "the shape is right, but the memory is reinterpreted, so each 'pixel' gets "
            "values from several pixels and channels"): lambda: F.linear(
            x.reshape(n, h, w, c), W, b).reshape(n, -1, h, w),
        say("the (N, H*W, C_out) result was reshaped straight to (N, C_out, H, W): move "
            "the channels with a transpose or permute first"): lambda: F.linear(
            x.flatten(2).transpose(1, 2), W, b).reshape(n, -1, h, w),
        say("height and width were swapped on the way back"): lambda: expected.transpose(
            2, 3),
    }
    check_or_name(out, expected, name, mistakes, atol=1e-5, rtol=1e-4, quiet=quiet)


# ----------------------------------------------------------------------------------------
# "Predict first": shapes and counts written down before running anything. A wrong answer
# fails with the rule that decides it, never with the right number; a wrong answer that a
# known wrong rule gives is named.


def _naming(check, predicted, mistakes):
    """Run ``check``; when it fails and ``predicted`` is what known mistakes give
    (``mistakes``: (what the mistake gives, what it is) pairs), name them all: with two
    that give the same number, either may be the student's."""
    try:
        check()
    except CheckFailure as err:
        if isinstance(predicted, (tuple, list)):
            predicted = tuple(predicted)
        if not isinstance(predicted, (int, tuple)) or isinstance(predicted, bool):
            raise                   # not an answer of the asked type: nothing to name
        known = [label for value, label in mistakes
                 if value is not None and value == predicted]
        if not known:
            raise
        raise CheckFailure(_with_known(str(err), known)) from None


def check_predicted_flatten(predicted, input_shape, start_dim=1, end_dim=-1,
                            name=None, quiet=False):
    """The shape ``nn.Flatten(start_dim, end_dim)`` gives on an input of ``input_shape``,
    predicted by hand; ``name`` defaults to "your predicted shape"."""
    from nncourse.checks import check_predicted_shape

    name = say("your predicted shape") if name is None else name
    x = torch.zeros(input_shape)
    actual = nn.Flatten(start_dim, end_dim)(x).shape
    start, end = start_dim % x.dim(), end_dim % x.dim()
    rules = [(say("dimension {i} of x", i=i),
              say("the dimensions before start_dim={start_dim} stay as they are",
                  start_dim=start_dim)) for i in range(start)]
    rules.append((say("dimensions {start} to {end} of x, merged", start=start, end=end),
                  say("start_dim={start_dim} and end_dim={end_dim} are both included: "
                      "the dimensions {start} to {end} merge into one, whose size is the "
                      "product of their sizes", start_dim=start_dim, end_dim=end_dim,
                      start=start, end=end)))
    rules += [(say("dimension {i} of x", i=i),
               say("the dimensions after end_dim={end_dim} stay as they are",
                   end_dim=end_dim)) for i in range(end + 1, x.dim())]
    mistakes = [(None if shape is None else tuple(shape), label)
                for label, shape in flatten_mistakes(x, start_dim, end_dim).items()]
    _naming(lambda: check_predicted_shape(predicted, actual, name, rules, quiet=quiet),
            predicted, mistakes)


def _stack(layers):
    if isinstance(layers, nn.Module):
        layers = [m for m in layers.modules() if not list(m.children())]
    return list(layers)


def _walk_features(layers, input_shape, mistake=None):
    """Features per sample after the conv/pool ``layers``, by the output-size formulas;
    ``mistake`` walks them with that wrong rule instead."""
    channels, *spatial = input_shape
    first_channels = None
    for layer in _stack(layers):
        if isinstance(layer, nn.modules.conv._ConvNd):
            first_channels = first_channels or layer.out_channels
            channels = layer.out_channels
            for i, size in enumerate(spatial):
                k = layer.kernel_size[i]
                s, d = layer.stride[i], layer.dilation[i]
                p = layer.padding[i] if isinstance(layer.padding, tuple) else 0
                if mistake == "same_size":
                    continue
                p = 0 if mistake == "no_padding" else p
                span = size + 2 * p - d * (k - 1) - 1
                one = 0 if mistake in ("no_plus_one", "no_plus_one_anywhere") else 1
                spatial[i] = span // s + one
        elif isinstance(layer, (nn.modules.pooling._MaxPoolNd,
                                nn.modules.pooling._AvgPoolNd)):
            for i, size in enumerate(spatial):
                k = _as_tuple(layer.kernel_size, len(spatial))[i]
                s = _as_tuple(layer.stride or layer.kernel_size, len(spatial))[i]
                p = _as_tuple(layer.padding, len(spatial))[i]
                s = 1 if mistake == "pool_stride_1" else s
                span = size + 2 * p - (k - 1) - 1
                ceil = getattr(layer, "ceil_mode", False) or mistake == "round_up"
                one = 0 if mistake == "no_plus_one_anywhere" else 1
                spatial[i] = (math.ceil(span / s) if ceil else span // s) + one
    if mistake == "no_channels":
        channels = 1
    elif mistake == "first_channels":
        channels = first_channels
    return channels * math.prod(spatial)


def _as_tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def in_features_mistakes():
    """``{wrong rule of _walk_features: what that mistake is}``."""
    return {
        "no_plus_one": say("the + 1 of the output-size formula was left out after a "
                           "convolution: a kernel of size K fits size - K + 1 times "
                           "without padding"),
        "no_plus_one_anywhere": say("the + 1 of the output-size formula was left out, "
                                    "after the convolutions and after the poolings"),
        "round_up": say("an odd size was halved rounding up: pooling rounds down (floor) "
                        "unless ceil_mode=True"),
        "same_size": say("a Conv2d without padding was taken to keep the size: it loses "
                         "kernel_size - 1 cells along every side"),
        "no_padding": say("the padding was left out: it adds its cells on both sides"),
        "pool_stride_1": say("a pooling layer's stride defaults to its kernel_size, not "
                             "to 1"),
        "no_channels": say("the channels were left out: a sample flattens to channels * "
                           "height * width values"),
        "first_channels": say("the channels are the out_channels of the last Conv2d, not "
                              "of the first"),
    }


def in_features_rule():
    """How ``in_features`` follows from the layers: the hint of a wrong prediction."""
    return say("walk the layers one at a time: each Conv2d and each pooling layer makes "
               "every side floor((size + 2*padding - dilation*(kernel_size-1) - 1) / "
               "stride) + 1 (a pooling layer's stride defaults to its kernel_size); an "
               "activation changes nothing; Flatten leaves channels * height * width "
               "values, the channels being the out_channels of the last Conv2d")


def check_predicted_in_features(predicted, layers, input_shape, name=None, quiet=False):
    """The ``in_features`` a Linear needs after ``layers`` (then flattened) for samples of
    ``input_shape`` (no batch), predicted by hand; the real number comes from a dry run.
    ``name`` defaults to "your predicted in_features"."""
    from nncourse.checks import check_predicted_value

    name = say("your predicted in_features") if name is None else name
    body = layers if isinstance(layers, nn.Module) else nn.Sequential(*layers)
    actual = dry_run_features(body, input_shape)
    mistakes = [(_walk_features(layers, input_shape, m), text)
                for m, text in in_features_mistakes().items()]
    mistakes = [(value, text) for value, text in mistakes if value != actual]
    _naming(lambda: check_predicted_value(predicted, actual, name, in_features_rule(),
                                          quiet=quiet), predicted, mistakes)


def check_predicted_linear_shape(predicted, in_features, out_features, input_shape,
                                 name=None, quiet=False):
    """The shape ``nn.Linear(in_features, out_features)`` gives on ``input_shape``,
    predicted by hand; ``name`` defaults to "your predicted shape"."""
    from nncourse.checks import check_predicted_shape

    name = say("your predicted shape") if name is None else name
    with torch.no_grad():
        actual = nn.Linear(in_features, out_features)(torch.zeros(input_shape)).shape
    lead = tuple(input_shape[:-1])
    rules = [(say("dimension {i} of the input", i=i),
              say("nn.Linear keeps every leading dimension as it is: it treats them all "
                  "like a batch")) for i in range(len(lead))]
    rules.append((say("features"),
                  say("the last dimension, in_features, becomes out_features")))
    mistakes = [((math.prod(lead), out_features),
                 say("nn.Linear does not merge the leading dimensions: each of them "
                     "stays")),
                (lead + (in_features,),
                 say("the last dimension is in_features going in and out_features coming "
                     "out")),
                ((out_features, in_features),
                 say("that is the shape of the weight, not of the output"))]
    if lead:
        mistakes.append(((lead[0], out_features),
                         say("the dimensions between the first and the last stay too, "
                             "not only the batch")))
    _naming(lambda: check_predicted_shape(predicted, actual, name, rules, quiet=quiet),
            predicted, [(v, t) for v, t in mistakes if v != tuple(actual)])


def check_predicted_linear_params(predicted, in_features, out_features, bias=True,
                                  input_shape=None, name=None, quiet=False):
    """The number of parameters of ``nn.Linear(in_features, out_features, bias)``,
    predicted by hand; ``input_shape`` (optional) is the input the question mentions.
    ``name`` defaults to "your predicted count"."""
    from nncourse.checks import check_predicted_value

    name = say("your predicted count") if name is None else name
    layer = nn.Linear(in_features, out_features, bias=bias)
    actual = sum(p.numel() for p in layer.parameters())
    weights = in_features * out_features
    mistakes = [(weights + in_features,
                 say("there is one bias per output feature, not per input feature")),
                (in_features + out_features,
                 say("the weight is a matrix: one entry per pair of an input and an "
                     "output feature"))]
    if bias:
        mistakes.append((weights, say("the bias was left out: bias=True is the default")))
    else:
        mistakes.append((weights + out_features,
                         say("bias=False: this layer has no bias")))
    if input_shape is not None and len(input_shape) > 1:
        mistakes.append((actual * math.prod(input_shape[:-1]),
                         say("the count does not depend on the input: the same weight "
                             "and bias serve every row")))
    rule = say("nn.Linear(in_features, out_features) holds a weight of shape "
               "(out_features, in_features) and, unless bias=False, a bias of shape "
               "(out_features,); the input's shape does not change the count")
    _naming(lambda: check_predicted_value(predicted, actual, name, rule, quiet=quiet),
            predicted, [(v, t) for v, t in mistakes if v != actual])
