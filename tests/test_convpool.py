"""nncourse.convpool and the pooling/transposed formulas of nncourse.checks."""
import itertools

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nncourse.checks import (
    CheckFailure,
    conv_transpose_formula,
    conv_transpose_out_size,
    pool_formula,
    pool_out_size,
)
from nncourse.convpool import (
    check_layer_output,
    check_size,
    conv2d_mistake,
    downsample_mistake,
    explain_size,
    forbidden,
    layer_formula,
    max_pool2d_mistake,
    measured_size,
)
from nncourse.windows import show_windows, window_starts


def _result(formula):
    return int(formula.rsplit("=", 1)[1])


def test_pool_formula_matches_max_pool1d():
    for size, k, s, p, ceil_mode in itertools.product(range(1, 12), range(1, 4),
                                                      [None, 1, 2, 3], range(2),
                                                      [False, True]):
        if p > k // 2 or pool_out_size(size, k, s, p, ceil_mode=ceil_mode) < 1:
            continue
        real = measured_size("pool", size, k, s, p, ceil_mode=ceil_mode)
        assert pool_out_size(size, k, s, p, ceil_mode=ceil_mode) == real
        assert _result(pool_formula(size, k, s, p, ceil_mode=ceil_mode)) == real


def test_transpose_formula_matches_layer():
    for size, k, s, p in itertools.product([1, 4, 7], [1, 3], [1, 2], [0, 1]):
        if conv_transpose_out_size(size, k, s, p) < 1:
            continue
        real = measured_size("transpose", size, k, s, p)
        assert _result(conv_transpose_formula(size, k, s, p)) == real


@pytest.mark.parametrize("layer", [
    nn.Conv2d(1, 1, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    nn.Conv2d(1, 1, 3, padding="same", dilation=2),
    nn.Conv2d(1, 1, 3, padding="valid"),
    nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1),
    nn.MaxPool2d((2, 3), ceil_mode=True),
    nn.AvgPool2d(3, stride=2, padding=1),
    nn.AdaptiveAvgPool2d((4, None)),
])
def test_layer_formula_matches_the_layer(layer):
    out = layer(torch.zeros(1, 1, 11, 9))
    for axis, size in enumerate((11, 9)):
        formula = layer_formula(layer, size, axis)
        assert int(formula.rsplit(" ", 1)[1]) == out.shape[2 + axis], formula


def test_check_layer_output_names_dimension_and_formula():
    conv = nn.Conv2d(3, 6, 3)
    with pytest.raises(CheckFailure) as err:
        check_layer_output((64, 6, 32, 30), (64, 6, 30, 30), conv, (64, 3, 32, 32))
    assert "dimension 2 (H)" in str(err.value)
    assert "floor((32 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 30" in str(err.value)
    check_layer_output(conv(torch.zeros(1, 3, 8, 8)), (1, 6, 6, 6), conv, (1, 3, 8, 8),
                       quiet=True)


@pytest.mark.parametrize("got, kind, numbers, mistake", [
    (25, "conv", dict(size=28, kernel_size=3), "+ 1"),
    (30, "conv", dict(size=32, kernel_size=3, dilation=2), "dilation"),
    (9, "conv", dict(size=28, kernel_size=3, stride=3, padding=1), "padding once"),
    (3, "pool", dict(size=5, kernel_size=3), "stride 1"),
    (1, "pool", dict(size=5, kernel_size=3, ceil_mode=True), "ignore ceil_mode"),
    (4, "pool", dict(size=5, kernel_size=2, stride=2, padding=1, ceil_mode=True),
     "beyond the input"),
    (111, "transpose", dict(size=56, kernel_size=3, stride=2, padding=1, output_padding=1),
     "output_padding"),
])
def test_explain_size_recognises_mistakes(got, kind, numbers, mistake):
    assert mistake in explain_size(got, kind, **numbers)
    with pytest.raises(CheckFailure):
        check_size(got, measured_size(kind, **numbers), kind, **numbers)


def test_check_size_wants_an_int():
    with pytest.raises(CheckFailure, match="should be an int"):
        check_size(26.0, 26, "conv", 28, 3)
    check_size(26, 26, "conv", 28, 3, quiet=True)


