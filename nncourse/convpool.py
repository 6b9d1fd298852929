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
            return f"padding='same' keeps the size: {size}"
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
        return f"adaptive pooling always gives output_size: {wanted or size}"
    raise TypeError(f"no output-size formula for {type(layer).__name__}")


def check_layer_output(out, expected, layer, input_shape, name="output", quiet=False):
    """Check ``out`` (the output of ``layer`` on an input of ``input_shape``) has the
    ``expected`` shape; on failure the hint gives the layer's formula for every spatial
    dimension that differs, with the layer's own numbers."""
    expected = tuple(expected)
    dims = {3: "NCL", 4: "NCHW", 5: "NCDHW"}.get(len(expected))
    got = None
    if isinstance(out, (torch.Tensor, torch.Size, tuple, list)):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else tuple(out)
    hints = []
    if got is not None and len(got) == len(expected) and dims:
        if got[1] != expected[1] and hasattr(layer, "out_channels"):
            hints.append(f"C: the layer makes out_channels = {layer.out_channels} channels")
        for i in range(2, len(expected)):
            if got[i] != expected[i]:
                hints.append(f"{dims[i]}: {layer_formula(layer, input_shape[i], i - 2)}")
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
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def size_mistakes(kind, size, kernel_size, stride=None, padding=0, dilation=1,
                  output_padding=0, ceil_mode=False):
    """What the usual wrong formulas give: ``{what the student did: their number}``."""
    k, p, d = kernel_size, padding, dilation
    if kind == "transpose":
        s = 1 if stride is None else stride
        return {
            "use the convolution formula (a transposed convolution runs it backwards)":
                conv_out_size(size, k, s, p, d),
            "forget output_padding": conv_transpose_out_size(size, k, s, p, 0, d),
            "subtract the padding once instead of twice (2P)":
                conv_transpose_out_size(size, k, s, 0, output_padding, d) - p,
            "forget the dilation": conv_transpose_out_size(size, k, s, p, output_padding),
            "multiply size instead of size - 1 by the stride":
                conv_transpose_out_size(size + 1, k, s, p, output_padding, d),
            "leave out the + 1": conv_transpose_out_size(size, k, s, p, output_padding, d) - 1,
        }
    s = (k if kind == "pool" else 1) if stride is None else stride
    span = size + 2 * p - d * (k - 1) - 1
    mistakes = {}
    if kind == "pool":
        if stride is None:
            mistakes["take stride 1 (pooling's stride defaults to kernel_size)"] = \
                pool_out_size(size, k, 1, p, d, ceil_mode)
        if ceil_mode:
            mistakes["ignore ceil_mode (it rounds up)"] = span // s + 1
            mistakes["round up but keep a last window that would start beyond the input"] = \
                math.ceil(span / s) + 1
        else:
            mistakes["round up although ceil_mode is False"] = \
                pool_out_size(size, k, s, p, d, True)
    else:
        mistakes["round up instead of down (a window that does not fit is dropped)"] = \
            math.ceil(span / s) + 1
    mistakes.update({
        "forget the dilation (a dilated kernel spans D*(K-1) + 1 cells)":
            (size + 2 * p - (k - 1) - 1) // s + 1,
        "add the padding once instead of on both sides (2P)":
            (size + p - d * (k - 1) - 1) // s + 1,
        "forget the padding": (size - d * (k - 1) - 1) // s + 1,
        "leave out the + 1 (the first window counts too)": span // s,
        "forget to divide by the stride": span + 1,
        "round to the nearest integer instead of down": round(span / s) + 1,
        "use the transposed-convolution formula": conv_transpose_out_size(size, k, s, p, 0, d),
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
            return f"{text}\n{got} is what you get when you {mistake}"
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


def check_size(got, expected, kind, size, kernel_size, stride=None, padding=0, dilation=1,
               output_padding=0, ceil_mode=False, name="output size", quiet=False):
    """An output-size answer must be the int ``expected``; a wrong one is explained with
    the formula, the student's numbers and, where it can be recognised, the mistake."""
    numbers = dict(size=size, kernel_size=kernel_size, stride=stride, padding=padding,
                   dilation=dilation, output_padding=output_padding, ceil_mode=ceil_mode)
    shown = ", ".join(f"{key}={value}" for key, value in numbers.items()
                      if value is not None and not (key == "output_padding" and not value)
                      and not (key == "ceil_mode" and kind != "pool"))
    label = f"{name} for {shown}"
    check_true(got is not None, f"{label} is None: did the function forget to return it?")
    if isinstance(got, float) and got.is_integer():
        check_true(False, f"{label} should be an int, got the float {got}",
                   hint="use // (floor division) or math.floor/math.ceil, which give ints")
    check_true(isinstance(got, int) and not isinstance(got, bool),
               f"{label} should be an int, got {type(got).__name__} {got!r}")
    check_true(got == expected, f"{label}: expected {expected}, got {got}",
               hint=explain_size(got, kind, **numbers), passed=f"{label} = {expected}",
               quiet=quiet)


# ----------------------------------------------------------------------------------------
# Values computed by hand: recognising the usual wrong versions


def _same(got, wrong):
    return (isinstance(got, torch.Tensor) and got.shape == wrong.shape
            and torch.allclose(got.detach().to(wrong.dtype), wrong, atol=1e-4, rtol=1e-4))


@torch.no_grad()
def conv2d_mistake(got, x, weight, bias=None, **settings):
    """If ``got`` is what a known wrong 2-D convolution gives, say which; else None."""
    wrong = {"the kernel is flipped: PyTorch slides it as it is (a cross-correlation)":
             F.conv2d(x, weight.flip(-2, -1), bias, **settings)}
    if bias is not None:
        wrong["the bias is missing: add bias.view(1, C_out, 1, 1) to every position"] = \
            F.conv2d(x, weight, None, **settings)
    for text, value in wrong.items():
        if _same(got, value):
            return text
    return None


@torch.no_grad()
def max_pool2d_mistake(got, x, kernel_size, stride=None, padding=0):
    """If ``got`` is what a known wrong max pooling gives, say which; else None."""
    wrong = {}
    if stride is None:
        wrong["stride 1 was used: pooling's stride defaults to kernel_size"] = \
            F.max_pool2d(x, kernel_size, 1, padding)
    if padding:
        zero_padded = F.pad(x, (padding,) * 4)
        wrong["the padding holds zeros: pad with -inf so that it never wins the max"] = \
            F.max_pool2d(zero_padded, kernel_size, stride)
    wrong["the average was taken, not the maximum"] = \
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
        "the values were not divided by 255": F.avg_pool2d(chw.float(), factor),
        "the average was taken on integers, which rounds it down: convert to float first":
            F.avg_pool2d(chw.long(), factor).float() / 255,
        "reshape/view re-reads the numbers in a new order: (H, W, C) -> (C, H, W) needs "
        "permute(2, 0, 1)": F.avg_pool2d(image.reshape(c, h, w).float() / 255, factor),
        "the maximum was taken, not the average": F.max_pool2d(chw.float() / 255, factor),
    }
    for text, value in wrong.items():
        if _same(got, value):
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
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return int(layer(x).shape[-1])


