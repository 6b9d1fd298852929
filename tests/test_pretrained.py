"""nncourse.pretrained: weights from the torch hub cache (never the network), the small VGG."""
import os

import pytest
import torch
from torchvision.models import (SqueezeNet1_1_Weights, VGG16_Weights, squeezenet1_1,
                                vgg16)

from nncourse.pretrained import (cached_weights_path, load_pretrained,
                                 pretrained_digits_vgg, small_vgg)


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """A torch hub cache of our own, and a network that fails the test if it is touched."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_download(*args, **kwargs):
        raise AssertionError("load_pretrained tried to download weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path


def test_cache_path_follows_torch_home(empty_torch_home):
    path = cached_weights_path(VGG16_Weights.IMAGENET1K_V1)
    assert path == os.path.join(empty_torch_home, "hub", "checkpoints", "vgg16-397923af.pth")


def test_cached_weights_are_loaded(empty_torch_home, capsys):
    weights = SqueezeNet1_1_Weights.IMAGENET1K_V1
    torch.manual_seed(1)
    reference = squeezenet1_1(weights=None)  # stands in for the real ImageNet weights
    path = cached_weights_path(weights)
    os.makedirs(os.path.dirname(path))
    torch.save(reference.state_dict(), path)

    torch.manual_seed(2)  # a random initialisation would differ from the reference
    model, pretrained = load_pretrained(squeezenet1_1, weights)

    assert pretrained is True
    assert "loaded from the torch hub cache" in capsys.readouterr().out
    state = model.state_dict()
    assert state.keys() == reference.state_dict().keys()
    for name, tensor in reference.state_dict().items():
        assert torch.equal(state[name], tensor), name


def test_missing_weights_fall_back_to_random_init(empty_torch_home, capsys):
    with torch.device("meta"):  # VGG16's shapes without its 528 MB
        model, pretrained = load_pretrained(vgg16, VGG16_Weights.IMAGENET1K_V1)
    out = capsys.readouterr().out
    assert pretrained is False
    assert "vgg16-397923af.pth is not in the torch hub cache" in out
    assert "RANDOM initialisation" in out
    assert sum(p.numel() for p in model.parameters()) == 138_357_544


def test_missing_weights_random_init_is_really_random(empty_torch_home):
    torch.manual_seed(0)
    first, _ = load_pretrained(squeezenet1_1, SqueezeNet1_1_Weights.IMAGENET1K_V1,
                               verbose=False)
    second, _ = load_pretrained(squeezenet1_1, SqueezeNet1_1_Weights.IMAGENET1K_V1,
                                verbose=False)
    assert not torch.equal(first.features[0].weight, second.features[0].weight)


def test_small_vgg_is_a_torchvision_vgg_with_real_parameters():
    from torchvision.models import VGG

    net = small_vgg(num_classes=7)
    assert isinstance(net, VGG)
    assert all(p.device.type == "cpu" for p in net.parameters())
    assert net.classifier[6].out_features == 7
    assert net(torch.randn(4, 1, 8, 8)).shape == (4, 7)
    # conv 1->16, 16->16, 16->32, 32->32; linear 128->64, 64->64, 64->7
    convs = (9 * 1 * 16 + 16) + (9 * 16 * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 32 + 32)
    linears = (128 * 64 + 64) + (64 * 64 + 64) + (64 * 7 + 7)
    assert sum(p.numel() for p in net.parameters()) == convs + linears


def test_pretrained_digits_vgg_returns_fresh_copies():
    first = pretrained_digits_vgg(num_epochs=1)
    with torch.no_grad():
        first.classifier[6].weight.zero_()
    second = pretrained_digits_vgg(num_epochs=1)
    assert not torch.equal(second.classifier[6].weight, first.classifier[6].weight)
    assert second.training is False


def test_pretrained_digits_vgg_leaves_the_callers_random_numbers_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    pretrained_digits_vgg(num_epochs=1, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_check_preprocessed_names_the_known_pipelines():
    from torchvision.transforms import functional as TF

    from nncourse.checks import CheckFailure
    from nncourse.pretrained import check_preprocessed

    weights = VGG16_Weights.IMAGENET1K_V1
    image = torch.rand(3, 260, 300, generator=torch.Generator().manual_seed(0))
    check_preprocessed(weights.transforms()(image).unsqueeze(0), image, weights, quiet=True)
    t = weights.transforms()
    squashed = TF.normalize(TF.resize(image, [224, 224], antialias=True), t.mean, t.std)
    cropped = TF.center_crop(TF.resize(image, t.resize_size, antialias=True), t.crop_size)
    for wrong, words in [(squashed, "resized to 224 x 224 directly"),
                         (cropped, "not normalised"),
                         (torch.zeros(3, 224, 224), "values differ")]:
        with pytest.raises(CheckFailure, match=words) as err:
            check_preprocessed(wrong.unsqueeze(0), image, weights, quiet=True)
        if words == "values differ":
            assert "Hint" not in str(err.value)  # no mistake recognised, none named


def _transfer(pretrained, num_classes):
    import copy

    from torch import nn
    model = copy.deepcopy(pretrained)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    model.features.requires_grad_(False)
    return model


def test_check_transfer_says_which_property_fails():
    import copy

    from nncourse.checks import CheckFailure
    from nncourse.pretrained import check_transfer

    pretrained = small_vgg(num_classes=5)
    before = copy.deepcopy(pretrained.state_dict())
    check_transfer(_transfer(pretrained, 3), pretrained, before, 3, quiet=True)

    probe = _transfer(pretrained, 3)
    probe.classifier[0].requires_grad_(False)
    with pytest.raises(CheckFailure, match="only the features are frozen"):
        check_transfer(probe, pretrained, before, 3, quiet=True)
    kept = _transfer(pretrained, 5)
    kept.classifier[6] = copy.deepcopy(pretrained.classifier[6])
    with pytest.raises(CheckFailure, match="fresh head"):
        check_transfer(kept, pretrained, before, 5, quiet=True)
    with pytest.raises(CheckFailure, match="starts from the pretrained weights"):
        check_transfer(_transfer(small_vgg(num_classes=5), 3), pretrained, before, 3,
                       quiet=True)
    shallow = copy.copy(pretrained)
    shallow.classifier[6] = torch.nn.Linear(64, 3)
    with pytest.raises(CheckFailure, match="shallow copy"):
        check_transfer(shallow, pretrained, before, 3, quiet=True)


def test_predicted_params_after_freezing_are_checked_and_mistakes_named():
    from collections import OrderedDict

    from torch import nn

    from nncourse.checks import CheckFailure
    from nncourse.pretrained import check_predicted_params

    net = nn.Sequential(OrderedDict(
        features=nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        flatten=nn.Flatten(),
        classifier=nn.Linear(64, 5)))
    net.features.requires_grad_(False)
    check_predicted_params(1573, net, trainable_only=False, quiet=True)
    check_predicted_params(325, net, trainable_only=True, quiet=True)
    for got, text in ((1573, "frozen ones too"), (320, "biases"), (2, "tensors")):
        with pytest.raises(CheckFailure, match=text) as err:
            check_predicted_params(got, net, trainable_only=True)
        assert "325" not in str(err.value)
    with pytest.raises(CheckFailure, match="an int"):
        check_predicted_params(325.0, net, trainable_only=True)
