"""Checks that exercise test cells call.

A failed check raises ``CheckFailure`` (an ``AssertionError``) whose message reads like a
tutor: what was expected, what was found, where they differ and, when the mistake is a
known one, its name and its fix. A passed check prints one short line starting with a tick,
so a student sees their progress.
"""
import math

import torch
from torch import nn

from nncourse.messages import say

TICK = "\u2713"


class CheckFailure(AssertionError):
    """A check failed; the message says what differs and, where it can, why."""


def _fail(message, hint=None):
    raise CheckFailure(with_hint(message, hint))


def with_hint(message, hint=None):
    """A failure's message with its hint (if any) on the next line."""
    return message if not hint else say("{message}\nHint: {hint}", message=message,
                                        hint=hint)


def tick(text, quiet=False):
    """Say that a check passed (a tick and ``text``), unless ``quiet``."""
    if not quiet:
        print(f"{TICK} {text}")


def none_returned(name):
    """The message for a function that returned None where a result was expected."""
    return say("{name} is None: did the function forget to return its result?", name=name)


def _shape_of(obj):
    if isinstance(obj, torch.Tensor):
        return tuple(obj.shape)
    if isinstance(obj, (torch.Size, tuple, list)):
        return tuple(int(d) for d in obj)
    raise TypeError(say("cannot read a shape from {kind}", kind=type(obj).__name__))


def fmt_shape(shape):
    """A shape as Python writes a tuple: ``(3,)``, ``(2, 3)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# ----------------------------------------------------------------------------------------
# Output-size formulas (the ones the lessons teach), with a version that shows the numbers.


def conv_out_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution: floor((H + 2P - D*(K-1) - 1) / S) + 1."""
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def conv_formula(size, kernel_size, stride=1, padding=0, dilation=1):
    """The convolution formula written out with these numbers."""
    out = conv_out_size(size, kernel_size, stride, padding, dilation)
    return (f"floor(({size} + 2*{padding} - {dilation}*({kernel_size}-1) - 1) / {stride}) + 1"
            f" = {out}")


