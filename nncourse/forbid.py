"""``forbidden``: an exercise that asks for a formula must not call the library for it.

In the notebook the named functions are swapped for ones that fail while the block runs.
When the grader's judge runs the test, the student's code runs in another process: the
judge sets ``REMOTE_BLOCKS`` and the calls it sends there carry the names, and the
student's kernel blocks them during those calls. The student's own kernel can undo this,
so a call it catches is a finding, not a proof: the grader flags it for a human.
"""
import contextlib
import functools

import torch

from nncourse.checks import CheckFailure
from nncourse.messages import say

REMOTE_BLOCKS = None  # the judge's list of (names, message) for the blocks open now


def refusal(path, reason=None, shown=None, message=None):
    """The message for a call of the forbidden ``path``, in the current language.

    ``reason`` defaults to "this exercise asks you to compute it yourself", ``message`` to
    "{name} is not allowed here: {reason}". A ``message`` of its own is a function of
    ``name`` and ``reason`` (a ``lambda name, reason: say(...)``), or a template with those
    two fields, already in the student's language.
    """
    name = (shown or {}).get(path, path)
    if reason is None:
        reason = say("this exercise asks you to compute it yourself")
    if message is None:
        return say("{name} is not allowed here: {reason}", name=name, reason=reason)
    if callable(message):
        return message(name=name, reason=reason)
    return message.format(name=name, reason=reason)


@contextlib.contextmanager
def forbidden(*names, reason=None, shown=None, message=None):
    """Inside the block, calling any of ``names`` (dotted paths from ``torch``, such as
    ``"torch.softmax"``, ``"torch.Tensor.backward"`` or ``"torch._C._nn.mse_loss"``) fails
    with ``message`` naming it (as ``shown`` spells it, if given); they are put back
    afterwards, whatever happens. ``reason`` and ``message`` are those of ``refusal``."""
    if REMOTE_BLOCKS is not None:
        REMOTE_BLOCKS.append((names, {n: refusal(n, reason, shown, message) for n in names}))
        try:
            yield
        finally:
            REMOTE_BLOCKS.pop()
        return
    saved = []

    def blocker(path):
        def blocked(*args, **kwargs):
            raise CheckFailure(refusal(path, reason, shown, message))
        return blocked

    try:
        for path in names:
            parts = path.split(".")
            owner = functools.reduce(getattr, parts[1:-1], torch)
            saved.append((owner, parts[-1], owner.__dict__.get(parts[-1], None)))
            setattr(owner, parts[-1], blocker(path))
        yield
    finally:
        for owner, attr, own in reversed(saved):
            if own is None:
                delattr(owner, attr)  # it was inherited: remove the shadowing blocker
            else:
                setattr(owner, attr, own)
