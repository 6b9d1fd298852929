"""Models that more than one chapter builds on.

``cifar10_net`` is the small CIFAR-10 classifier of chapter 7 (Sequential). Chapters 10 and 11
reuse it, so it lives here rather than in a notebook. ``check_cifar10_layers`` checks a
model built to that table by what its layers compute; ``watch_grad_mode`` and
``check_no_graph`` tell whether a function ran a model without autograd (chapters 7, 8).
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from nncourse.checks import CheckFailure, fmt_shape, tick
from nncourse.messages import say
from nncourse.watching import watches_student_code


def cifar10_net(num_classes=10):
    """Return the curriculum's CIFAR-10 classifier as a named ``nn.Sequential``.

    Input (N, 3, 32, 32), output (N, num_classes) logits. Three 5x5 convolutions with
    padding 2 keep the height and width; each 2x2 max-pool halves them: 32 -> 16 -> 8 -> 4,
    so the flattened feature vector has 64 * 4 * 4 = 1024 entries. With 10 classes the model
    has 145,578 parameters.
    """
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 32, kernel_size=5, padding=2)),    # (N, 32, 32, 32)
        ("pool1", nn.MaxPool2d(2)),                               # (N, 32, 16, 16)
        ("conv2", nn.Conv2d(32, 32, kernel_size=5, padding=2)),   # (N, 32, 16, 16)
        ("pool2", nn.MaxPool2d(2)),                               # (N, 32, 8, 8)
        ("conv3", nn.Conv2d(32, 64, kernel_size=5, padding=2)),   # (N, 64, 8, 8)
        ("pool3", nn.MaxPool2d(2)),                               # (N, 64, 4, 4)
        ("flatten", nn.Flatten()),                                # (N, 1024)
        ("fc1", nn.Linear(64 * 4 * 4, 64)),                       # (N, 64)
        ("fc2", nn.Linear(64, num_classes)),                      # (N, num_classes)
    ]))


# ----------------------------------------------------------------------------------------
# Checking a model built to the chapter 7 table by what its layers compute, not by how
# their arguments were spelled: `kernel_size=(5, 5)`, `padding="same"` or
# `MaxPool2d(2, stride=2)` build the same layers as the table and must pass.

CIFAR10_NAMES = ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "flatten", "fc1",
                 "fc2")


def _fail(message):
    raise CheckFailure(message)


def _compare(got, want, what):
    """Fail with the shapes, or the largest difference, when ``got`` is not ``want``."""
    if not isinstance(got, torch.Tensor):
        _fail(say("{what}: the layer returned a {kind}, not a tensor", what=what,
                  kind=type(got).__name__))
    if got.shape != want.shape:
        _fail(say("{what}: output shape {got}, expected {want}", what=what,
                  got=fmt_shape(tuple(got.shape)), want=fmt_shape(tuple(want.shape))))
    diff = (got.detach().double() - want.double()).abs()
    if diff.max() > 1e-4 + 1e-4 * want.abs().max():
        _fail(say("{what}: the values differ (largest difference {diff:.4g})", what=what,
                  diff=diff.max().item()))


def _check_conv(layer, name, c_in, c_out, x):
    weight = getattr(layer, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        _fail(say("{name} should be a 2-d convolution (a weight of shape "
                  "(out, in, kH, kW)), got {kind}", name=name,
                  kind=type(layer).__name__))
    if tuple(weight.shape) != (c_out, c_in, 5, 5):
        _fail(say("{name}.weight has shape {got}; the table asks for {c_in} input "
                  "channels, {c_out} output channels and a 5x5 kernel: {want}",
                  name=name, got=fmt_shape(tuple(weight.shape)), c_in=c_in, c_out=c_out,
                  want=fmt_shape((c_out, c_in, 5, 5))))
    bias = getattr(layer, "bias", None)
    if bias is None:
        _fail(say("{name} has no bias; Conv2d has one unless bias=False is asked for",
                  name=name))
    want = F.conv2d(x, weight.detach(), bias.detach(), padding=2)
    with torch.no_grad():
        got = layer(x)
    _compare(got, want, say("{name} on an input of shape {shape} (a 5x5 convolution "
                            "with padding 2 keeps the height and the width)", name=name,
                            shape=fmt_shape(tuple(x.shape))))
    return want


def _check_pool(layer, name, x):
    want = F.max_pool2d(x, 2)
    with torch.no_grad():
        got = layer(x)
    _compare(got, want, say("{name} on an input of shape {shape} (a 2x2 max-pool halves "
                            "the height and the width, rounding down)", name=name,
                            shape=fmt_shape(tuple(x.shape))))
    return want


def _check_linear(layer, name, n_in, n_out, x):
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        _fail(say("{name} should be a Linear layer, got {kind}", name=name,
                  kind=type(layer).__name__))
    if tuple(weight.shape) != (n_out, n_in):
        _fail(say("{name}.weight has shape {got}, expected {want}: {n_in} input "
                  "features, {n_out} outputs", name=name,
                  got=fmt_shape(tuple(weight.shape)), want=fmt_shape((n_out, n_in)),
                  n_in=n_in, n_out=n_out))
    if bias is None:
        _fail(say("{name} has no bias; Linear has one unless bias=False is asked for",
                  name=name))
    want = F.linear(x, weight.detach(), bias.detach())
    with torch.no_grad():
        got = layer(x)
    _compare(got, want, name)
    return want


def check_cifar10_layers(net, channels=(32, 32, 64), hidden=64, num_classes=10,
                         name="make_net()", quiet=False):
    """Every layer of a model built to the chapter 7 table computes what the table says.

    Each layer is run on its own on an input of odd height and width (7x9), where a
    wrong padding, stride or pooling shows, and compared with the functional version
    computed here from the layer's own weights. Then the whole model is run on a
    CIFAR-10 sized batch and compared with the same functional chain. Assumes that the
    names are right (check them first).
    """
    c1, c2, c3 = channels
    g = torch.Generator().manual_seed(7)
    for conv, c_in, c_out in [("conv1", 3, c1), ("conv2", c1, c2), ("conv3", c2, c3)]:
        _check_conv(net.get_submodule(conv), f"{name}.{conv}", c_in, c_out,
                    torch.randn(2, c_in, 7, 9, generator=g))
    for pool, c in [("pool1", c1), ("pool2", c2), ("pool3", c3)]:
        _check_pool(net.get_submodule(pool), f"{name}.{pool}",
                    torch.randn(2, c, 7, 9, generator=g))
    x = torch.randn(2, c3, 4, 4, generator=g)
    with torch.no_grad():
        got = net.get_submodule("flatten")(x)
    _compare(got, x.flatten(1), say("{name}.flatten on an input of shape (2, {c}, 4, 4)",
                                    name=name, c=c3))
    _check_linear(net.get_submodule("fc1"), f"{name}.fc1", c3 * 16, hidden,
                  torch.randn(2, c3 * 16, generator=g))
    _check_linear(net.get_submodule("fc2"), f"{name}.fc2", hidden, num_classes,
                  torch.randn(2, hidden, generator=g))
    X = torch.randn(3, 3, 32, 32, generator=g)
    want = X
    for layer in CIFAR10_NAMES:
        module = net.get_submodule(layer)
        if layer.startswith("conv"):
            want = F.conv2d(want, module.weight.detach(), module.bias.detach(), padding=2)
        elif layer.startswith("pool"):
            want = F.max_pool2d(want, 2)
        elif layer == "flatten":
            want = want.flatten(1)
        else:
            want = F.linear(want, module.weight.detach(), module.bias.detach())
    with torch.no_grad():
        got = net(X)
    _compare(got, want, say("{name} on a batch of shape (3, 3, 32, 32)", name=name))
    tick(say("{name}: every layer computes what the table says", name=name), quiet)


# ----------------------------------------------------------------------------------------
# Watching the grad mode in which a model runs


@watches_student_code
def watch_grad_mode(fn, net, *args):
    """Run ``fn(net, *args)`` and record ``torch.is_grad_enabled()`` at every forward
    pass of ``net`` and of each of its submodules; return what was seen, as data (beside
    the student's code: see ``nncourse.watching``).

    A model called under ``torch.no_grad()`` (or ``inference_mode``) records False; one
    whose output is only detached afterwards records True: it built the graph.
    """
    seen = []

    def before_forward(module, inputs):
        seen.append(torch.is_grad_enabled())

    handles = [m.register_forward_pre_hook(before_forward) for m in net.modules()]
    try:
        result = fn(net, *args)
    finally:
        for handle in handles:
            handle.remove()
    return {"result": result, "grad_modes": seen}


def check_no_graph(seen, name=None, quiet=False):
    """``seen`` from ``watch_grad_mode``: the model ran, and never with autograd on.
    ``name`` defaults to "the function"."""
    name = say("the function") if name is None else name
    if not seen["grad_modes"]:
        _fail(say("{name} never ran the model", name=name))
    if any(seen["grad_modes"]):
        _fail(say("{name} ran the model with autograd on, so its layers recorded an "
                  "autograd graph; run the model inside torch.no_grad()", name=name))
    tick(say("{name} runs the model without building an autograd graph", name=name),
         quiet)