def pool_out_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output length of max/avg pooling; stride defaults to kernel_size."""
    stride = kernel_size if stride is None else stride
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    # with ceil_mode the last window must start inside the (left-padded) input
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_transpose_out_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                            dilation=1):
    """Output length of a transposed convolution."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def pool_formula(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The pooling formula written out with these numbers (stride defaults to kernel_size)."""
    step = kernel_size if stride is None else stride
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    rounded = (math.ceil(span / step) if ceil_mode else span // step) + 1
    out = pool_out_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    text = (f"{'ceil' if ceil_mode else 'floor'}(({size} + 2*{padding} - "
            f"{dilation}*({kernel_size}-1) - 1) / {step}) + 1 = {rounded}")
    if stride is None:
        text = say("stride defaults to kernel_size = {k}: {formula}", k=kernel_size,
                   formula=text)
    if out != rounded:
        text = say("{formula}, minus 1 because the last window would start beyond the "
                   "input = {out}", formula=text, out=out)
    return text


def conv_transpose_formula(size, kernel_size, stride=1, padding=0, output_padding=0,
                           dilation=1):
    """The transposed-convolution formula written out with these numbers."""
    out = conv_transpose_out_size(size, kernel_size, stride, padding, output_padding,
                                  dilation)
    return (f"({size}-1)*{stride} - 2*{padding} + {dilation}*({kernel_size}-1) + "
            f"{output_padding} + 1 = {out}")


def count_params(module, trainable_only=False):
    """Number of scalar parameters in a module (only those with requires_grad if asked)."""
    return sum(p.numel() for p in module.parameters()
               if p.requires_grad or not trainable_only)


def values_match(actual, candidate, atol=1e-5, rtol=1e-4, equal_nan=False):
    """True when both are tensors of one shape whose values agree within the tolerance.

    The diagnostics use it to ask "does the student's result equal what this known
    mistake gives?" without failing.
    """
    if not isinstance(actual, torch.Tensor) or not isinstance(candidate, torch.Tensor):
        return False
    if actual.shape != candidate.shape:
        return False
    as64 = lambda t: t.detach().to("cpu", torch.float64)  # noqa: E731
    return bool(torch.allclose(as64(actual), as64(candidate), atol=atol, rtol=rtol,
                               equal_nan=equal_nan))


# ----------------------------------------------------------------------------------------
# The checks


def check_true(condition, message, hint=None, passed=None, quiet=False):
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        _fail(message, hint)
    tick(passed or say("ok"), quiet)


def check_type(obj, expected_type, name="value", quiet=False):
    """``obj`` must be an instance of ``expected_type``."""
    if not isinstance(obj, expected_type):
        if obj is None:
            _fail(none_returned(name))
        wanted = getattr(expected_type, "__name__", str(expected_type))
        _fail(say("{name} should be a {wanted}, got {kind}", name=name, wanted=wanted,
                  kind=type(obj).__name__))
    tick(say("{name} is a {kind}", name=name, kind=type(obj).__name__), quiet)


def check_shape(actual, expected, name="output", hint=None, dims=None, quiet=False):
    """Compare shapes and say which dimension differs.

    ``dims`` names the dimensions, e.g. ``"NCHW"`` or ``("batch", "features")``; the message
    then speaks of "dimension 2 (H)". ``hint`` is appended when the shapes differ, for
    example the output-size formula with the student's numbers.
    """
    if actual is None:
        _fail(none_returned(name))
    if not isinstance(actual, (torch.Tensor, torch.Size, tuple, list)):
        _fail(not_a_tensor(name, actual))
    got, want = _shape_of(actual), _shape_of(expected)
    if got == want:
        tick(say("{name} has shape {shape}", name=name, shape=fmt_shape(got)), quiet)
        return
    message = say("{name}: expected shape {want}, got {got}", name=name,
                  want=fmt_shape(want), got=fmt_shape(got))
    if len(got) != len(want):
        message = say("{message}: {want} dimensions expected, {got} found",
                      message=message, want=len(want), got=len(got))
        if len(got) == len(want) - 1 and want[1:] == got:
            message = say("{message} (the batch dimension is missing: a single sample "
                          "needs unsqueeze(0))", message=message)
        elif math.prod(got) == math.prod(want):
            message = say("{message} (same number of elements: a view/reshape/flatten in "
                          "the wrong place?)", message=message)
    else:
        differing = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        message = say("{message}: {differences}", message=message, differences=say(
            ", ").join(_differs(i, dims, want[i], got[i]) for i in differing))
        if len(differing) == 2 and sorted(got[i] for i in differing) == sorted(
                want[i] for i in differing):
            message = say("{message} (two dimensions swapped: transpose/permute, not "
                          "view/reshape)", message=message)
    _fail(message, hint)


def _differs(i, dims, want, got):
    if dims:
        return say("dimension {i} ({dim}) differs (expected {want}, got {got})", i=i,
                   dim=dims[i], want=want, got=got)
    return say("dimension {i} differs (expected {want}, got {got})", i=i, want=want, got=got)


def not_a_tensor(name, actual):
    """The message for a value that should have been a tensor."""
    return say("{name} should be a tensor, got {kind}", name=name, kind=type(actual).__name__)


def check_dtype(actual, expected, name="output", hint=None, quiet=False):
    """The tensor must have the expected dtype."""
    if not isinstance(actual, torch.Tensor):
        _fail(not_a_tensor(name, actual))
    if actual.dtype != expected:
        _fail(say("{name}: expected dtype {want}, got {got}", name=name, want=expected,
                  got=actual.dtype), hint)
    tick(say("{name} has dtype {dtype}", name=name, dtype=expected), quiet)


def check_equal(actual, expected, name="value", hint=None, quiet=False):
    """Exact equality for ints, tuples, strings, booleans and integer tensors."""
    if isinstance(actual, torch.Tensor) or isinstance(expected, torch.Tensor):
        expected_t = torch.as_tensor(expected)
        if not isinstance(actual, torch.Tensor):
            _fail(not_a_tensor(name, actual), hint)
        check_shape(actual, expected_t.shape, name=name, quiet=True)
        if not torch.equal(actual.cpu(), expected_t.to(actual.dtype).cpu()):
            wrong = (actual.cpu() != expected_t.to(actual.dtype).cpu()).nonzero()
            first = tuple(wrong[0].tolist())
            _fail(say("{name}: {wrong} of {total} entries differ; the first at index "
                      "{index}: expected {want}, got {got}", name=name, wrong=len(wrong),
                      total=actual.numel(), index=first, want=expected_t[first].item(),
                      got=actual.cpu()[first].item()), hint)
        tick(say("{name} is right", name=name), quiet)
        return
    if actual is None and expected is not None:
        _fail(none_returned(name))
    if actual != expected:
        _fail(say("{name}: expected {want!r}, got {got!r}", name=name, want=expected,
                  got=actual), hint)
    tick(f"{name} = {expected!r}", quiet)


def check_close(actual, expected, name="output", atol=1e-5, rtol=1e-4, hint=None,
                quiet=False):
    """Values equal within ``atol + rtol * |expected|``; on failure, the largest difference.

    Numbers and tensors are accepted. Shapes must match exactly (no broadcasting: a
    (N, 1) result against an (N,) target is a mistake, not a match).
    """
    if actual is None:
        _fail(none_returned(name))
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        actual = torch.tensor(float(actual), dtype=torch.float64)
    if not isinstance(actual, torch.Tensor):
        _fail(say("{name} should be a tensor or a number, got {kind}", name=name,
                  kind=type(actual).__name__))
    expected = torch.as_tensor(expected)
    check_shape(actual, expected.shape, name=name, hint=hint, quiet=True)
    got = actual.detach().to("cpu", torch.float64)
    want = expected.detach().to("cpu", torch.float64)
    if torch.isnan(got).any() and not torch.isnan(want).any():
        _fail(say("{name} contains NaN ({count} entries); look for log(0), 0/0 or exp "
                  "overflow", name=name, count=int(torch.isnan(got).sum())), hint)
    diff = (got - want).abs()
    diff = torch.where(torch.isnan(got) & torch.isnan(want), torch.zeros_like(diff), diff)
    allowed = atol + rtol * want.abs()
    if (diff > allowed).any():
        worst = int(torch.argmax(diff - allowed))
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), want.shape))
        fields = dict(name=name, diff=diff.flatten()[worst].item(),
                      got=got.flatten()[worst].item(), want=want.flatten()[worst].item(),
                      atol=atol, rtol=rtol, index=index)
        if want.dim():
            _fail(say("{name}: values differ; largest difference {diff:.6g} at index "
                      "{index} (got {got:.6g}, expected {want:.6g}); tolerance {atol:g} + "
                      "{rtol:g} * |expected|", **fields), hint)
        _fail(say("{name}: values differ; largest difference {diff:.6g} (got {got:.6g}, "
                  "expected {want:.6g}); tolerance {atol:g} + {rtol:g} * |expected|",
                  **fields), hint)
    tick(say("{name} matches (largest difference {diff:.2g})", name=name,
             diff=diff.max().item() if diff.numel() else 0), quiet)


