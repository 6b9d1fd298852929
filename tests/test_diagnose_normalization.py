"""Chapter 5's predict-first checks: right answers pass in any spelling, wrong ones fail
with the rule (and the mistake when it is recognised), never with the right number."""
import pytest
import torch

from nncourse.checks import CheckFailure
from nncourse.diagnose_normalization import (batch_with_channel_means,
                                             check_predicted_bn_counts,
                                             check_predicted_eval_output,
                                             check_predicted_running_mean)


def _fails(fn, *args, **kwargs):
    with pytest.raises(CheckFailure) as err:
        fn(*args, **kwargs)
    return str(err.value)


def test_batch_with_channel_means_has_those_means():
    X = batch_with_channel_means((2.0, -4.0, 10.0), shape=(3, 2, 5), seed=7)
    assert X.shape == (3, 3, 2, 5)
    assert torch.allclose(X.mean(dim=(0, 2, 3)), torch.tensor([2.0, -4.0, 10.0]), atol=1e-5)


def test_bn_counts_right_and_recognised_mistakes():
    check_predicted_bn_counts(32, 33, 16, quiet=True)
    check_predicted_bn_counts(10, 11, 5, quiet=True)
    text = _fails(check_predicted_bn_counts, 64, 33, 16)
    assert "running statistics as parameters" in text and "32" not in text
    text = _fails(check_predicted_bn_counts, 32, 32, 16)
    assert "num_batches_tracked is a buffer too" in text and "33" not in text
    text = _fails(check_predicted_bn_counts, 32, 3, 16)
    assert "buffer tensors" in text and "33" not in text
    text = _fails(check_predicted_bn_counts, 32, 50, 16)     # unrecognised: the rule only
    assert "Hint: the buffers of BatchNorm2d(C)" in text and "33" not in text
    assert "should be an int" in _fails(check_predicted_bn_counts, 32.0, 33, 16)


def test_running_mean_right_in_any_spelling_and_recognised_mistakes():
    means = (2.0, -4.0, 10.0)
    for right in ([0.2, -0.4, 1.0], (0.2, -0.4, 1), [0.1 * m for m in means]):
        check_predicted_running_mean(right, means, quiet=True)
    check_predicted_running_mean([0.6, 1.5], (2.0, 5.0), momentum=0.3, quiet=True)
    text = _fails(check_predicted_running_mean, [2.0, -4.0, 10.0], means)
    assert "replaced by the batch mean" in text and "0.2" not in text
    text = _fails(check_predicted_running_mean, [1.8, -3.6, 9.0], means)
    assert "weight of the new batch" in text and "0.2" not in text
    assert "does update" in _fails(check_predicted_running_mean, [0, 0, 0], means)
    text = _fails(check_predicted_running_mean, [0.2, 0.4, 1.0], means)
    assert "channel 1 is not right" in text and "-0.4" not in text
    assert "list of 3 numbers" in _fails(check_predicted_running_mean, torch.zeros(3), means)
    assert "list of 3 numbers" in _fails(check_predicted_running_mean, [0.2, -0.4], means)


def test_eval_output_right_and_recognised_mistakes():
    values = (1.0, 4.0, 7.0)
    for right in (7.0, 7, 6.99997):
        check_predicted_eval_output(right, values, 2, quiet=True)
    text = _fails(check_predicted_eval_output, 1.2247, values, 2)
    assert "training mode" in text and "7.0" not in text and "6.99" not in text
    assert "training mode" in _fails(check_predicted_eval_output, 1.0, values, 2)
    assert "subtracts running_mean" in _fails(check_predicted_eval_output, 0.0, values, 2)
    text = _fails(check_predicted_eval_output, 3.5, values, 2)    # unrecognised
    assert "Hint: in eval mode batch norm computes" in text
    assert "should be a number" in _fails(check_predicted_eval_output, "7", values, 2)
