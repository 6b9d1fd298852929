"""Other correct answers for the chapter 10 exercises: each must earn full marks."""

# %% [alternative ex1_preprocess] the transform applied to a batch of one
def preprocess(image, weights):
    transform = weights.transforms()
    return transform(image.unsqueeze(0))  # the transform works on (..., C, H, W)

# %% [alternative ex1_preprocess] the weights' sizes and statistics applied one by one
from torchvision.transforms import functional as TF


def preprocess(image, weights):
    t = weights.transforms()
    x = TF.resize(image, t.resize_size, interpolation=t.interpolation, antialias=t.antialias)
    x = TF.center_crop(x, t.crop_size)
    x = TF.normalize(x, mean=t.mean, std=t.std)
    return x[None]  # (1, 3, crop, crop)

# %% [alternative ex1_preprocess] 小土堆 style: a named transform, torch.reshape to a batch
def preprocess(image, weights):
    trans = weights.transforms()
    img = trans(image)
    return torch.reshape(img, (1, *img.shape))

# %% [alternative ex2_top_classes] torch.sort descending, then the first k
def top_classes(logits, weights, k=5):
    probs = torch.softmax(logits, dim=-1)
    values, indices = torch.sort(probs, descending=True)
    names = weights.meta["categories"]
    return [(names[int(i)], float(v)) for v, i in zip(values[:k], indices[:k])]

# %% [alternative ex2_top_classes] Python's sorted over the pairs, tolist() for floats
import torch.nn.functional as F


def top_classes(logits, weights, k=5):
    probs = F.softmax(logits, dim=0).tolist()
    pairs = list(zip(weights.meta["categories"], probs))
    return sorted(pairs, key=lambda pair: pair[1], reverse=True)[:k]

# %% [alternative ex2_top_classes] argsort, probabilities from exp and sum, lists for pairs
def top_classes(logits, weights, k=5):
    exp = torch.exp(logits - logits.max())  # shifted: no overflow
    probs = exp / exp.sum()
    order = torch.argsort(probs, descending=True)[:k]
    return [(weights.meta["categories"][i], probs[i].item()) for i in order.tolist()]

# %% [alternative ex3_replace_head] index -1, the size read from the weight's shape
def replace_head(net, num_classes):
    old = net.classifier[-1]
    net.classifier[-1] = nn.Linear(old.weight.shape[1], num_classes, bias=True)
    return net

# %% [alternative ex3_replace_head] a new Sequential from the same layer objects
def replace_head(net, num_classes):
    layers = list(net.classifier.children())
    layers[6] = nn.Linear(layers[6].in_features, num_classes)
    net.classifier = nn.Sequential(*layers)
    return net

# %% [alternative ex3_replace_head] 小土堆 style, setattr with the layer's name
def replace_head(net, num_classes):
    in_features = net.classifier[6].in_features
    setattr(net.classifier, "6", nn.Linear(in_features=in_features,
                                           out_features=num_classes))
    return net

# %% [alternative ex4_add_head] 小土堆 style: add_module with the size of classifier[6]
def add_head(net, num_classes):
    net.classifier.add_module("head", nn.Linear(net.classifier[6].out_features,
                                                num_classes))
    return net

# %% [alternative ex4_add_head] the name given by attribute assignment on the Sequential
def add_head(net, num_classes):
    last = [m for m in net.classifier if isinstance(m, nn.Linear)][-1]
    net.classifier.head = nn.Linear(last.out_features, num_classes)
    return net

# %% [alternative ex5_freeze] a loop setting requires_grad, filter for the trainable ones
def freeze_features(net):
    for param in net.features.parameters():
        param.requires_grad = False
    return list(filter(lambda p: p.requires_grad, net.parameters()))

# %% [alternative ex5_freeze] sorted by name in one loop
def freeze_features(net):
    trainable = []
    for name, p in net.named_parameters():
        if name.startswith("features."):
            p.requires_grad_(False)
        else:
            trainable.append(p)
    return trainable

# %% [alternative ex5_freeze] freezes with requires_grad_, then asks each parameter
def freeze_features(net):
    for module in net.features.modules():
        for p in module.parameters(recurse=False):
            p.requires_grad_(False)
    trainable = []
    for p in net.parameters():
        if p.requires_grad:
            trainable.append(p)
    return trainable

# %% [alternative ex6_transfer] a loop freezing by name, the head sized from the weight
def transfer(pretrained, num_classes):
    model = copy.deepcopy(pretrained)
    for name, param in model.named_parameters():
        if name.startswith("features"):
            param.requires_grad = False
    hidden = model.classifier[6].weight.shape[1]
    model.classifier[6] = nn.Linear(hidden, num_classes)
    return model

# %% [alternative ex6_transfer] freezes first, then replaces the head through setattr
def transfer(pretrained, num_classes):
    new_model = copy.deepcopy(pretrained)
    for p in new_model.features.parameters():
        p.requires_grad_(False)
    setattr(new_model.classifier, "6",
            nn.Linear(new_model.classifier[6].in_features, num_classes))
    return new_model

# %% [alternative ex6_transfer] 小土堆 style: a model variable, the new layer built first
def transfer(pretrained, num_classes):
    in_features = pretrained.classifier[6].in_features
    new_head = nn.Linear(in_features, num_classes)
    vgg_true = copy.deepcopy(pretrained)
    vgg_true.classifier[6] = new_head
    vgg_true.features.requires_grad_(False)
    return vgg_true

# %% [alternative ex7_predict_trainable] plain literals
total_params = 1573
trainable_params = 325

# %% [alternative ex7_predict_trainable] the counts written out layer by layer
conv1 = 8 * 1 * 3 * 3 + 8
conv2 = 16 * 8 * 3 * 3 + 16
head = (16 * 2 * 2) * 5 + 5
trainable_params = head
total_params = conv1 + conv2 + head
