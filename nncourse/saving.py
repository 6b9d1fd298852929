"""Helpers for chapter 11 (saving and loading).

``save_as_if_on`` writes a file exactly like ``torch.save`` but records every tensor as if it
had lived on another device, for example ``"cuda:0"``: what a checkpoint written on a GPU
machine looks like. Loading it on a machine without that device fails unless
``map_location`` says where the tensors should go, which is the mistake the lesson and the
exercises show without needing a GPU.
"""
import os

import torch
from torch import nn

from nncourse.messages import say

_pretend_location = None  # the location tag to write; None: torch's own tag


def _pretend_tag(storage):
    """A storage tagger for torch.serialization: None (no opinion) unless pretending."""
    return _pretend_location


def _no_restore(storage, location):
    """Never restores anything itself: loading goes through torch's own deserializers."""
    return None


def _register():
    registry = torch.serialization._package_registry
    if not any(tagger is _pretend_tag for _, tagger, _ in registry):
        # Priority 0 runs before torch's own taggers (cpu is 10, cuda 20).
        torch.serialization.register_package(0, _pretend_tag, _no_restore)


def save_as_if_on(obj, path, device="cuda:0"):
    """``torch.save(obj, path)``, with every tensor recorded as stored on ``device``.

    The values are written unchanged; only the location tag that ``torch.load`` reads to
    decide where to put each tensor says ``device`` (without ``map_location``, loading on a
    machine that lacks the device raises a RuntimeError).
    """
    global _pretend_location
    _register()
    _pretend_location = str(torch.device(device))
    try:
        torch.save(obj, path)
    finally:
        _pretend_location = None


# ----------------------------------------------------------------------------------------
# Checks for chapter 11's exercises: what the file holds, and what a resume left out


def load_weights_only(path, what=None):
    """``torch.load(path, weights_only=True)``, or a ``CheckFailure`` that says why the
    file does not load that way (the usual cause: a pickled object, not tensors).
    ``what`` names the file in the message (default: "the file")."""
    from nncourse.checks import CheckFailure, with_hint

    what = say("the file") if what is None else what
    if not os.path.exists(path):
        raise CheckFailure(say("{what} was not written: no file at the path given",
                               what=what))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, or others for other files
        text = str(err)
        why = None
        if "torch.nn.modules" in text:
            why = say("the file holds a module object (a whole model is pickled with "
                      "its class), which weights_only=True refuses to unpickle: save "
                      "tensors, by name, instead")
        elif "Unsupported global" in text:
            why = say("the file holds Python objects that weights_only=True refuses to "
                      "unpickle: save tensors, numbers and plain containers only")
        raise CheckFailure(with_hint(
            say("torch.load(path, weights_only=True) failed on {what} ({kind})",
                what=what, kind=type(err).__name__), why)) from None


def check_state_file(path, net, name="save_state", quiet=False):
    """The file at ``path`` must hold ``net``'s state: every parameter and buffer by its
    name, equal to the model's, loadable with ``weights_only=True``. Returns what it
    holds."""
    from nncourse.checks import CheckFailure, tick, with_hint

    saved = load_weights_only(path, say("the file {name} wrote", name=name))
    if not isinstance(saved, dict):
        kind = type(saved).__name__
        if isinstance(saved, (list, tuple)):
            raise CheckFailure(say("the file holds a {kind}, not a dictionary from "
                                   "names to tensors: without names the tensors cannot "
                                   "be matched to the model's layers", kind=kind))
        raise CheckFailure(say("the file holds a {kind}, not a dictionary from names to "
                               "tensors", kind=kind))
    state = net.state_dict()
    missing = [k for k in state if k not in saved]
    extra = [k for k in saved if k not in state]
    if missing:
        buffers = dict(net.named_buffers())
        why = (say("these are buffers (batch norm's running statistics and counter): a "
                   "model's state holds them as well as its parameters")
               if all(k in buffers for k in missing) else None)
        raise CheckFailure(with_hint(
            say("the file lacks {n} of the model's {total} entries: {names}",
                n=len(missing), total=len(state), names=", ".join(missing)), why))
    if extra:
        raise CheckFailure(say("the file holds names the model does not have: {names}",
                               names=", ".join(map(str, extra))))
    for key, tensor in state.items():
        value = saved[key]
        if not isinstance(value, torch.Tensor) or value.shape != tensor.shape or \
                not torch.equal(value, tensor):
            raise CheckFailure(say("the saved {key} differs from the model's", key=key))
    tick(say("{n} entries saved by name, loadable with weights_only=True", n=len(state)),
         quiet)
    return saved


