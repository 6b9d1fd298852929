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

import torch
from torch import nn

from nncourse.checks import CheckFailure, _fmt_shape, _passed
from nncourse.convpool import layer_formula

SPATIAL = ("H", "W", "D")
FLATTENED_BATCH = ("torch.flatten(x) (or x.view(-1), x.reshape(-1)) flattens the batch "
                   "dimension too, so the samples of a batch end up in one long vector. "
                   "Keep dimension 0: nn.Flatten(), x.flatten(1) or "
                   "x.reshape(x.shape[0], -1)")


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
    lines = [f"input {_fmt_shape(tuple(x.shape))}"]
    with torch.no_grad():
        for layer in layers:
            before = tuple(x.shape)
            try:
                x = layer(x)
            except RuntimeError as err:
                lines.append(f"{_describe(layer)} fails on {_fmt_shape(before)}: "
                             f"{str(err).splitlines()[0]}")
                return "\n".join(lines)
            line = f"{_describe(layer)} -> {_fmt_shape(tuple(x.shape))}"
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
        raise CheckFailure(f"{name} is a LazyLinear that has not seen an input yet: here "
                           "in_features must be known when the model is built; find it "
                           "with a dry run (a dummy input through the layers before it)")
    if not isinstance(linear, nn.Linear):
        raise CheckFailure(f"{name} should be an nn.Linear, got {type(linear).__name__}")
    wanted = dry_run_features(body, input_shape)
    if linear.in_features != wanted:
        raise CheckFailure(
            f"{name}.in_features is {linear.in_features}, but the layers before it leave "
            f"{wanted} features per sample for an input of shape "
            f"{_fmt_shape(tuple(input_shape))}. The dry run:\n"
            + shape_story(list(body.children()) + [nn.Flatten()]
                          if isinstance(body, nn.Sequential) else [body, nn.Flatten()],
                          input_shape))
    _passed(f"{name}.in_features = {wanted}", quiet)


def check_batch_independent(fn, X, name="output", quiet=False):
    """Changing one sample of ``X`` must not change what ``fn`` gives for the others.

    This is what a flatten over the batch breaks; the message names that mistake. Also
    fails when the output's first dimension is not the batch.
    """
    with torch.no_grad():
        try:
            out = fn(X)
        except RuntimeError as err:
            raise CheckFailure(f"{name} failed on a batch of {len(X)}: "
                               f"{str(err).splitlines()[0]}\nHint: {FLATTENED_BATCH}"
                               ) from None
        if out.shape[0] != X.shape[0]:
            raise CheckFailure(f"{name} has shape {_fmt_shape(tuple(out.shape))} for a batch "
                               f"of {X.shape[0]}: dimension 0 should be the batch.\nHint: "
                               f"{FLATTENED_BATCH}")
        changed = X.clone()
        changed[-1] = changed[-1] + 1.0 + changed[-1].abs()
        out_changed = fn(changed)
        others = (out_changed[:-1] - out[:-1]).abs().max().item() if len(X) > 1 else 0.0
    if others > 1e-5:
        raise CheckFailure(f"{name}: changing the last sample of the batch changed the "
                           f"output of the other samples (by up to {others:.3g}): the "
                           f"samples are mixed.\nHint: {FLATTENED_BATCH}")
    _passed(f"{name}: each sample's output depends on that sample only", quiet)


def checked_call(fn, *args, name=None, hint=None):
    """``fn(*args)``; an error inside it becomes a CheckFailure that names the call and
    adds ``hint`` (the usual cause), instead of a bare traceback."""
    name = name or getattr(fn, "__name__", "the function")
    try:
        return fn(*args)
    except (RuntimeError, TypeError, IndexError) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        message = f"{name} failed: {type(err).__name__}: {first_line}"
        raise CheckFailure(message if not hint else f"{message}\nHint: {hint}") from None
