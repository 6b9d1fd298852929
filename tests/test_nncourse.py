"""Unit tests of the student-side library."""
import hashlib
import pickle

import numpy as np
import pytest
import torch
from torch import nn

import nncourse
from nncourse import checks, data, device, photo, plotting, seeding
from nncourse.checks import CheckFailure


# ---- checks ---------------------------------------------------------------------------

def test_check_shape_names_the_dimension_and_adds_the_hint():
    hint = checks.conv_formula(32, 3, padding=1)
    with pytest.raises(CheckFailure) as err:
        checks.check_shape(torch.zeros(64, 6, 32, 32), (64, 6, 30, 30), "conv(X)",
                           dims="NCHW", hint=hint)
    text = str(err.value)
    assert "expected shape (64, 6, 30, 30), got (64, 6, 32, 32)" in text
    assert "dimension 2 (H) differs (expected 30, got 32)" in text
    assert "floor((32 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 32" in text


def test_check_shape_recognises_swaps_flattening_and_lost_batch():
    with pytest.raises(CheckFailure, match="swapped"):
        checks.check_shape(torch.zeros(5, 3), (3, 5))
    with pytest.raises(CheckFailure, match="same number of elements"):
        checks.check_shape(torch.zeros(6144), (2, 3072))
    with pytest.raises(CheckFailure, match="batch dimension is missing"):
        checks.check_shape(torch.zeros(3, 4), (1, 3, 4))
    with pytest.raises(CheckFailure, match="forget to return"):
        checks.check_shape(None, (1,))


def test_check_shape_passes_quietly_or_with_a_tick(capsys):
    checks.check_shape(torch.zeros(2, 3), (2, 3), "X")
    assert capsys.readouterr().out.startswith("\u2713 X has shape (2, 3)")
    checks.check_shape(torch.zeros(2, 3), torch.Size([2, 3]), quiet=True)
    assert capsys.readouterr().out == ""


def test_check_close_reports_largest_difference_and_tolerance():
    with pytest.raises(CheckFailure) as err:
        checks.check_close(torch.tensor([[1.0, 2.0], [3.0, 4.5]]),
                           torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "loss", atol=1e-3)
    text = str(err.value)
    assert "largest difference 0.5 at index (1, 1)" in text
    assert "tolerance 0.001" in text


def test_check_close_refuses_broadcasting_and_nan():
    with pytest.raises(CheckFailure, match="expected shape"):
        checks.check_close(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(CheckFailure, match="NaN"):
        checks.check_close(torch.tensor([float("nan")]), torch.tensor([0.0]))
    checks.check_close(0.69, torch.tensor(0.69), quiet=True)
    checks.check_close(torch.tensor([1.0]), [1.0 + 1e-7], quiet=True)


def test_check_equal_and_module():
    checks.check_equal(84, 84, quiet=True)
    with pytest.raises(CheckFailure, match="expected 84, got 80"):
        checks.check_equal(80, 84)
    with pytest.raises(CheckFailure, match="first at index"):
        checks.check_equal(torch.tensor([1, 2, 3]), torch.tensor([1, 5, 3]))

    class NoInit(nn.Module):
        def __init__(self):
            pass

    with pytest.raises(CheckFailure, match="super"):
        checks.check_module(NoInit())
    checks.check_module(nn.Linear(2, 2), quiet=True)


@pytest.mark.parametrize("size", [5, 7, 28, 32])
@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    (1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (5, 3, 2, 1), (3, 1, 2, 2)])
def test_formulas_match_torch_layers(size, kernel, stride, padding, dilation):
    x = torch.zeros(1, 1, size, size)
    conv = nn.Conv2d(1, 1, kernel, stride, padding, dilation)
    assert conv(x).shape[-1] == checks.conv_out_size(size, kernel, stride, padding, dilation)
    if padding <= kernel // 2:
        for ceil_mode in (False, True):
            pool = nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil_mode)
            assert pool(x).shape[-1] == checks.pool_out_size(
                size, kernel, stride, padding, dilation, ceil_mode)
    if padding < stride or padding < dilation:
        up = nn.ConvTranspose2d(1, 1, kernel, stride, padding, dilation=dilation)
        assert up(x).shape[-1] == checks.conv_transpose_out_size(
            size, kernel, stride, padding, dilation=dilation)


def test_count_params():
    net = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    net[0].requires_grad_(False)
    assert checks.count_params(net) == 67
    assert checks.count_params(net, trainable_only=True) == 12


# ---- device and seeding ---------------------------------------------------------------

