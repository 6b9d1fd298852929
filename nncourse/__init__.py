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
from nncourse.checks import (
    CheckFailure,
    check_close,
    check_dtype,
    check_equal,
    check_shape,
    check_true,
    conv_out_size,
    conv_transpose_out_size,
    count_params,
    pool_out_size,
)
from nncourse.device import pick_device
from nncourse.seeding import seed_everything, setup_exercise, setup_lesson

__all__ = [
    "CheckFailure",
    "check_close",
    "check_dtype",
    "check_equal",
    "check_shape",
    "check_true",
    "conv_out_size",
    "conv_transpose_out_size",
    "count_params",
    "pick_device",
    "pool_out_size",
    "seed_everything",
    "setup_exercise",
    "setup_lesson",
]
