"""``watches_student_code``: a check that watches how the student's code runs.

Some checks install hooks (on a model's forward pass, a parameter's gradient, an
optimizer's step) and then run the student's function, to see the order of what it does.
When the grader's judge runs a test, the student's code runs in another process (their
kernel), so these watchers must run there too: the judge sets ``RUN_IN_KERNEL``, and a
decorated function then runs in the student's kernel and returns what it saw, as data. The
judge treats that as the student's claim about their own code; values that decide a
verdict (losses, weights, outputs) are still computed by the judge.
"""
import functools

RUN_IN_KERNEL = None  # the judge's function (module, qualname) -> that function there


def watches_student_code(fn):
    """Run ``fn`` beside the student's code: here in the notebook, in the student's kernel
    when the judge runs the test."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if RUN_IN_KERNEL is None:
            return fn(*args, **kwargs)
        return RUN_IN_KERNEL(fn.__module__, fn.__qualname__)(*args, **kwargs)
    return call
