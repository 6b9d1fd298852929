"""Diagnostics for the convolution and pooling chapters.

Output sizes are where these chapters go wrong, so a failed check here shows the
output-size formula with the student's own numbers, names the dimension that differs and,
when the wrong number is what a well-known wrong formula gives, names that mistake:

    >>> print(explain_size(25, "conv", size=28, kernel_size=3))
    floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26
    25 is what you get when you leave out the + 1 (the first window counts too)

``measured_size`` asks a real layer instead of the formula, and ``forbidden`` makes sure
that a function written "by hand" does not call the library function it re-implements.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from nncourse.checks import (
    check_shape,
    check_true,
    conv_formula,
    conv_out_size,
    conv_transpose_formula,
    conv_transpose_out_size,
    pool_formula,
    pool_out_size,
)
from nncourse.forbid import forbidden  # noqa: F401 (the exercises import it from here)
from nncourse.messages import say

KINDS = ("conv", "pool", "transpose")


def _axis(value, axis):
    """One axis of a layer attribute that is an int or a tuple."""
    return value[axis] if isinstance(value, (tuple, list)) else value


# ----------------------------------------------------------------------------------------
# Formulas of real layers


def layer_formula(layer, size, axis=0):
    """The output-size formula of ``layer`` along one spatial axis, with its numbers.

    Works for convolutions, transposed convolutions, max/avg pooling and adaptive pooling
    of any dimension; ``axis`` 0 is H (or L), 1 is W.
    """
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        return conv_transpose_formula(size, _axis(layer.kernel_size, axis),
                                      _axis(layer.stride, axis), _axis(layer.padding, axis),
                                      _axis(layer.output_padding, axis),
                                      _axis(layer.dilation, axis))
    if isinstance(layer, nn.modules.conv._ConvNd):
        if layer.padding == "same":
            return say("padding='same' keeps the size: {size}", size=size)
        padding = 0 if layer.padding == "valid" else _axis(layer.padding, axis)
        return conv_formula(size, _axis(layer.kernel_size, axis), _axis(layer.stride, axis),
                            padding, _axis(layer.dilation, axis))
    if isinstance(layer, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        kernel_size, stride = _axis(layer.kernel_size, axis), _axis(layer.stride, axis)
        return pool_formula(size, kernel_size, None if stride == kernel_size else stride,
                            _axis(layer.padding, axis), _axis(getattr(layer, "dilation", 1),
                                                              axis), layer.ceil_mode)
    if isinstance(layer, (nn.modules.pooling._AdaptiveAvgPoolNd,
                          nn.modules.pooling._AdaptiveMaxPoolNd)):
        wanted = _axis(layer.output_size, axis)
        return say("adaptive pooling always gives output_size: {size}",
                   size=wanted or size)
    raise TypeError(say("no output-size formula for {kind}", kind=type(layer).__name__))


def layer_settings(layer, axis=0):
    """The settings of ``layer`` along one spatial axis, without the formula (for an
    exercise whose answer is the formula)."""
    names = ("kernel_size", "stride", "padding", "output_padding", "dilation")
    parts = [f"{key} {_axis(getattr(layer, key), axis)}" for key in names
             if hasattr(layer, key) and getattr(layer, key) is not None]
    return ", ".join(parts) if parts else say("a {kind}", kind=type(layer).__name__)


def check_layer_output(out, expected, layer, input_shape, name="output", quiet=False,
                       formula=True):
    """Check ``out`` (the output of ``layer`` on an input of ``input_shape``) has the
    ``expected`` shape; on failure the hint gives the layer's formula for every spatial
    dimension that differs, with the layer's own numbers (only the layer's settings
    there with ``formula=False``; nothing about the layer when ``layer`` is None, for a
    hidden case)."""
    expected = tuple(expected)
    dims = {3: "NCL", 4: "NCHW", 5: "NCDHW"}.get(len(expected))
    got = None
    if isinstance(out, (torch.Tensor, torch.Size, tuple, list)):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else tuple(out)
    hints = []
    if got is not None and len(got) == len(expected) and dims and layer is not None:
        if got[1] != expected[1] and hasattr(layer, "out_channels"):
            hints.append(say("C: the layer makes out_channels = {n} channels",
                             n=layer.out_channels))
        for i in range(2, len(expected)):
            if got[i] != expected[i]:
                try:
                    text = (layer_formula(layer, input_shape[i], i - 2) if formula
                            else layer_settings(layer, i - 2))
                except TypeError:                   # a layer of the student's own
                    continue
                hints.append(f"{dims[i]}: {text}")
    check_shape(out, expected, name=name, dims=dims, hint="\n".join(hints) or None,
                quiet=quiet)


# ----------------------------------------------------------------------------------------
# Output-size answers: the formula with the numbers, and the usual wrong formulas


def size_formula(kind, size, kernel_size, stride=None, padding=0, dilation=1,
                 output_padding=0, ceil_mode=False):
    """The right formula of ``kind`` ("conv", "pool" or "transpose") with these numbers."""
    if kind == "conv":
        return conv_formula(size, kernel_size, 1 if stride is None else stride, padding,
                            dilation)
    if kind == "pool":
        return pool_formula(size, kernel_size, stride, padding, dilation, ceil_mode)
    if kind == "transpose":
        return conv_transpose_formula(size, kernel_size, 1 if stride is None else stride,
                                      padding, output_padding, dilation)
    raise ValueError(say("kind must be one of {kinds}, got {kind!r}", kinds=KINDS,
                         kind=kind))


def size_mistakes(kind, size, kernel_size, stride=None, padding=0, dilation=1,
                  output_padding=0, ceil_mode=False):
    """What the usual wrong formulas give: ``{what the student did: their number}``."""
    k, p, d = kernel_size, padding, dilation
    if kind == "transpose":
        s = 1 if stride is None else stride
        return {
            say("use the convolution formula (a transposed convolution runs it "
                "backwards)"):
                conv_out_size(size, k, s, p, d),
            say("forget output_padding"): conv_transpose_out_size(size, k, s, p, 0, d),
            say("subtract the padding once instead of twice (2P)"):
                conv_transpose_out_size(size, k, s, 0, output_padding, d) - p,
            say("forget the dilation"):
                conv_transpose_out_size(size, k, s, p, output_padding),
            say("multiply size instead of size - 1 by the stride"):
                conv_transpose_out_size(size + 1, k, s, p, output_padding, d),
            say("leave out the + 1"):
                conv_transpose_out_size(size, k, s, p, output_padding, d) - 1,
        }
    s = (k if kind == "pool" else 1) if stride is None else stride
    span = size + 2 * p - d * (k - 1) - 1
    mistakes = {}
    if kind == "pool":
        if stride is None:
            mistakes[say("take stride 1 (pooling's stride defaults to kernel_size)")] = \
                pool_out_size(size, k, 1, p, d, ceil_mode)
        if ceil_mode:
            mistakes[say("ignore ceil_mode (it rounds up)")] = span // s + 1
            mistakes[say("round up but keep a last window that would start beyond the "
                         "input")] = \
                math.ceil(span / s) + 1
        else:
            mistakes[say("round up although ceil_mode is False")] = \
                pool_out_size(size, k, s, p, d, True)
    else:
        mistakes[say("round up instead of down (a window that does not fit is "
                     "dropped)")] = \
            math.ceil(span / s) + 1
    mistakes.update({
        say("forget the dilation (a dilated kernel spans D*(K-1) + 1 cells)"):
            (size + 2 * p - (k - 1) - 1) // s + 1,
        say("add the padding once instead of on both sides (2P)"):
            (size + p - d * (k - 1) - 1) // s + 1,
        say("forget the padding"): (size - d * (k - 1) - 1) // s + 1,
        say("leave out the + 1 (the first window counts too)"): span // s,
        say("forget to divide by the stride"): span + 1,
        say("round to the nearest integer instead of down"): round(span / s) + 1,
        say("use the transposed-convolution formula"):
            conv_transpose_out_size(size, k, s, p, 0, d),
    })
    return mistakes


def explain_size(got, kind, size, kernel_size, stride=None, padding=0, dilation=1,
                 output_padding=0, ceil_mode=False):
    """The formula with these numbers and, if ``got`` is what a known mistake gives, its
    name."""
    numbers = dict(size=size, kernel_size=kernel_size, stride=stride, padding=padding,
                   dilation=dilation, output_padding=output_padding, ceil_mode=ceil_mode)
    text = size_formula(kind, **numbers)
    right = _right_size(kind, **numbers)
    for mistake, value in size_mistakes(kind, **numbers).items():
        if value == got and value != right:
            return say("{formula}\n{got} is what you get when you {mistake}",
                       formula=text, got=got, mistake=mistake)
    return text


def _right_size(kind, size, kernel_size, stride=None, padding=0, dilation=1,
                output_padding=0, ceil_mode=False):
    if kind == "conv":
        return conv_out_size(size, kernel_size, 1 if stride is None else stride, padding,
                             dilation)
    if kind == "pool":
        return pool_out_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    return conv_transpose_out_size(size, kernel_size, 1 if stride is None else stride,
                                   padding, output_padding, dilation)


# The cases on which a student's size function is compared with the usual wrong formulas:
# every setting varies, so that a mistake is named only when the function gives that
# mistake's numbers everywhere (``d*K`` for ``d*(K-1)`` agrees with "leave out the + 1"
# when d = 1 and s = 1, not elsewhere).
PROBES = [dict(size=size, kernel_size=k, stride=s, padding=p, dilation=d)
          for size in (7, 12, 29) for k in (1, 2, 3, 5) for s in (None, 1, 2, 3)
          for p in (0, 1, 2) for d in (1, 2) if p <= k // 2]


def _probes(kind):
    cases = []
    for case in PROBES:
        case = dict(case)
        if kind != "pool" and case["stride"] is None:
            continue
        if kind == "pool":
            case["ceil_mode"] = case["size"] % 2 == 0
        if kind == "transpose":
            case["output_padding"] = min(case["stride"], case["dilation"]) - 1
        if _right_size(kind, **case) >= 1:
            cases.append(case)
    return cases


def size_function_mistake(fn, kind):
    """The name of the usual wrong formula that the size function ``fn`` follows on every
    probe case, or None; ``fn`` takes the arguments of the exercise ("conv", "pool" or
    "transpose") by name."""
    cases = _probes(kind)
    try:
        answers = [fn(**{k: v for k, v in case.items()
                         if not (kind == "conv" and k == "ceil_mode")}) for case in cases]
    except Exception:                               # noqa: BLE001 (a crash names nothing)
        return None
    right = [_right_size(kind, **case) for case in cases]
    tables = [size_mistakes(kind, **case) for case in cases]
    # a mistake that does not apply to a case (ceil_mode only matters when it is set)
    # gives the right answer there
    for mistake in dict.fromkeys(name for table in tables for name in table):
        wrong = [table.get(mistake, ok) for table, ok in zip(tables, right)]
        if wrong != right and answers == wrong:
            return say("your function gives what you get when you {mistake}",
                       mistake=mistake)
    return None


def _settings(kind, numbers):
    """Which settings of a hidden case are not the default (its numbers stay hidden)."""
    used = [key for key in ("stride", "padding", "dilation", "output_padding")
            if numbers[key] not in (None, 0) and not (key in ("stride", "dilation")
                                                    and numbers[key] == 1)]
    if kind == "pool" and numbers["ceil_mode"]:
        used.append("ceil_mode=True")
    return say(", ").join(used) or say("default settings")


def check_size(got, expected, kind, size, kernel_size, stride=None, padding=0, dilation=1,
               output_padding=0, ceil_mode=False, name=None, quiet=False,
               fn=None, hidden=False):
    """An output-size answer must be the int ``expected``.

    With ``fn`` (the student's size function) a wrong answer is explained only by what is
    recognised: the usual wrong formula that ``fn`` follows on every probe case
    (``size_function_mistake``); the right formula is never shown, since writing it is the
    exercise. Without ``fn`` the hint is the formula with these numbers (for exercises
    where the formula is not the answer). ``hidden`` keeps the numbers out of the message:
    it names only which settings the case uses. ``name`` defaults to "output size".
    """
    name = say("output size") if name is None else name
    numbers = dict(size=size, kernel_size=kernel_size, stride=stride, padding=padding,
                   dilation=dilation, output_padding=output_padding, ceil_mode=ceil_mode)
    shown = ", ".join(f"{key}={value}" for key, value in numbers.items()
                      if value is not None and not (key == "output_padding" and not value)
                      and not (key == "ceil_mode" and kind != "pool"))
    label = (say("{name} on a hidden case ({settings})", name=name,
                 settings=_settings(kind, numbers)) if hidden
             else say("{name} for {shown}", name=name, shown=shown))
    check_true(got is not None, say("{label} is None: did the function forget to return "
                                    "it?", label=label))
    if isinstance(got, float) and got.is_integer():
        check_true(False, say("{label} should be an int, got the float {got}",
                              label=label, got=got),
                   hint=say("use // (floor division) or math.floor/math.ceil, which "
                            "give ints"))
    check_true(isinstance(got, int) and not isinstance(got, bool),
               say("{label} should be an int, got {kind} {got!r}", label=label,
                   kind=type(got).__name__, got=got))
    if got == expected:
        check_true(True, label, passed=f"{label} = {expected}", quiet=quiet)
        return
    wrong = say("{label}: expected {expected}, got {got}", label=label,
                expected=expected, got=got)
    if fn is not None:
        if hidden:
            wrong = say("{label}: expected {expected}", label=label, expected=expected)
        check_true(False, wrong, hint=size_function_mistake(fn, kind))
    check_true(False, wrong, hint=explain_size(got, kind, **numbers))


# ----------------------------------------------------------------------------------------
# Values computed by hand: recognising the usual wrong versions


def _same(got, wrong):
    return (isinstance(got, torch.Tensor) and got.shape == wrong.shape
            and torch.allclose(got.detach().to(wrong.dtype), wrong, atol=1e-4, rtol=1e-4))


@torch.no_grad()
def conv2d_mistake(got, x, weight, bias=None, **settings):
    """If ``got`` is what a known wrong 2-D convolution gives, say which; else None."""
    flipped = say("the kernel is flipped: PyTorch slides it as it is "
                  "(a cross-correlation)")
    wrong = {flipped: F.conv2d(x, weight.flip(-2, -1), bias, **settings)}
    if bias is not None:
        no_bias = say("the bias is missing: add bias.view(1, C_out, 1, 1) to every "
                      "position")
        wrong[no_bias] = F.conv2d(x, weight, None, **settings)
    for text, value in wrong.items():
        if _same(got, value):
            return text
    return None


@torch.no_grad()
def max_pool2d_mistake(got, x, kernel_size, stride=None, padding=0):
    """If ``got`` is what a known wrong max pooling gives, say which; else None."""
    wrong = {}
    if stride is None:
        wrong[say("stride 1 was used: pooling's stride defaults to kernel_size")] = \
            F.max_pool2d(x, kernel_size, 1, padding)
    if padding:
        zero_padded = F.pad(x, (padding,) * 4)
        wrong[say("the padding holds zeros: pad with -inf so that it never wins the "
                  "max")] = \
            F.max_pool2d(zero_padded, kernel_size, stride)
    wrong[say("the average was taken, not the maximum")] = \
        F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=False)
    for text, value in wrong.items():
        if _same(got, value):
            return text
    return None


@torch.no_grad()
def downsample_mistake(got, image, factor):
    """If ``got`` is what a known wrong way of shrinking an (H, W, 3) uint8 ``image`` by
    averaging ``factor`` x ``factor`` blocks gives, say which; else None."""
    h, w, c = image.shape
    chw = image.permute(2, 0, 1)                                    # (C, H, W)
    wrong = {
        say("the values were not divided by 255"): F.avg_pool2d(chw.float(), factor),
        say("the average was taken on integers, which rounds it down: convert to float "
            "first"): F.avg_pool2d(chw.long(), factor).float() / 255,
        say("reshape/view re-reads the numbers in a new order: (H, W, C) -> (C, H, W) "
            "needs permute(2, 0, 1)"):
            F.avg_pool2d(image.reshape(c, h, w).float() / 255, factor),
        say("the maximum was taken, not the average"): F.max_pool2d(chw.float() / 255,
                                                                    factor),
    }
    for text, value in wrong.items():
        if _same(got, value):
            return text
    return None

def _num_params_mistakes(c_in, c_out, kernel_size, groups, bias):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    b = c_out if bias else 0
    return {
        say("leave out groups (each filter sees in_channels / groups channels)"):
            c_out * c_in * kh * kw + b,
        say("count the bias although bias=False"):
            c_out * (c_in // groups) * kh * kw + c_out,
        say("leave out the bias (one per output channel)"):
            c_out * (c_in // groups) * kh * kw,
        say("divide both channel counts by groups"):
            (c_out // groups) * (c_in // groups) * kh * kw + b,
        say("take a square kernel of its first size"):
            c_out * (c_in // groups) * kh * kh + b,
    }


NUM_PARAMS_PROBES = [(c_in, c_out, k, g, b) for c_in, c_out, g in [(4, 8, 1), (6, 6, 3),
                                                                   (8, 4, 2), (3, 9, 1)]
                     for k in (3, (1, 5), (4, 2)) for b in (True, False)]


def num_params_mistake(fn):
    """The usual mistake that the parameter-count function ``fn(in_channels,
    out_channels, kernel_size, groups, bias)`` makes on every probe case, or None."""
    try:
        answers = [fn(*case) for case in NUM_PARAMS_PROBES]
    except Exception:                               # noqa: BLE001 (a crash names nothing)
        return None
    right = [sum(p.numel() for p in nn.Conv2d(*case[:3], groups=case[3],
                                              bias=case[4]).parameters())
             for case in NUM_PARAMS_PROBES]
    for mistake in _num_params_mistakes(*NUM_PARAMS_PROBES[0]):
        wrong = [_num_params_mistakes(*case)[mistake] for case in NUM_PARAMS_PROBES]
        if wrong != right and answers == wrong:
            return say("your function gives what you get when you {mistake}",
                       mistake=mistake)
    return None


@torch.no_grad()
def edge_mistake(got, images, weight):
    """If ``got`` (an edge detector's output on ``images``) is what a detector with the
    kernels of ``weight`` flipped or in each other's channels gives, say which; else
    None. Only the interior counts: the padding mode is the student's choice."""
    wrong = {say("the kernels are flipped: PyTorch slides a kernel as it is, so write "
                 "the Sobel kernel as given"): weight.flip(-2, -1),
             say("the two kernels are in each other's channels"): weight.flip(0)}
    interior = got[..., 1:-1, 1:-1] if isinstance(got, torch.Tensor) and got.dim() == 4 \
        else got
    for text, value in wrong.items():
        if _same(interior, F.conv2d(images, value)):
            return text
    return None


@torch.no_grad()
def adaptive_avg_pool1d_mistake(got, x, output_size):
    """If ``got`` is what a known wrong adaptive average pooling of ``x`` (N, C, L) gives,
    say which; else None."""
    length = x.shape[-1]

    def windows(start, end):
        return torch.stack([x[..., start(i):max(end(i), start(i) + 1)].mean(dim=-1)
                            for i in range(output_size)], dim=-1)

    width = max(1, length // output_size)
    wrong = {
        say("the end of each window was rounded down: round it up, so windows may "
            "overlap"):
            windows(lambda i: i * length // output_size,
                    lambda i: (i + 1) * length // output_size),
        say("every window has the same length L // output_size: they differ, and may "
            "overlap"):
            windows(lambda i: i * width, lambda i: (i + 1) * width),
    }
    for text, value in wrong.items():
        if _same(got, value) and not _same(value, F.adaptive_avg_pool1d(x, output_size)):
            return text
    return None


# ----------------------------------------------------------------------------------------
# The truth from real layers, and functions a by-hand answer must not call


@torch.no_grad()
def measured_size(kind, size, kernel_size, stride=None, padding=0, dilation=1,
                  output_padding=0, ceil_mode=False):
    """The output length that a real 1-D layer of ``kind`` gives on an input of ``size``:
    ``nn.Conv1d`` ("conv"), ``nn.MaxPool1d`` ("pool") or ``nn.ConvTranspose1d``
    ("transpose"). Tests compare answers with this rather than with a formula."""
    x = torch.zeros(1, 1, size)
    if kind == "conv":
        layer = nn.Conv1d(1, 1, kernel_size, 1 if stride is None else stride, padding,
                          dilation, bias=False)
    elif kind == "pool":
        layer = nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    elif kind == "transpose":
        layer = nn.ConvTranspose1d(1, 1, kernel_size, 1 if stride is None else stride,
                                   padding, output_padding, bias=False, dilation=dilation)
    else:
        raise ValueError(say("kind must be one of {kinds}, got {kind!r}", kinds=KINDS,
                             kind=kind))
    return int(layer(x).shape[-1])




# ----------------------------------------------------------------------------------------
# "Predict first" exercises: a shape or a count written down before running anything

def prediction_mistakes():
    """The known wrong rules of walking a conv/pool stack: ``{key: what is wrong}``."""
    return {
        "no_dilation": say("a dilated kernel spans dilation*(kernel_size-1) + 1 cells, "
                           "not kernel_size: the dilation was left out"),
        "no_padding": say("padding adds its cells on both sides of every spatial "
                          "dimension: the padding was left out"),
        "round_up": say("without ceil_mode the division is rounded down (floor), "
                        "not up"),
        "pool_stride_1": say("a pooling layer's stride defaults to its kernel_size, "
                             "not to 1"),
        "no_ceil_mode": say("ceil_mode=True rounds the division up: a last, partial "
                            "window still gives an output"),
    }


def _pool_layer(layer):
    return isinstance(layer, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd))


def predicted_stack_shape(layers, input_shape, mistake=None):
    """The output shape of the conv/pool ``layers`` on ``input_shape``, by the formulas;
    ``mistake`` (a key of ``prediction_mistakes()``) walks them with that wrong rule
    instead."""
    n, c, *spatial = input_shape
    for layer in layers:
        if isinstance(layer, nn.modules.conv._ConvNd) and not layer.transposed:
            c = layer.out_channels
            if layer.padding == "same":
                continue
            for i, size in enumerate(spatial):
                k, s = _axis(layer.kernel_size, i), _axis(layer.stride, i)
                p = 0 if layer.padding == "valid" else _axis(layer.padding, i)
                d = _axis(layer.dilation, i)
                d = 1 if mistake == "no_dilation" else d
                p = 0 if mistake == "no_padding" else p
                span = size + 2 * p - d * (k - 1) - 1
                spatial[i] = (math.ceil(span / s) if mistake == "round_up"
                              else span // s) + 1
        elif _pool_layer(layer):
            for i, size in enumerate(spatial):
                k = _axis(layer.kernel_size, i)
                s = _axis(layer.stride, i)
                s = 1 if mistake == "pool_stride_1" else s
                p = 0 if mistake == "no_padding" else _axis(layer.padding, i)
                ceil = layer.ceil_mode and mistake != "no_ceil_mode"
                ceil = ceil or mistake == "round_up"
                spatial[i] = pool_out_size(size, k, s, p,
                                           _axis(getattr(layer, "dilation", 1), i), ceil)
        elif isinstance(layer, (nn.modules.pooling._AdaptiveAvgPoolNd,
                                nn.modules.pooling._AdaptiveMaxPoolNd)):
            spatial = [_axis(layer.output_size, i) or size for i, size in enumerate(spatial)]
    return (n, c, *spatial)


def check_predicted_shape(got, layers, input_shape, name=None, quiet=False):
    """A shape predicted by hand must be the shape ``layers`` really produce on an input
    of ``input_shape``. The message says which dimension is wrong and in which direction,
    and the rule to walk the layers with, but never the right number; a wrong answer that
    a known wrong rule gives is named. ``name`` defaults to "your predicted shape"."""
    name = say("your predicted shape") if name is None else name
    with torch.no_grad():
        expected = tuple(layers(torch.zeros(input_shape)).shape)
    dims = {3: "NCL", 4: "NCHW", 5: "NCDHW"}[len(expected)]
    check_true(isinstance(got, (tuple, list)) and not isinstance(got, str),
               say("{name} should be a tuple of ints, got {kind}", name=name,
                   kind=type(got).__name__), quiet=True)
    got = tuple(got)
    check_true(all(isinstance(v, int) and not isinstance(v, bool) for v in got),
               say("{name} should hold ints, got {got}", name=name, got=got),
               hint=say("write each size as a whole number (// divides and rounds "
                        "down)"),
               quiet=True)
    check_true(len(got) == len(expected),
               say("{name} has {n} entries; the output is {d}-D ({dims})", name=name,
                   n=len(got), d=len(expected), dims=", ".join(dims)), quiet=True)
    if got == expected:
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    lines = []
    for i, (g, e) in enumerate(zip(got, expected)):
        if g == e:
            continue
        direction = say("too large") if g > e else say("too small")
        if i == 0:
            rule = say("no layer here changes the batch size")
        elif i == 1:
            rule = say("the channels are the out_channels of the last convolution; "
                       "pooling keeps the channel count")
        else:
            lines.append(say("dimension {i} ({dim}) is {direction}", i=i, dim=dims[i],
                             direction=direction))
            continue
        lines.append(say("dimension {i} ({dim}) is {direction}: {rule}", i=i,
                         dim=dims[i], direction=direction, rule=rule))
    if any(g != e for g, e in zip(got[2:], expected[2:])):
        lines.append(say(
            "walk the layers one at a time, each spatial size with "
            "floor((size + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1 "
            "(a pooling layer's stride defaults to its kernel_size; ceil_mode=True "
            "rounds up)"))
    if len(got) >= 4 and got[2:4] == expected[3:1:-1] and got[2] != got[3]:
        lines.append(say("H and W look swapped: the shape is (N, C, H, W) and a kernel "
                         "(kH, kW) gives its first size to H"))
    for mistake, text in prediction_mistakes().items():
        if predicted_stack_shape(layers, input_shape, mistake) == got:
            lines.append(text)
            break
    check_true(False, say("{name} {got} is not the shape the layers produce", name=name,
                          got=got),
               hint="\n".join(lines), quiet=quiet)


def _param_counts(layers):
    """The right count and those of the usual wrong ways of counting."""
    right = sum(p.numel() for p in layers.parameters())
    weights_only = sum(m.weight.numel() for m in layers.modules()
                       if isinstance(m, nn.modules.conv._ConvNd))
    no_in = sum(m.out_channels * math.prod(m.kernel_size)
                + (m.out_channels if m.bias is not None else 0)
                for m in layers.modules() if isinstance(m, nn.modules.conv._ConvNd))
    return right, {
        weights_only: say("the biases were left out: every output channel has one"),
        no_in: say("each output channel has one kernel per input channel: "
                   "out * in * kH * kW weights")}


def check_predicted_count(got, layers, name=None, quiet=False):
    """A parameter count predicted by hand must be that of ``layers``; the message says
    the direction and the rule, never the number. ``name`` defaults to "your predicted
    number of parameters"."""
    name = say("your predicted number of parameters") if name is None else name
    expected, mistakes = _param_counts(layers)
    check_true(isinstance(got, int) and not isinstance(got, bool),
               say("{name} should be an int, got {kind}", name=name,
                   kind=type(got).__name__), quiet=True)
    if got == expected:
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    hint = say("Conv2d(in, out, (kH, kW)) holds out * in * kH * kW weights and out "
               "biases (divide in by groups); pooling and activations hold none")
    if got in mistakes and got != expected:
        hint = mistakes[got] + "\n" + hint
    direction = say("too large") if got > expected else say("too small")
    check_true(False, say("{name} ({got}) is {direction}", name=name, got=got,
                          direction=direction),
               hint=hint, quiet=quiet)


@torch.no_grad()
def edge_maps_mistake(got, images, weight):
    """If ``got`` is what a known wrong fix of the edge-map exercise gives on the uint8
    ``images`` (N, H, W), name the mistake; else None."""
    from nncourse.checks import recognised_hint

    grey = images[:, None].to(torch.float32)                     # (N, 1, H, W), 0..255
    right = F.conv2d(grey / 255, weight, padding=1)
    return recognised_hint(got, [
        (right * 255, say("the values are 255 times too large: the images were "
                          "converted to float but not scaled from 0..255 to [0, 1]")),
        (right * 3, say("three times the right edges: the grey channel was copied "
                        "into 3 channels; a greyscale image has 1 channel, so the layer "
                        "needs in_channels=1")),
        (F.conv2d(grey / 255, weight.flip(-2, -1), padding=1),
         say("the kernel is flipped: PyTorch slides it as it is")),
    ])