def test_forbidden_refuses_and_restores():
    original = F.conv2d
    with pytest.raises(CheckFailure, match="not allowed"):
        with forbidden("torch.nn.functional.conv2d"):
            nn.Conv2d(1, 1, 1)(torch.zeros(1, 1, 2, 2))
    assert F.conv2d is original


def test_value_mistakes_are_named():
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(1, 2, 6, 6, generator=g), torch.randn(3, 2, 3, 3, generator=g),
               torch.randn(3, generator=g))
    assert "flipped" in conv2d_mistake(F.conv2d(x, w.flip(-2, -1), b), x, w, b)
    assert "bias" in conv2d_mistake(F.conv2d(x, w), x, w, b)
    assert conv2d_mistake(F.conv2d(x, w, b) + 1, x, w, b) is None
    neg = -torch.rand(1, 1, 7, 7, generator=g) - 0.1
    zero_padded = F.max_pool2d(F.pad(neg, (1, 1, 1, 1)), 3, 2)
    assert "-inf" in max_pool2d_mistake(zero_padded, neg, 3, 2, 1)
    image = torch.randint(0, 256, (8, 6, 3), generator=g).to(torch.uint8)
    unscaled = F.avg_pool2d(image.permute(2, 0, 1).float(), 2)
    assert "255" in downsample_mistake(unscaled, image, 2)


def test_window_diagram_draws_every_output():
    assert window_starts(7, 3, stride=2) == [0, 2, 4]
    assert window_starts(5, 2, stride=2, padding=1, ceil_mode=True) == [-1, 1, 3]
    show_windows([dict(kernel_size=3, dilation=2), dict(kernel_size=3, stride=3,
                                                        ceil_mode=True)], size=5)
    plt.close("all")


def _conv_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def test_size_function_mistake_names_only_what_the_function_does_everywhere():
    from nncourse.convpool import size_function_mistake
    assert size_function_mistake(_conv_size, "conv") is None
    no_plus_one = lambda size, kernel_size, stride=1, padding=0, dilation=1: (  # noqa: E731
        _conv_size(size, kernel_size, stride, padding, dilation) - 1)
    assert "+ 1" in size_function_mistake(no_plus_one, "conv")
    # d*K instead of d*(K-1) + 1 agrees with "leave out the + 1" only when d = s = 1
    d_times_k = lambda size, kernel_size, stride=1, padding=0, dilation=1: (  # noqa: E731
        (size + 2 * padding - dilation * kernel_size) // stride + 1)
    assert size_function_mistake(d_times_k, "conv") is None
    with pytest.raises(CheckFailure) as err:
        check_size(25, 28, "conv", 30, 3, dilation=1, fn=d_times_k, hidden=True)
    assert "30" not in str(err.value) and "Hint" not in str(err.value)


def test_num_params_mistake_and_edge_mistake():
    from nncourse.convpool import edge_mistake, num_params_mistake

    def right(c_in, c_out, k, groups=1, bias=True):
        kh, kw = (k, k) if isinstance(k, int) else k
        return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)

    assert num_params_mistake(right) is None
    assert "groups" in num_params_mistake(lambda c_in, c_out, k, g=1, b=True:
                                          right(c_in, c_out, k, 1, b))
    sobel = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])
    kernels = torch.stack([sobel, sobel.T]).unsqueeze(1)
    images = torch.rand(2, 1, 7, 7)
    assert edge_mistake(F.conv2d(images, kernels, padding=1), images, kernels) is None
    assert "flipped" in edge_mistake(F.conv2d(images, -kernels, padding=1), images, kernels)
    assert "channels" in edge_mistake(F.conv2d(images, kernels.flip(0), padding=1), images,
                                      kernels)