def check_module(obj, name="model", quiet=False):
    """``obj`` must be an nn.Module whose ``__init__`` ran (so its parameters register)."""
    if obj is None:
        _fail(say("{name} is None: did the function forget to return the model?",
                  name=name))
    if not isinstance(obj, nn.Module):
        _fail(say("{name} should be an nn.Module, got {kind}", name=name,
                  kind=type(obj).__name__))
    if "_parameters" not in obj.__dict__:
        _fail(say("{name}: nn.Module.__init__ never ran", name=name),
              say("call super().__init__() first in your __init__"))
    tick(say("{name} is an nn.Module", name=name), quiet)


def recognised_hint(actual, mistakes, atol=1e-5, rtol=1e-4):
    """The hint of the first known mistake whose result ``actual`` equals, else None.

    ``mistakes`` holds ``(what_the_mistake_gives, hint)`` pairs that the test computes from
    its own inputs. A hint that names a mistake is shown only when the student's result is
    what that mistake gives; otherwise the check's own message (what differs, and where)
    stands alone. Pass the result as a check's ``hint=``.
    """
    for candidate, hint in mistakes:
        if values_match(actual, candidate, atol=atol, rtol=rtol):
            return hint
    return None


def check_predicted_shape(predicted, actual, name, rules, quiet=False):
    """A shape the student wrote down before running anything, against the real one.

    ``rules`` gives, for each dimension, ``(its name, the rule that decides it)``. A wrong
    dimension fails with its rule, never with the right number: the student is to think
    again, not to copy. Tuples, lists and ``torch.Size`` of ints are all accepted.
    """
    actual = tuple(int(d) for d in actual)
    ints = isinstance(predicted, (tuple, list)) and all(
        isinstance(d, int) and not isinstance(d, bool) for d in predicted)
    if not ints:
        _fail(say("{name} should be a tuple of ints, like (2, 3), got {got!r}", name=name,
                  got=predicted))
    predicted = tuple(predicted)
    if len(predicted) != len(actual):
        _fail(say("{name}: you wrote {got} dimensions, the tensor has {want}", name=name,
                  got=len(predicted), want=len(actual)),
              say("one dimension per line of this list: {labels}",
                  labels="; ".join(label for label, _ in rules)))
    for i, (got, want) in enumerate(zip(predicted, actual)):
        label, rule = rules[i]
        if got != want:
            _fail(say("{name}: dimension {i} ({label}) is not {got}", name=name, i=i,
                      label=label, got=got), rule)
    tick(say("{name}: {shape}, predicted right", name=name, shape=fmt_shape(actual)),
         quiet)


