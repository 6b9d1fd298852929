"""Checks that exercise test cells call.

A failed check raises ``CheckFailure`` (an ``AssertionError``) whose message reads like a
tutor: what was expected, what was found, where they differ and, when the mistake is a
known one, its name and its fix. A passed check prints one short line starting with a tick,
so a student sees their progress.
"""
import math

import torch
from torch import nn

TICK = "\u2713"


class CheckFailure(AssertionError):
    """A check failed; the message says what differs and, where it can, why."""


def _fail(message, hint=None):
    text = message if not hint else f"{message}\nHint: {hint}"
    raise CheckFailure(text)


def _passed(text, quiet):
    if not quiet:
        print(f"{TICK} {text}")


def _shape_of(obj):
    if isinstance(obj, torch.Tensor):
        return tuple(obj.shape)
    if isinstance(obj, (torch.Size, tuple, list)):
        return tuple(int(d) for d in obj)
    raise TypeError(f"cannot read a shape from {type(obj).__name__}")


def _fmt_shape(shape):
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
        text = f"stride defaults to kernel_size = {kernel_size}: " + text
    if out != rounded:
        text += (f", minus 1 because the last window would start beyond the input"
                 f" = {out}")
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
    _passed(passed or "ok", quiet)


def check_type(obj, expected_type, name="value", quiet=False):
    """``obj`` must be an instance of ``expected_type``."""
    if not isinstance(obj, expected_type):
        if obj is None:
            _fail(f"{name} is None: did the function forget to return its result?")
        wanted = getattr(expected_type, "__name__", str(expected_type))
        _fail(f"{name} should be a {wanted}, got {type(obj).__name__}")
    _passed(f"{name} is a {type(obj).__name__}", quiet)


def check_shape(actual, expected, name="output", hint=None, dims=None, quiet=False):
    """Compare shapes and say which dimension differs.

    ``dims`` names the dimensions, e.g. ``"NCHW"`` or ``("batch", "features")``; the message
    then speaks of "dimension 2 (H)". ``hint`` is appended when the shapes differ, for
    example the output-size formula with the student's numbers.
    """
    if actual is None:
        _fail(f"{name} is None: did the function forget to return its result?")
    if not isinstance(actual, (torch.Tensor, torch.Size, tuple, list)):
        _fail(f"{name} should be a tensor, got {type(actual).__name__}")
    got, want = _shape_of(actual), _shape_of(expected)
    if got == want:
        _passed(f"{name} has shape {_fmt_shape(got)}", quiet)
        return
    label = (lambda i: f"dimension {i} ({dims[i]})") if dims else (lambda i: f"dimension {i}")
    message = f"{name}: expected shape {_fmt_shape(want)}, got {_fmt_shape(got)}"
    if len(got) != len(want):
        message += f": {len(want)} dimensions expected, {len(got)} found"
        if len(got) == len(want) - 1 and want[1:] == got:
            message += " (the batch dimension is missing: a single sample needs unsqueeze(0))"
        elif math.prod(got) == math.prod(want):
            message += (" (same number of elements: a view/reshape/flatten in the wrong "
                        "place?)")
    else:
        differing = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        message += ": " + ", ".join(
            f"{label(i)} differs (expected {want[i]}, got {got[i]})" for i in differing)
        if len(differing) == 2 and sorted(got[i] for i in differing) == sorted(
                want[i] for i in differing):
            message += " (two dimensions swapped: transpose/permute, not view/reshape)"
    _fail(message, hint)


def check_dtype(actual, expected, name="output", hint=None, quiet=False):
    """The tensor must have the expected dtype."""
    if not isinstance(actual, torch.Tensor):
        _fail(f"{name} should be a tensor, got {type(actual).__name__}")
    if actual.dtype != expected:
        _fail(f"{name}: expected dtype {expected}, got {actual.dtype}", hint)
    _passed(f"{name} has dtype {expected}", quiet)


def check_equal(actual, expected, name="value", hint=None, quiet=False):
    """Exact equality for ints, tuples, strings, booleans and integer tensors."""
    if isinstance(actual, torch.Tensor) or isinstance(expected, torch.Tensor):
        expected_t = torch.as_tensor(expected)
        if not isinstance(actual, torch.Tensor):
            _fail(f"{name} should be a tensor, got {type(actual).__name__}", hint)
        check_shape(actual, expected_t.shape, name=name, quiet=True)
        if not torch.equal(actual.cpu(), expected_t.to(actual.dtype).cpu()):
            wrong = (actual.cpu() != expected_t.to(actual.dtype).cpu()).nonzero()
            first = tuple(wrong[0].tolist())
            _fail(f"{name}: {len(wrong)} of {actual.numel()} entries differ; the first at "
                  f"index {first}: expected {expected_t[first].item()}, "
                  f"got {actual.cpu()[first].item()}", hint)
        _passed(f"{name} is right", quiet)
        return
    if actual is None and expected is not None:
        _fail(f"{name} is None: did the function forget to return its result?")
    if actual != expected:
        _fail(f"{name}: expected {expected!r}, got {actual!r}", hint)
    _passed(f"{name} = {expected!r}", quiet)


