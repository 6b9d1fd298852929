"""Pretrained models offline, and the small VGG that chapter 10 pretrains itself.

Weights of torchvision models are downloaded into the torch hub cache,
``torch.hub.get_dir()/checkpoints/<file name of the weights' URL>``, and read from there
afterwards. This course never downloads: ``load_pretrained`` uses the cached file when it
is there and otherwise says plainly that the model keeps its random initialisation.

``small_vgg`` is torchvision's ``VGG`` class cut down to the 8x8 digits, so that transfer
learning can be shown for real in seconds: ``pretrained_digits_vgg`` trains one on the
digits 0-4.
"""
import copy
import functools
import os
from urllib.parse import urlparse

import torch
from torch import nn

from nncourse.messages import say

SMALL_VGG_CFG = (16, 16, "M", 32, 32, "M")


# ----------------------------------------------------------------------------------------
# Pretrained weights from the torch hub cache, never from the network


def cached_weights_path(weights):
    """The file torch.hub keeps ``weights`` in (it may not exist).

    ``weights`` is a member of a torchvision weights enum, e.g.
    ``VGG16_Weights.IMAGENET1K_V1``; the file name is the last part of its URL.
    """
    file_name = os.path.basename(urlparse(weights.url).path)
    return os.path.join(torch.hub.get_dir(), "checkpoints", file_name)


def load_pretrained(builder, weights, verbose=True, **kwargs):
    """Build ``builder(weights=weights)`` from the torch hub cache, or randomly initialised.

    Returns ``(model, pretrained)``, where ``pretrained`` is True only when the weights'
    file was found in the cache and loaded. When it is absent the model is built with
    ``weights=None`` (nothing is downloaded) and, with ``verbose``, a message says so:
    the predictions of such a model mean nothing. ``kwargs`` go to the builder.
    """
    path = cached_weights_path(weights)
    pretrained = os.path.exists(path)
    if pretrained:
        model = builder(weights=weights, progress=False, **kwargs)
        message = say("{weights}: loaded from the torch hub cache ({file})",
                      weights=weights, file=os.path.basename(path))
    else:
        model = builder(weights=None, **kwargs)
        message = say("{weights}: {file} is not in the torch hub cache "
                      "(torch.hub.get_dir()/checkpoints) and nothing is downloaded "
                      "here, so the model keeps its RANDOM initialisation: it is not "
                      "pretrained", weights=weights, file=os.path.basename(path))
    if verbose:
        print(message)
    return model, pretrained


# ----------------------------------------------------------------------------------------
# A small VGG for the 8x8 digits


def vgg_features(cfg=SMALL_VGG_CFG, in_channels=1):
    """VGG's feature extractor from a configuration list, as torchvision's ``make_layers``.

    A number is a 3x3 convolution with padding 1 (height and width kept) and that many
    output channels, followed by a ReLU; ``"M"`` is a 2x2 max-pool (height and width
    halved). Unlike ``make_layers`` the number of input channels can be chosen.
    """
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


def small_vgg(num_classes=5, cfg=SMALL_VGG_CFG, in_channels=1, image_size=8, hidden=64,
              dropout=0.2):
    """torchvision's ``VGG`` class with a small ``features`` and a small ``classifier``.

    ``VGG.forward`` runs ``features -> avgpool -> flatten -> classifier``. Its classifier
    keeps VGG16's seven layers (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear), so
    ``classifier[6]`` is the head here too; only the widths are smaller. With the default
    cfg an (N, 1, 8, 8) batch becomes (N, 32, 2, 2) features and (N, num_classes) logits.

    ``VGG``'s constructor always builds the ImageNet-sized classifier (25088 -> 4096 ->
    4096, 119 million parameters, seconds to initialise), so the object is created on the
    meta device (shapes only: no memory, no time) and then its three parts are replaced by
    real, small ones.
    """
    from torchvision.models import VGG

    with torch.device("meta"):
        net = VGG(nn.Sequential(), num_classes=num_classes)
    net.features = vgg_features(cfg, in_channels)
    side = image_size // 2 ** cfg.count("M")
    channels = [v for v in cfg if v != "M"][-1]
    net.avgpool = nn.AdaptiveAvgPool2d((side, side))  # like VGG16's (7, 7)
    net.classifier = nn.Sequential(
        nn.Linear(channels * side * side, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),  # classifier[6]: the head
    )
    return net


@functools.lru_cache(maxsize=4)
def _pretrained_digits_vgg(num_epochs, lr, seed):
    from nncourse.data import digits_loaders
    from nncourse.training import train_epoch

    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    train_loader, _ = digits_loaders(classes=range(5), seed=seed)
    net = small_vgg(num_classes=5)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(num_epochs):
        train_epoch(net, train_loader, loss_fn, optimizer)
    torch.set_rng_state(generator_state)  # the caller's random numbers are not disturbed
    return net.eval()


