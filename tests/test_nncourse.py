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