def same_state(a, b):
    """True when two state dicts (nested dicts, lists, tensors, numbers) are equal."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.shape == b.shape and torch.equal(a.cpu(), b.cpu()))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    return a == b


def not_restored(saved, model, optimizer, loader):
    """What a resume left unlike the stopped run: ``saved`` holds the stopped run's
    ``model`` and ``optimizer`` state dicts and its ``torch_rng`` and ``loader_rng``
    states, taken by the test; returns the names of the parts that differ now."""
    parts = []
    if not same_state(model.state_dict(), saved["model"]):
        parts.append(say("the model's weights"))
    if not same_state(optimizer.state_dict(), saved["optimizer"]):
        parts.append(say("the optimizer's state (its momentum or moment estimates)"))
    if not torch.equal(torch.get_rng_state(), saved["torch_rng"]):
        parts.append(say("torch's global random generator (it draws the dropout masks)"))
    if not torch.equal(loader.generator.get_state(), saved["loader_rng"]):
        parts.append(say("the loader's generator (it draws the shuffling order)"))
    return parts


# ----------------------------------------------------------------------------------------
# Predict first: how many entries a state dict holds, written down before running anything.

def state_rule():
    """What a model's and an optimizer's state dicts hold (the hint of a wrong
    prediction)."""
    return say("model.state_dict() holds every parameter and every buffer, by name "
               "(batch norm registers running_mean, running_var and num_batches_tracked "
               "as buffers); optimizer.state_dict()['state'] holds one entry per "
               "parameter for which the optimizer keeps something between steps (a "
               "momentum buffer, Adam's running averages)")


def _count_hint(got, expected, known, name):
    from nncourse.checks import check_true

    check_true(isinstance(got, int) and not isinstance(got, bool),
               say("{name} should be an int, got {kind}", name=name,
                   kind=type(got).__name__), quiet=True)
    if got == expected:
        return None
    rule = state_rule()
    hint = rule if got not in known else known[got] + "\n" + rule
    direction = say("too large") if got > expected else say("too small")
    return say("{name} ({got}) is {direction}", name=name, got=got,
               direction=direction), hint


def check_predicted_state_entries(got, net, name=None, quiet=False):
    """``got`` must be ``len(net.state_dict())``; the message says the direction and the
    rule, never the number. ``name`` defaults to "your predicted number of entries"."""
    from nncourse.checks import check_true

    name = say("your predicted number of entries") if name is None else name
    expected = len(net.state_dict())
    params = len(list(net.parameters()))
    tracked = sum(1 for n, _ in net.named_buffers() if n.endswith("num_batches_tracked"))
    known = {params: say("that counts the parameters only: the buffers are in the state "
                         "too"),
             expected - tracked: say("batch norm keeps a third buffer: "
                                     "num_batches_tracked")}
    known.pop(expected, None)
    failed = _count_hint(got, expected, known, name)
    check_true(failed is None, *(failed or ("",)),
               passed=say("{name} is right", name=name), quiet=quiet)


def check_predicted_optimizer_entries(got, net, make_optimizer, name=None, quiet=False):
    """``got`` must be ``len(optimizer.state_dict()["state"])`` after one step of
    ``make_optimizer(net.parameters())`` on a batch through ``net``. ``name`` defaults
    to "your predicted number of entries"."""
    from nncourse.checks import check_true

    name = say("your predicted number of entries") if name is None else name
    optimizer = make_optimizer(net.parameters())
    inputs = next(m for m in net.modules() if isinstance(m, nn.Linear)).in_features
    net(torch.randn(4, inputs)).sum().backward()
    optimizer.step()
    net.zero_grad()
    expected = len(optimizer.state_dict()["state"])
    known = {len(net.state_dict()): say("the optimizer keeps state for parameters only: "
                                        "buffers are not trained"),
             len(list(net.parameters())): say("without momentum, what would SGD need to "
                                              "remember from one step to the next?")}
    known.pop(expected, None)
    if expected == 0:
        known.pop(0, None)
    failed = _count_hint(got, expected, known, name)
    check_true(failed is None, *(failed or ("",)),
               passed=say("{name} is right", name=name), quiet=quiet)