def pretrained_digits_vgg(num_epochs=15, lr=1e-3, seed=0):
    """A ``small_vgg`` trained on the digits 0-4 (``digits_loaders(classes=range(5))``).

    The same call gives the same network (it is trained once per process and a fresh copy
    is returned every time, so changing it does not change the next one). Returned in
    eval mode.
    """
    return copy.deepcopy(_pretrained_digits_vgg(num_epochs, lr, seed))


# ----------------------------------------------------------------------------------------
# Checks for chapter 10's exercises: what differs, and the known mistake when it is one


def check_preprocessed(batch, image, weights, name="preprocess", quiet=False):
    """``batch`` must be ``image`` (3, H, W) put through the preprocessing of ``weights``,
    as a batch of one. Names the mistake when a known wrong pipeline gives ``batch``."""
    from torchvision.transforms import functional as TF

    from nncourse.checks import check_close, check_shape, recognised_hint

    transform = weights.transforms()
    crop = transform.crop_size[0]
    expected = transform(image).unsqueeze(0)  # (1, 3, crop, crop)
    shape_hint = None
    if isinstance(batch, torch.Tensor) and batch.dim() == 4 and batch.shape[-1] != crop:
        shape_hint = say("these weights crop to {crop} x {crop}: the sizes come from "
                         "the weights' own preprocessing", crop=crop)
    check_shape(batch, expected.shape, name, dims="NCHW", hint=shape_hint, quiet=True)

    def resize(x, size):
        return TF.resize(x, size, interpolation=transform.interpolation, antialias=True)

    def normalize(x):
        return TF.normalize(x, mean=transform.mean, std=transform.std)

    resized_cropped = TF.center_crop(resize(image, transform.resize_size), transform.crop_size)
    mistakes = [
        (normalize(resize(image, [crop, crop])).unsqueeze(0),
         say("the image was resized to {crop} x {crop} directly; the weights' "
             "preprocessing resizes the shorter side to {resize} (keeping the aspect "
             "ratio) and then crops the centre", crop=crop,
             resize=transform.resize_size[0])),
        (resized_cropped.unsqueeze(0),
         say("the values are not normalised with the mean and std of the weights' "
             "training images")),
        (normalize(TF.center_crop(image, transform.crop_size)).unsqueeze(0),
         say("the image was cropped without being resized first")),
    ]
    check_close(batch, expected, name, atol=1e-4,
                hint=recognised_hint(batch, mistakes, atol=1e-4), quiet=quiet)


def fine_tune(model, classes, seed, num_epochs, lr=1e-3):
    """Adam on the trainable parameters of ``model`` for ``num_epochs`` epochs on the
    digits ``classes`` (split and shuffled by ``seed``); returns the held-out accuracy."""
    from nncourse.data import digits_loaders
    from nncourse.training import evaluate, train_epoch

    train_loader, test_loader = digits_loaders(classes=classes, seed=seed)
    torch.manual_seed(seed)  # the dropout masks
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    for _ in range(num_epochs):
        train_epoch(model, train_loader, nn.CrossEntropyLoss(), optimizer)
    return evaluate(model, test_loader)[1]