def test_pick_device_defaults_and_forcing(monkeypatch):
    monkeypatch.delenv("NNCOURSE_DEVICE", raising=False)
    assert device.pick_device().type in ("cpu", "cuda", "mps")
    monkeypatch.setenv("NNCOURSE_DEVICE", "cpu")
    assert device.pick_device() == torch.device("cpu")
    monkeypatch.setenv("NNCOURSE_DEVICE", "tpu")
    with pytest.raises(ValueError):
        device.pick_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the absent-device error")
def test_forcing_an_absent_device_fails_at_once(monkeypatch):
    monkeypatch.setenv("NNCOURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no cuda device"):
        device.pick_device()


def test_seeding_repeats_and_setup_is_deterministic():
    seeding.seed_everything(3)
    a = (torch.rand(3), np.random.rand(2))
    seeding.seed_everything(3)
    b = (torch.rand(3), np.random.rand(2))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    nncourse.setup_exercise(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cuda.matmul.allow_tf32
    torch.use_deterministic_algorithms(False)


# ---- data -----------------------------------------------------------------------------

def test_digits_are_embedded_real_data():
    X_train, y_train, X_test, y_test = data.load_digits()
    assert X_train.shape == (1437, 1, 8, 8) and X_test.shape == (360, 1, 8, 8)
    assert X_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    assert set(y_test.tolist()) == set(range(10))


def test_digits_loaders_repeat_and_filter_classes():
    train, test = data.digits_loaders(batch_size=32, classes=range(5, 10))
    X, y = next(iter(train))
    assert X.shape == (32, 1, 8, 8) and set(y.tolist()) <= set(range(5))
    train2, _ = data.digits_loaders(batch_size=32, classes=range(5, 10))
    assert torch.equal(X, next(iter(train2))[0])
    assert data.digits_as_rgb32(X).shape == (32, 3, 32, 32)


def _write_tiny_cifar(root, n=6):
    """Write files in torchvision's CIFAR-10 python format; return their md5 sums."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sums = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": [(k + i) % 10 for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {"label_names": list(data.CIFAR10_CLASSES)}))
    for path in folder.iterdir():
        sums[path.name] = hashlib.md5(path.read_bytes()).hexdigest()
    return sums


def test_cifar10_loading_code_reads_the_real_format(tmp_path, monkeypatch):
    from torchvision import datasets

    sums = _write_tiny_cifar(tmp_path)
    # The real class checks the md5 sums of the real files; point it at the fixture's.
    cls = datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, sums[n]] for n, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[n, sums[n]] for n, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", dict(cls.meta, md5=sums["batches.meta"]))
    assert data.cifar10_available(str(tmp_path))
    train, test = data.cifar10_datasets(root=str(tmp_path))
    assert len(train) == 30 and len(test) == 6
    image, label = train[0]
    assert image.shape == (3, 32, 32) and 0 <= image.min() and image.max() <= 1
    assert train.classes[label] == data.CIFAR10_CLASSES[label]
    train_loader, _ = data.cifar10_loaders(batch_size=4, root=str(tmp_path))
    X, y = next(iter(train_loader))
    assert X.shape == (4, 3, 32, 32) and y.dtype == torch.int64


def test_cifar10_absent_is_reported_without_network(tmp_path):
    assert not data.cifar10_available(str(tmp_path))
    with pytest.raises(RuntimeError, match="not found"):
        data.cifar10_datasets(root=str(tmp_path), download=False)


# ---- photo and plotting ---------------------------------------------------------------

def test_photo_is_a_real_picture():
    image = photo.load_photo(64)
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.1
    assert photo.load_photo(32, grey=True).shape == (1, 32, 32)


def test_plots_draw_without_error():
    plotting.show_feature_maps(torch.rand(1, 6, 8, 8), ncols=3)
    plotting.show_image(torch.rand(3, 8, 8), title="x")
    plotting.plot_curves({"train": [1.0, 0.5], "test": [1.1, 0.7]})
    plotting.plot_functions({"relu": torch.relu, "tanh": torch.tanh})


# ---- models ----------------------------------------------------------------------------

def test_cifar10_layers_are_checked_by_what_they_compute():
    from collections import OrderedDict

    from nncourse.models import check_cifar10_layers, cifar10_net
    check_cifar10_layers(cifar10_net(), quiet=True)
    net = cifar10_net()
    net.conv2 = nn.Conv2d(32, 32, (5, 5), padding="same")     # another spelling: fine
    net.pool3 = nn.MaxPool2d((2, 2), stride=2)
    check_cifar10_layers(net, quiet=True)
    net.pool1 = nn.AvgPool2d(2)                               # same shapes, other values
    with pytest.raises(CheckFailure, match="pool1.*values differ"):
        check_cifar10_layers(net)
    net = cifar10_net()
    net.conv1 = nn.Conv2d(3, 32, 5, padding=1)
    with pytest.raises(CheckFailure, match="conv1.*output shape"):
        check_cifar10_layers(net)
    layers = OrderedDict(cifar10_net().named_children())
    layers["conv3"] = nn.Conv2d(32, 64, 3, padding=1)
    with pytest.raises(CheckFailure, match="5x5 kernel"):
        check_cifar10_layers(nn.Sequential(layers))


def test_watch_grad_mode_tells_no_grad_from_detach():
    from nncourse.models import check_no_graph, watch_grad_mode
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())

    def quiet_run(net, x):
        with torch.no_grad():
            return net(x).sum().item()

    seen = watch_grad_mode(quiet_run, net, torch.ones(1, 3))
    check_no_graph(seen, quiet=True)
    assert seen["result"] == quiet_run(net, torch.ones(1, 3))
    seen = watch_grad_mode(lambda net, x: net(x).detach(), net, torch.ones(1, 3))
    with pytest.raises(CheckFailure, match="autograd on"):
        check_no_graph(seen)
    with pytest.raises(CheckFailure, match="never ran"):
        check_no_graph(watch_grad_mode(lambda net: None, net))


def test_check_predicted_keys_any_order_and_never_names_a_missing_key():
    actual = ["scale", "mean", "out.weight", "out.bias"]
    checks.check_predicted_keys({"out.bias", "mean", "scale", "out.weight"}, actual, "keys",
                                "the rule", quiet=True)
    checks.check_predicted_keys(tuple(actual), actual, "keys", "the rule", quiet=True)
    with pytest.raises(CheckFailure) as err:
        checks.check_predicted_keys(["scale", "out.weight", "out.bias"], actual, "keys",
                                    "the rule")
    assert "leaves out" in str(err.value) and "the rule" in str(err.value)
    assert "mean" not in str(err.value) and "1" not in str(err.value)
    with pytest.raises(CheckFailure, match="there is no 'offset'"):
        checks.check_predicted_keys(actual + ["offset"], actual, "keys", "the rule")
    with pytest.raises(CheckFailure, match="twice"):
        checks.check_predicted_keys(actual + ["mean"], actual, "keys", "the rule")
    for wrong_type in ("scale, mean", ["scale", 3], {"scale": 1}):
        with pytest.raises(CheckFailure, match="list or a set of strings"):
            checks.check_predicted_keys(wrong_type, actual, "keys", "the rule")


def test_ch05_figures_label_their_axes_and_panels():
    fig = plotting.plot_channel_histograms(
        {"before": torch.randn(8, 3, 4, 4) * 3, "after": torch.randn(8, 3, 4, 4)},
        bins=10, title="channels")
    assert [ax.get_title() for ax in fig.axes] == ["before", "after"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["value", "value"]
    assert fig.axes[0].get_ylabel() == "count" and fig._suptitle.get_text() == "channels"
    assert len(fig.axes[0].patches) == 3 * 10          # one histogram of 10 bars a channel
    fig = plotting.show_norm_groups(num_samples=4, num_channels=6, num_groups=3)
    assert [ax.get_title() for ax in fig.axes] == [
        "BatchNorm2d(C)", "LayerNorm((C, H, W))", "GroupNorm(3, C)", "InstanceNorm2d(C)"]
    assert all(ax.get_xlabel() == "channel C" and ax.get_ylabel() == "sample N"
               for ax in fig.axes)
    groups = fig.axes[2].images[0].get_array()         # (N, C): 3 groups of 2 channels
    assert groups.shape == (4, 6) and len(np.unique(groups)) == 12
    image = torch.rand(1, 5, 5)
    fig = plotting.show_panels_same_scale({"input": image, "doubled": image * 2}, vmax=2)
    assert [ax.get_title() for ax in fig.axes] == ["input", "doubled"]
    assert all(ax.images[0].get_clim() == (0.0, 2.0) for ax in fig.axes)


def test_show_flatten_order_and_show_batch_flatten_draw_their_panels():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plotting.show_flatten_order(torch.arange(18).reshape(1, 2, 3, 3))
    top = fig.axes[:2]
    assert [ax.get_title() for ax in top] == ["channel c = 0", "channel c = 1"]
    assert all(ax.get_xlabel() == "w" and ax.get_ylabel() == "h" for ax in top)
    row = fig.axes[2]
    assert "18 values = 2 * 3 * 3" in row.get_title()
    labels = [t.get_text() for t in row.get_xticklabels()]
    assert labels[12] == "12\n1,1,0" and labels[-1] == "17\n1,2,2"
    assert [t.get_text() for t in row.texts][:3] == ["0", "1", "2"]
    assert "c, then h, then w" in fig._suptitle.get_text()
    plt.close(fig)
    fig = plotting.show_batch_flatten(torch.rand(3, 1, 4, 4), labels=[7, 1, 2])
    assert len(fig.axes) == 5 and fig.axes[0].get_title() == "sample 0: digit 7"
    assert "(3, 16)" in fig.axes[3].get_title() and "(48,)" in fig.axes[4].get_title()
    plt.close(fig)


def test_plot_loss_shapes_draws_losses_over_their_slopes():
    import matplotlib
    matplotlib.use("Agg")
    import torch.nn.functional as F

    x = torch.linspace(-2, 2, 41)
    panels = [{"title": "regression", "x": x, "var": "e", "xlabel": "error e",
               "losses": {"MSE": lambda e: e ** 2, "L1": lambda e: e.abs()}},
              {"title": "BCE", "x": x, "var": "z", "xlabel": "logit z",
               "losses": {"target 1": lambda z: F.binary_cross_entropy_with_logits(
                   z, torch.ones_like(z), reduction="none")}}]
    fig = plotting.plot_loss_shapes(panels, title="shapes")
    axes = fig.axes
    assert len(axes) == 4
    assert [ax.get_title() for ax in axes] == ["regression", "BCE", "its slope d loss / d e",
                                               "its slope d loss / d z"]
    assert axes[2].get_xlabel() == "error e" and axes[3].get_ylabel() == "d loss / d z"
    assert axes[0].get_ylabel() == "loss" and fig._suptitle.get_text() == "shapes"
    slope_l1 = axes[2].get_lines()[1].get_ydata()          # the L1 slope: -1 then +1
    assert slope_l1[0] == -1 and slope_l1[-1] == 1
    assert len(axes[0].get_lines()) == 2 + 2               # two losses, two zero lines


def test_draw_sequential_shapes_shows_the_dry_run_and_where_it_breaks():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nncourse.models import cifar10_net
    net = cifar10_net()
    fig = plotting.draw_sequential_shapes(net, (2, 3, 32, 32))
    ax, = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert ax.get_title() == "a dry run of (2, 3, 32, 32) through the 9 layers of a Sequential"
    assert "(2, 64, 4, 4)" in texts and "(2, 1024)" in texts and "(2, 10)" in texts
    assert "65,600 params" in texts and "output" in texts
    assert len(ax.patches) == 9                       # one box per direct child
    plt.close(fig)
    net.fc1 = nn.Linear(64 * 8 * 8, 64)               # the forgotten third pool
    fig = plotting.draw_sequential_shapes(net, (2, 3, 32, 32), title="broken")
    ax, = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert ax.get_title() == "broken" and "output" not in texts
    assert "RuntimeError:\ncannot take (2, 1024)" in texts and "(2, 10)" not in texts
    assert ax.patches[7].get_edgecolor()[:3] == matplotlib.colors.to_rgb("tab:red")
    plt.close(fig)


def test_plot_trainable_params_colours_frozen_trainable_and_new_layers():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nncourse.pretrained import small_vgg
    net = small_vgg(num_classes=5)                    # 4 convs, 3 linears: 29,109 params
    net.classifier[6] = nn.Linear(net.classifier[6].in_features, 3)
    net.features.requires_grad_(False)
    fig = plotting.plot_trainable_params(net, new=["classifier.6"], title="surgery")
    ax, ax_total = fig.axes
    assert fig._suptitle.get_text() == "surgery"
    assert ax.get_title() == "per layer" and ax_total.get_title() == "in total"
    assert ax.get_xscale() == "log" and ax_total.get_xscale() == "linear"
    assert "parameters" in ax.get_xlabel() and "parameters" in ax_total.get_xlabel()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "features.0  Conv2d" and labels[-1] == "classifier.6  Linear"
    assert len(ax.patches) == 7                       # one bar per layer with parameters
    frozen, trainable, new = (matplotlib.colors.to_hex(ax.patches[i].get_facecolor())
                              for i in (0, 4, 6))
    assert len({frozen, trainable, new}) == 3 and ax.patches[0].get_hatch() == "//"
    widths = [p.get_width() for p in ax_total.patches]
    assert widths == [sum(p.numel() for p in net.features.parameters()),
                      sum(p.numel() for p in net.classifier[:6].parameters()),
                      64 * 3 + 3]
    plt.close(fig)
