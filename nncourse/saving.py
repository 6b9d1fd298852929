"""Helpers for chapter 11 (saving and loading).

``save_as_if_on`` writes a file exactly like ``torch.save`` but records every tensor as if it
had lived on another device, for example ``"cuda:0"``: what a checkpoint written on a GPU
machine looks like. Loading it on a machine without that device fails unless
``map_location`` says where the tensors should go, which is the mistake the lesson and the
exercises show without needing a GPU.
"""
import torch

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