def check_predicted_value(predicted, actual, name, rule, quiet=False):
    """A number the student wrote down before running anything; a wrong one fails with
    the rule that decides it, not with the right number."""
    if not isinstance(predicted, int) or isinstance(predicted, bool):
        _fail(say("{name} should be an int, got {got!r}", name=name, got=predicted))
    if predicted != actual:
        _fail(say("{name} is not {got}", name=name, got=predicted), rule)
    tick(say("{name} = {value}, predicted right", name=name, value=actual), quiet)


def check_predicted_keys(predicted, actual, name, rule, quiet=False):
    """Names the student wrote down before running anything (the keys of a state_dict, the
    names of parameters), against the real ones, in any order.

    A list, tuple or set of strings is accepted. A name that should not be there is quoted
    back (it is the student's own); names left out are said to be missing, never which or
    how many. Either way the message ends with ``rule``: think again, do not copy.
    """
    strings = isinstance(predicted, (list, tuple, set, frozenset)) and all(
        isinstance(key, str) for key in predicted)
    if not strings:
        _fail(say("{name} should be a list or a set of strings, like ['w', 'fc.bias'], got "
                  "{got!r}", name=name, got=predicted))
    actual = [str(key) for key in actual]
    seen = set()
    for key in predicted:
        if key in seen:
            _fail(say("{name} names {key!r} twice: a key appears once", name=name, key=key))
        seen.add(key)
    for key in sorted(seen):
        if key not in actual:
            _fail(say("{name}: there is no {key!r}", name=name, key=key), rule)
    if seen != set(actual):
        _fail(say("{name} leaves out names that are there", name=name), rule)
    tick(say("{name}: the {count} names, predicted right", name=name, count=len(actual)),
         quiet)