def test_adaptive_avg_pool1d_mistake():
    from nncourse.convpool import adaptive_avg_pool1d_mistake
    x = torch.randn(2, 3, 10)
    assert adaptive_avg_pool1d_mistake(F.adaptive_avg_pool1d(x, 3), x, 3) is None
    down = torch.stack([x[..., i * 10 // 3:(i + 1) * 10 // 3].mean(-1) for i in range(3)], -1)
    assert "rounded down" in adaptive_avg_pool1d_mistake(down, x, 3)


# ---- issue 12: predict-first checks, the edge-map fix, the new figures -----------------
from nncourse.convpool import (  # noqa: E402
    check_predicted_count,
    check_predicted_shape,
    edge_maps_mistake,
    predicted_stack_shape,
)

STACK = nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.Conv2d(16, 32, 3, stride=2),
                      nn.Conv2d(32, 8, 3, padding=1, dilation=2))


def _fails(check, *args, words=(), **kwargs):
    with pytest.raises(CheckFailure) as err:
        check(*args, **kwargs)
    for word in words:
        assert word in str(err.value), str(err.value)
    return str(err.value)


def test_predicted_stack_shape_follows_real_layers():
    pools = nn.Sequential(nn.MaxPool2d(3, ceil_mode=True), nn.AvgPool2d(2, stride=1),
                          nn.AdaptiveAvgPool2d((2, None)))
    for layers, shape in [(STACK, (8, 3, 32, 24)), (pools, (4, 6, 17, 12)),
                          (nn.Sequential(nn.Conv2d(2, 3, 3, padding="same")), (1, 2, 5, 7))]:
        with torch.no_grad():
            assert predicted_stack_shape(layers, shape) == tuple(layers(torch.zeros(shape)).shape)


def test_check_predicted_shape_never_shows_the_answer(capsys):
    check_predicted_shape((8, 8, 13, 9), STACK, (8, 3, 32, 24))
    assert "right" in capsys.readouterr().out
    message = _fails(check_predicted_shape, (8, 8, 15, 11), STACK, (8, 3, 32, 24),
                     words=("too large", "dilation"))
    assert "13" not in message and "(8, 8, 13, 9)" not in message
    _fails(check_predicted_shape, (8, 8, 9, 13), STACK, (8, 3, 32, 24), words=("swapped",))
    _fails(check_predicted_shape, (8, 32, 13, 9), STACK, (8, 3, 32, 24),
           words=("dimension 1 (C)",))
    _fails(check_predicted_shape, (8, 8, 13.0, 9), STACK, (8, 3, 32, 24), words=("ints",))
    _fails(check_predicted_shape, "8, 8, 13, 9", STACK, (8, 3, 32, 24), words=("tuple",))
    pools = nn.Sequential(nn.MaxPool2d(3, ceil_mode=True), nn.AvgPool2d(2, stride=1))
    _fails(check_predicted_shape, (4, 6, 4, 3), pools, (4, 6, 17, 12),
           words=("ceil_mode=True rounds",))
    _fails(check_predicted_shape, (4, 6, 14, 9), pools, (4, 6, 17, 12),
           words=("defaults to its kernel_size, not to 1",))


def test_check_predicted_count(capsys):
    check_predicted_count(8168, STACK)
    assert "8168" not in _fails(check_predicted_count, 8112, STACK, words=("biases",))
    _fails(check_predicted_count, 816, STACK, words=("one kernel per input channel",))
    _fails(check_predicted_count, 9000, STACK, words=("too large",))
    _fails(check_predicted_count, 8168.0, STACK, words=("int",))


def test_edge_maps_mistake():
    images = torch.randint(0, 256, (3, 6, 7), dtype=torch.uint8)
    kernel = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None]
    right = F.conv2d(images[:, None].float() / 255, kernel, padding=1)
    assert edge_maps_mistake(right, images, kernel) is None
    assert "255" in edge_maps_mistake(right * 255, images, kernel)
    assert "in_channels=1" in edge_maps_mistake(right * 3, images, kernel)
    assert edge_maps_mistake(right + 1, images, kernel) is None


def test_new_figures_draw_without_error(monkeypatch):
    from nncourse import plotting

    monkeypatch.setattr(plt, "show", lambda: None)
    plotting.show_multichannel_conv(torch.rand(3, 4, 4), torch.rand(3, 2, 2), bias=0.5)
    plotting.show_module_tree(nn.Sequential(STACK, nn.Sequential(nn.ReLU())))
    texts = [t.get_text() for t in plt.gcf().axes[0].texts]
    assert texts[0].startswith("Sequential") and any("0: Sequential" in t for t in texts)
    plt.close("all")
