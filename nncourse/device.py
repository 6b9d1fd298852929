"""Choosing the device a lesson runs on."""
import os
import sys

import torch

ENV_VAR = "NNCOURSE_DEVICE"


def _available(name):
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    return name == "cpu"


def pick_device(prefer=None):
    """Return the device to compute on: cuda, then mps, then cpu.

    ``NNCOURSE_DEVICE=cpu|cuda|mps`` (or ``prefer``) forces one. A forced device that is
    absent raises at once instead of silently falling back: a GPU test run must not pass
    on the CPU by accident.
    """
    forced = prefer or os.environ.get(ENV_VAR, "").strip().lower()
    if forced:
        kind = forced.split(":")[0]
        if kind not in ("cpu", "cuda", "mps"):
            raise ValueError(f"{ENV_VAR}={forced!r}: expected cpu, cuda or mps")
        if not _available(kind):
            raise RuntimeError(f"{ENV_VAR}={forced!r} was asked for, but no {kind} device "
                               "is available on this machine")
        return torch.device(forced)
    for kind in ("cuda", "mps"):
        if _available(kind):
            return torch.device(kind)
    return torch.device("cpu")


def main():
    """Say which device the notebooks will compute on (``make check-device`` calls this).

    Exits with 1 and says why when ``NNCOURSE_DEVICE`` forces a device that is absent, so
    that ``make test DEVICE=cuda`` stops before the first test instead of after the last.
    """
    try:
        print(f"notebooks compute on: {pick_device()}")
    except (RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