@functools.lru_cache(maxsize=8)
def scratch_accuracy(classes, seed, num_epochs, init_seed):
    """The accuracy of a ``small_vgg`` trained from scratch by ``fine_tune`` (the same
    budget), its weights drawn after ``torch.manual_seed(init_seed)``."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(init_seed)
    acc = fine_tune(small_vgg(num_classes=len(classes)), classes, seed, num_epochs)
    torch.set_rng_state(generator_state)
    return acc


TRANSFER_MARGIN = 0.1  # measured over 200 seeds in tests/test_seeds_ch10.py


def check_beats_scratch(model, classes, seed, num_epochs, init_seed, margin=TRANSFER_MARGIN,
                        quiet=False):
    """Fine-tune ``model`` on the digits ``classes``; its accuracy must beat a network
    trained from scratch with the same budget by ``margin``. Returns the accuracy."""
    from nncourse.checks import CheckFailure, tick

    classes = tuple(classes)
    acc = fine_tune(model, classes, seed, num_epochs)
    scratch = scratch_accuracy(classes, seed, num_epochs, init_seed)
    if not acc > scratch + margin:
        raise CheckFailure(say(
            "after {epochs} epochs of fine-tuning the accuracy is {acc:.3f}, not "
            "clearly above the {scratch:.3f} of the same network trained from scratch "
            "(by {margin})", epochs=num_epochs, acc=acc, scratch=scratch, margin=margin))
    tick(say("fine-tuned {acc:.2f} vs scratch {scratch:.2f}", acc=acc, scratch=scratch),
         quiet)
    return acc


def _fail(message):
    from nncourse.checks import CheckFailure

    raise CheckFailure(message)


def check_transfer(model, pretrained, state_before, num_classes, name="transfer",
                   quiet=False):
    """What exercise 6 asks of ``model = transfer(pretrained, num_classes)``: a copy of
    ``pretrained`` (whose state was ``state_before`` and must stay so) with a fresh
    ``classifier[6]`` of ``num_classes`` outputs, its features frozen and every other
    parameter trainable. Says which property fails, and names the parameter."""
    from nncourse.checks import check_module, tick, with_hint

    check_module(model, f"{name}(pretrained, {num_classes})", quiet=True)
    if model is pretrained:
        _fail(say("{name} returned the pretrained model itself: the new model must be a "
                  "copy, and the pretrained one must stay as it was", name=name))
    changed = [k for k, t in state_before.items()
               if k not in pretrained.state_dict() or not torch.equal(
                   t, pretrained.state_dict()[k])]
    if changed:
        shared = [n for n, m in model.named_children()
                  if getattr(pretrained, n, None) is m]
        why = say("the new model shares {layers} with the pretrained one: a shallow "
                  "copy keeps the same layer objects", layers=", ".join(shared)) \
            if shared else None
        _fail(with_hint(say("the pretrained model was changed ({key}, ...)",
                            key=changed[0]), why))
    classifier = getattr(model, "classifier", None)
    head = (classifier[6] if isinstance(classifier, nn.Sequential) and len(classifier) > 6
            else None)
    old_head = pretrained.classifier[6]
    if not isinstance(head, nn.Linear):
        _fail(say("classifier[6] of the new model should be an nn.Linear, got {kind}",
                  kind=type(head).__name__))
    if (head.in_features, head.out_features) != (old_head.in_features, num_classes):
        _fail(say("classifier[6] maps {n_in} inputs to {n_out} outputs; the new head "
                  "maps the {old_in} inputs of the old one to {classes}",
                  n_in=head.in_features, n_out=head.out_features,
                  old_in=old_head.in_features, classes=num_classes))
    if head.weight.shape == old_head.weight.shape and torch.equal(head.weight,
                                                                  old_head.weight):
        _fail(say("classifier[6] holds the pretrained head's weights: the new task "
                  "needs a fresh head"))
    own = model.state_dict()
    for key, tensor in pretrained.state_dict().items():
        if key.startswith("classifier.6."):
            continue
        if key not in own:
            _fail(say("the new model has no {key}: apart from the head it keeps every "
                      "layer of the pretrained model", key=key))
        if own[key].shape != tensor.shape or not torch.equal(own[key], tensor):
            _fail(say("{key} of the new model differs from the pretrained model's: "
                      "apart from the head, the new model starts from the pretrained "
                      "weights", key=key))
    trainable = [n for n, p in model.named_parameters()
                 if n.startswith("features.") and p.requires_grad]
    if trainable:
        _fail(say("{key} of the new model still requires grad ({n} parameter tensors of "
                  "the features do): the features must be frozen", key=trainable[0],
                  n=len(trainable)))
    frozen = [n for n, p in model.named_parameters()
              if not n.startswith("features.") and not p.requires_grad]
    if frozen:
        names = ", ".join(frozen)
        _fail(say("{names} of the new model is frozen: only the features are frozen, "
                  "the classifier keeps learning", names=names) if len(frozen) == 1 else
              say("{names} of the new model are frozen: only the features are frozen, "
                  "the classifier keeps learning", names=names))
    tick(say("a copy with the pretrained weights, a fresh {n}-class head, the features "
             "frozen and the classifier trainable", n=num_classes), quiet)


# ----------------------------------------------------------------------------------------
# Predict first: parameter counts after freezing, written down before running anything.

def count_rule():
    """How the parameters of a network are counted (the hint of a wrong prediction)."""
    return say("a layer holds its weight and bias numbers: Conv2d(in, out, k) has "
               "out * in * k * k + out, Linear(in, out) has out * in + out; pooling, "
               "ReLU and Flatten hold none. Frozen parameters (requires_grad=False) "
               "still count in the total, but are not trainable")


def check_predicted_params(got, net, trainable_only, name=None, quiet=False):
    """``got`` must be the number of parameters (scalars) of ``net``, the trainable ones
    only when ``trainable_only``. The message says the direction and the rule, never the
    number; a wrong answer a known wrong way of counting gives is named. ``name``
    defaults to "your predicted count"."""
    from nncourse.checks import check_true, count_params

    name = say("your predicted count") if name is None else name
    check_true(isinstance(got, int) and not isinstance(got, bool),
               say("{name} should be an int, got {kind}", name=name,
                   kind=type(got).__name__), quiet=True)
    expected = count_params(net, trainable_only=trainable_only)
    if got == expected:
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    params = [p for p in net.parameters() if p.requires_grad or not trainable_only]
    known = {
        sum(p.numel() for p in params if p.dim() > 1):
            say("the biases were left out: every Conv2d and Linear output has one"),
        len(params): say("that counts the tensors; count the numbers in them (numel)"),
    }
    if trainable_only:
        known.setdefault(count_params(net), say("that is every parameter, the frozen "
                                                "ones too: requires_grad_(False) takes "
                                                "them out"))
    rule = count_rule()
    hint = rule if got not in known else known[got] + "\n" + rule
    direction = say("too large") if got > expected else say("too small")
    check_true(False, say("{name} ({got}) is {direction}", name=name, got=got,
                          direction=direction),
               hint=hint, quiet=quiet)
