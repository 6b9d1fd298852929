"""Plausible wrong answers for the chapter 10 exercises: each must lose its points."""

# %% [mutant ex1_preprocess] forgets the batch dimension
def preprocess(image, weights):
    return weights.transforms()(image)

# %% [mutant ex1_preprocess] resizes straight to 224 and normalises, without the crop
def preprocess(image, weights):
    from torchvision.transforms import functional as TF
    image = TF.resize(image, [224, 224], antialias=True)
    image = TF.normalize(image, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    return image.unsqueeze(0)

# %% [mutant ex1_preprocess] always uses VGG16's transforms, whatever the weights
def preprocess(image, weights):
    return VGG16_Weights.IMAGENET1K_V1.transforms()(image).unsqueeze(0)

# %% [mutant ex2_top_classes] returns the logits instead of probabilities
def top_classes(logits, weights, k=5):
    categories = weights.meta["categories"]
    top = logits.topk(k)
    return [(categories[i], v.item()) for v, i in zip(top.values, top.indices)]

# %% [mutant ex2_top_classes] sorts the wrong way: the least probable classes
def top_classes(logits, weights, k=5):
    categories = weights.meta["categories"]
    probs = logits.softmax(dim=0)
    top = probs.topk(k, largest=False)
    return [(categories[i], p.item()) for p, i in zip(top.values, top.indices)]

# %% [mutant ex2_top_classes] always looks names up in ImageNet's categories
def top_classes(logits, weights, k=5):
    categories = VGG16_Weights.IMAGENET1K_V1.meta["categories"]
    probs = logits.softmax(dim=0)
    top = probs.topk(k)
    return [(categories[i], p.item()) for p, i in zip(top.values, top.indices)]

# %% [mutant ex3_replace_head] hard-codes VGG16's 4096 inputs
def replace_head(net, num_classes):
    net.classifier[6] = nn.Linear(4096, num_classes)
    return net

# %% [mutant ex3_replace_head] changes out_features instead of the layer
def replace_head(net, num_classes):
    net.classifier[6].out_features = num_classes
    return net

# %% [mutant ex3_replace_head] replaces the whole classifier by one Linear layer
def replace_head(net, num_classes):
    net.classifier = nn.Linear(net.classifier[0].in_features, num_classes)
    return net

# %% [mutant ex4_add_head] adds the layer to the model, not to its classifier
def add_head(net, num_classes):
    net.add_module("head", nn.Linear(net.classifier[-1].out_features, num_classes))
    return net

# %% [mutant ex4_add_head] hard-codes ImageNet's 1000 classes as the input size
def add_head(net, num_classes):
    net.classifier.add_module("head", nn.Linear(1000, num_classes))
    return net

# %% [mutant ex4_add_head] replaces classifier[6] instead of adding a layer
def add_head(net, num_classes):
    net.classifier[6] = nn.Linear(net.classifier[6].in_features, num_classes)
    return net

# %% [mutant ex5_freeze] calls eval(), which does not freeze anything
def freeze_features(net):
    net.features.eval()
    return [p for p in net.parameters() if p.requires_grad]

# %% [mutant ex5_freeze] freezes the whole model, classifier included
def freeze_features(net):
    net.requires_grad_(False)
    return [p for p in net.parameters() if p.requires_grad]

# %% [mutant ex5_freeze] freezes the weights but forgets the biases
def freeze_features(net):
    for name, p in net.features.named_parameters():
        if name.endswith("weight"):
            p.requires_grad_(False)
    return [p for p in net.parameters() if p.requires_grad]

# %% [mutant ex5_freeze] freezes correctly but returns every parameter
def freeze_features(net):
    net.features.requires_grad_(False)
    return list(net.parameters())

# %% [mutant ex6_transfer] works on the pretrained model itself, not a copy
def transfer(pretrained, num_classes):
    pretrained.classifier[6] = nn.Linear(pretrained.classifier[6].in_features, num_classes)
    pretrained.features.requires_grad_(False)
    return pretrained

# %% [mutant ex6_transfer] builds a fresh network: frozen random features
def transfer(pretrained, num_classes):
    from nncourse.pretrained import small_vgg
    model = small_vgg(num_classes=num_classes)
    model.features.requires_grad_(False)
    return model

# %% [mutant ex6_transfer] forgets to freeze the features
def transfer(pretrained, num_classes):
    model = copy.deepcopy(pretrained)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model

# %% [mutant ex1_preprocess] resizes and crops as the weights say, but never normalises
def preprocess(image, weights):
    from torchvision.transforms import functional as TF
    t = weights.transforms()
    image = TF.resize(image, t.resize_size, interpolation=t.interpolation, antialias=True)
    return TF.center_crop(image, t.crop_size).unsqueeze(0)

# %% [mutant ex2_top_classes] the probabilities left as 0-d tensors, not Python floats
def top_classes(logits, weights, k=5):
    categories = weights.meta["categories"]
    top = logits.softmax(dim=0).topk(k)
    return [(categories[i], p) for p, i in zip(top.values, top.indices)]

# %% [mutant ex4_add_head] appends the layer without the name "head"
def add_head(net, num_classes):
    net.classifier.append(nn.Linear(net.classifier[-1].out_features, num_classes))
    return net

# %% [mutant ex6_transfer] a linear probe: the rest of the classifier frozen as well
def transfer(pretrained, num_classes):
    model = copy.deepcopy(pretrained)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    model.features.requires_grad_(False)
    for layer in list(model.classifier)[:6]:
        layer.requires_grad_(False)
    return model

# %% [mutant ex6_transfer] copy.copy: a shallow copy that shares the pretrained layers
def transfer(pretrained, num_classes):
    model = copy.copy(pretrained)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    model.features.requires_grad_(False)
    return model

# %% [mutant ex6_transfer] keeps the pretrained head when the number of classes matches
def transfer(pretrained, num_classes):
    model = copy.deepcopy(pretrained)
    if model.classifier[6].out_features != num_classes:
        model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    model.features.requires_grad_(False)
    return model

# %% [mutant ex7_predict_trainable] counts the frozen features as trainable too
total_params = 1573
trainable_params = 1573

# %% [mutant ex7_predict_trainable] leaves the biases out of both counts
total_params = 72 + 1152 + 320
trainable_params = 320

# %% [mutant ex7_predict_trainable] counts the old 10-class head
total_params = 80 + 1168 + 650
trainable_params = 650

# %% [mutant ex7_predict_trainable] counts the tensors, not the numbers in them
total_params = 6
trainable_params = 2
