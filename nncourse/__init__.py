"""nncourse: the small library that the lessons and exercises of nn-course import.

It keeps shared code in one place so that no notebook copies another:

- ``device``   picks cuda, mps or cpu (``NNCOURSE_DEVICE`` forces one),
- ``seeding``  seeds every generator and switches on deterministic kernels,
- ``data``     the embedded handwritten digits (scikit-learn) and CIFAR-10 (torchvision),
- ``photo``    a real sample photo that ships with matplotlib,
- ``plotting`` feature-map grids and curves,
- ``checks``   the checks that exercise test cells call; failures read like a tutor.
- ``training`` the training loop (``train_epoch``, ``evaluate``, ``accuracy``) that chapter 9
  builds and later chapters import,
- ``diagnose_*`` per-chapter recognisers of known mistakes (``diagnose_linear``,
  ``diagnose_training``, ...).
"""
import importlib

# What ``from nncourse import check_close`` gives, and the module it comes from. Imported
# when first asked for: a tool that only needs ``nncourse.messages`` (the grader's own
# process) does not pay for importing torch.
EXPORTS = {
    "CheckFailure": "nncourse.checks",
    "check_close": "nncourse.checks",
    "check_dtype": "nncourse.checks",
    "check_equal": "nncourse.checks",
    "check_shape": "nncourse.checks",
    "check_true": "nncourse.checks",
    "conv_out_size": "nncourse.checks",
    "conv_transpose_out_size": "nncourse.checks",
    "count_params": "nncourse.checks",
    "pool_out_size": "nncourse.checks",
    "pick_device": "nncourse.device",
    "seed_everything": "nncourse.seeding",
    "setup_exercise": "nncourse.seeding",
    "setup_lesson": "nncourse.seeding",
}

__all__ = sorted(EXPORTS)


def __getattr__(name):
    if name not in EXPORTS:
        raise AttributeError(f"module 'nncourse' has no attribute {name!r}")
    value = getattr(importlib.import_module(EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(EXPORTS))
