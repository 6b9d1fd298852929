"""Plausible wrong answers for the chapter 7 exercises: each must lose its points."""

# %% [mutant ex1_make_net] positional layers: the names are lost
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    c1, c2, c3 = channels
    return nn.Sequential(
        nn.Conv2d(3, c1, kernel_size=5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, kernel_size=5, padding=2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c3 * 4 * 4, hidden), nn.Linear(hidden, num_classes))

# %% [mutant ex1_make_net] fc1 hard-coded to 1024 inputs
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    c1, c2, c3 = channels
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, c1, kernel_size=5, padding=2)), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=5, padding=2)), ("pool2", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(c2, c3, kernel_size=5, padding=2)), ("pool3", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(1024, hidden)),
        ("fc2", nn.Linear(hidden, num_classes))]))

# %% [mutant ex1_make_net] 3x3 kernels with padding 1: same shapes, wrong parameter count
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    c1, c2, c3 = channels
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, c1, kernel_size=3, padding=1)), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=3, padding=1)), ("pool2", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(c2, c3, kernel_size=3, padding=1)), ("pool3", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(c3 * 4 * 4, hidden)),
        ("fc2", nn.Linear(hidden, num_classes))]))

# %% [mutant ex2_features] hard-codes the CIFAR-10 model's first seven layers
def feature_extractor(net):
    return net[:7]

# %% [mutant ex2_features] a deep copy: training net no longer changes the extractor
import copy


def feature_extractor(net):
    for index, layer in enumerate(net):
        if isinstance(layer, nn.Linear):
            return copy.deepcopy(net[:index])
    return copy.deepcopy(net)

# %% [mutant ex2_features] stops after the first Linear instead of before it
def feature_extractor(net):
    for index, layer in enumerate(net):
        if isinstance(layer, nn.Linear):
            return net[:index + 1]
    return net[:]

# %% [mutant ex3_predict] counts the layers inside the nested head as children
num_children = 7
shape_after_pool = (4, 8, 6, 6)
shape_flat_20 = (2, 648)
head_len = 3
params_first_three = 224

# %% [mutant ex3_predict] forgets that a convolution without padding shrinks the map
num_children = 5
shape_after_pool = (4, 8, 7, 7)
shape_flat_20 = (2, 800)
head_len = 3
params_first_three = 224

# %% [mutant ex3_predict] rounds the pooled size up: ceil(13 / 2) = 7
num_children = 5
shape_after_pool = (4, 8, 7, 7)
shape_flat_20 = (2, 648)
head_len = 3
params_first_three = 224

# %% [mutant ex3_predict] forgets the biases of the convolution
num_children = 5
shape_after_pool = (4, 8, 6, 6)
shape_flat_20 = (2, 648)
head_len = 3
params_first_three = 216

# %% [mutant ex3_predict] takes net[-1] for the last Linear, not the nested head
num_children = 5
shape_after_pool = (4, 8, 6, 6)
shape_flat_20 = (2, 648)
head_len = 1
params_first_three = 224

# %% [mutant ex4_insert] inserts before the named layer instead of after it
def insert_after(net, after, name, layer):
    layers = OrderedDict()
    for child_name, child in net.named_children():
        if child_name == after:
            layers[name] = layer
        layers[child_name] = child
    return nn.Sequential(layers)

# %% [mutant ex4_insert] add_module on the original: appends at the end and changes net
def insert_after(net, after, name, layer):
    net.add_module(name, layer)
    return net

# %% [mutant ex4_insert] copies the layers: the new net no longer shares them
import copy


def insert_after(net, after, name, layer):
    layers = OrderedDict()
    for child_name, child in net.named_children():
        layers[child_name] = copy.deepcopy(child)
        if child_name == after:
            layers[name] = layer
    return nn.Sequential(layers)

# %% [mutant ex5_shapes] records the shape going into each layer
def layer_shapes(net, input_shape):
    shapes = []
    x = torch.zeros(input_shape)
    with torch.no_grad():
        for name, layer in net.named_children():
            shapes.append((name, tuple(x.shape)))
            x = layer(x)
    return shapes

# %% [mutant ex5_shapes] walks named_modules(): the container and nested layers too
def layer_shapes(net, input_shape):
    shapes = []
    x = torch.zeros(input_shape)
    with torch.no_grad():
        for name, layer in net.named_modules():
            if name and "." not in name:
                x = layer(x)
            shapes.append((name, tuple(x.shape)))
    return shapes

# %% [mutant ex5_shapes] builds an autograd graph
def layer_shapes(net, input_shape):
    shapes = []
    x = torch.zeros(input_shape)
    for name, layer in net.named_children():
        x = layer(x)
        shapes.append((name, tuple(x.shape)))
    return shapes

# %% [mutant ex6_broken] returns the last layer that worked
def find_broken_layer(net, input_shape):
    names = [name for name, _ in net.named_children()]
    x = torch.zeros(input_shape)
    for k in range(1, len(net) + 1):
        try:
            net[:k](x)
        except RuntimeError:
            return names[k - 2] if k > 1 else None
    return None

# %% [mutant ex6_broken] returns the position instead of the name
def find_broken_layer(net, input_shape):
    x = torch.zeros(input_shape)
    for k in range(1, len(net) + 1):
        try:
            net[:k](x)
        except RuntimeError:
            return k - 1
    return None

# %% [mutant ex6_broken] blames the last layer whenever the whole net fails
def find_broken_layer(net, input_shape):
    try:
        net(torch.zeros(input_shape))
    except RuntimeError:
        return [name for name, _ in net.named_children()][-1]
    return None

# %% [mutant ex1_make_net] AvgPool2d in place of MaxPool2d: same shapes and parameter count
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    c1, c2, c3 = channels
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, c1, kernel_size=5, padding=2)), ("pool1", nn.AvgPool2d(2)),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=5, padding=2)), ("pool2", nn.AvgPool2d(2)),
        ("conv3", nn.Conv2d(c2, c3, kernel_size=5, padding=2)), ("pool3", nn.AvgPool2d(2)),
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(c3 * 4 * 4, hidden)),
        ("fc2", nn.Linear(hidden, num_classes))]))

# %% [mutant ex1_make_net] padding_mode='reflect': the table's layers pad with zeros
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    c1, c2, c3 = channels
    conv = lambda c_in, c_out: nn.Conv2d(c_in, c_out, 5, padding=2, padding_mode="reflect")
    return nn.Sequential(OrderedDict([
        ("conv1", conv(3, c1)), ("pool1", nn.MaxPool2d(2)),
        ("conv2", conv(c1, c2)), ("pool2", nn.MaxPool2d(2)),
        ("conv3", conv(c2, c3)), ("pool3", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(c3 * 4 * 4, hidden)),
        ("fc2", nn.Linear(hidden, num_classes))]))

# %% [mutant ex5_shapes] detaches each output: the graph is built all the same
def layer_shapes(net, input_shape):
    shapes = []
    x = torch.zeros(input_shape)
    for name, layer in net.named_children():
        x = layer(x).detach()
        shapes.append((name, tuple(x.shape)))
    return shapes