def check_close(actual, expected, name="output", atol=1e-5, rtol=1e-4, hint=None,
                quiet=False):
    """Values equal within ``atol + rtol * |expected|``; on failure, the largest difference.

    Numbers and tensors are accepted. Shapes must match exactly (no broadcasting: a
    (N, 1) result against an (N,) target is a mistake, not a match).
    """
    if actual is None:
        _fail(f"{name} is None: did the function forget to return its result?")
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        actual = torch.tensor(float(actual), dtype=torch.float64)
    if not isinstance(actual, torch.Tensor):
        _fail(f"{name} should be a tensor or a number, got {type(actual).__name__}")
    expected = torch.as_tensor(expected)
    check_shape(actual, expected.shape, name=name, hint=hint, quiet=True)
    got = actual.detach().to("cpu", torch.float64)
    want = expected.detach().to("cpu", torch.float64)
    if torch.isnan(got).any() and not torch.isnan(want).any():
        _fail(f"{name} contains NaN ({int(torch.isnan(got).sum())} entries); "
              "look for log(0), 0/0 or exp overflow", hint)
    diff = (got - want).abs()
    diff = torch.where(torch.isnan(got) & torch.isnan(want), torch.zeros_like(diff), diff)
    allowed = atol + rtol * want.abs()
    if (diff > allowed).any():
        worst = int(torch.argmax(diff - allowed))
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), want.shape))
        where = f" at index {index}" if want.dim() else ""
        _fail(f"{name}: values differ; largest difference {diff.flatten()[worst].item():.6g}"
              f"{where} (got {got.flatten()[worst].item():.6g}, expected "
              f"{want.flatten()[worst].item():.6g}); tolerance {atol:g} + "
              f"{rtol:g} * |expected|", hint)
    _passed(f"{name} matches (largest difference {diff.max().item() if diff.numel() else 0:.2g})",
            quiet)


def check_module(obj, name="model", quiet=False):
    """``obj`` must be an nn.Module whose ``__init__`` ran (so its parameters register)."""
    if obj is None:
        _fail(f"{name} is None: did the function forget to return the model?")
    if not isinstance(obj, nn.Module):
        _fail(f"{name} should be an nn.Module, got {type(obj).__name__}")
    if "_parameters" not in obj.__dict__:
        _fail(f"{name}: nn.Module.__init__ never ran",
              "call super().__init__() first in your __init__")
    _passed(f"{name} is an nn.Module", quiet)


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
        _fail(f"{name} should be a tuple of ints, like (2, 3), got {predicted!r}")
    predicted = tuple(predicted)
    if len(predicted) != len(actual):
        _fail(f"{name}: you wrote {len(predicted)} dimensions, the tensor has "
              f"{len(actual)}", "one dimension per line of this list: "
              + "; ".join(label for label, _ in rules))
    for i, (got, want) in enumerate(zip(predicted, actual)):
        label, rule = rules[i]
        if got != want:
            _fail(f"{name}: dimension {i} ({label}) is not {got}", rule)
    _passed(f"{name}: {_fmt_shape(actual)}, predicted right", quiet)


def check_predicted_value(predicted, actual, name, rule, quiet=False):
    """A number the student wrote down before running anything; a wrong one fails with
    the rule that decides it, not with the right number."""
    if not isinstance(predicted, int) or isinstance(predicted, bool):
        _fail(f"{name} should be an int, got {predicted!r}")
    if predicted != actual:
        _fail(f"{name} is not {predicted}", rule)
    _passed(f"{name} = {actual}, predicted right", quiet)


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
        _fail(f"{name} should be a list or a set of strings, like ['w', 'fc.bias'], got "
              f"{predicted!r}")
    actual = [str(key) for key in actual]
    seen = set()
    for key in predicted:
        if key in seen:
            _fail(f"{name} names {key!r} twice: a key appears once")
        seen.add(key)
    for key in sorted(seen):
        if key not in actual:
            _fail(f"{name}: there is no {key!r}", rule)
    if seen != set(actual):
        _fail(f"{name} leaves out names that are there", rule)
    _passed(f"{name}: the {len(actual)} names, predicted right", quiet)
