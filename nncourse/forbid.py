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

REASON = "this exercise asks you to compute it yourself"
REMOTE_BLOCKS = None  # the judge's list of (names, message) for the blocks open now


MESSAGE = "{name} is not allowed here: {reason}"


def refusal(path, reason=REASON, shown=None, message=MESSAGE):
    """The message for a call of the forbidden ``path``."""
    return message.format(name=(shown or {}).get(path, path), reason=reason)


@contextlib.contextmanager
def forbidden(*names, reason=REASON, shown=None, message=MESSAGE):
    """Inside the block, calling any of ``names`` (dotted paths from ``torch``, such as
    ``"torch.softmax"``, ``"torch.Tensor.backward"`` or ``"torch._C._nn.mse_loss"``) fails
    with ``message`` naming it (as ``shown`` spells it, if given); they are put back
    afterwards, whatever happens."""
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
