"""Other correct answers for the chapter 7 exercises: each must earn full marks."""

# %% [alternative ex1_make_net] other spellings: kernel_size=(2, 2), padding='same'
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    c1, c2, c3 = channels
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, c1, kernel_size=(5, 5), padding="same")),
        ("pool1", nn.MaxPool2d(kernel_size=(2, 2))),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=(5, 5), padding="same")),
        ("pool2", nn.MaxPool2d(kernel_size=(2, 2))),
        ("conv3", nn.Conv2d(c2, c3, kernel_size=(5, 5), padding="same")),
        ("pool3", nn.MaxPool2d(kernel_size=(2, 2))),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c3 * 16, hidden)),
        ("fc2", nn.Linear(hidden, num_classes)),
    ]))

# %% [alternative ex1_make_net] stride and padding spelled out, fc1 sized by a dry run
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    layers = OrderedDict()
    in_channels = 3
    for i, out_channels in enumerate(channels, start=1):
        layers[f"conv{i}"] = nn.Conv2d(in_channels, out_channels, 5, stride=1,
                                       padding=(2, 2), bias=True)
        layers[f"pool{i}"] = nn.MaxPool2d(2, stride=2)
        in_channels = out_channels
    layers["flatten"] = nn.Flatten()
    with torch.no_grad():
        n_features = nn.Sequential(layers)(torch.zeros(1, 3, 32, 32)).shape[1]
    layers["fc1"] = nn.Linear(n_features, hidden)
    layers["fc2"] = nn.Linear(hidden, num_classes)
    return nn.Sequential(layers)

# %% [alternative ex1_make_net] the course's Tudui style: names zipped with the layers
def make_net(channels=(32, 32, 64), hidden=64, num_classes=10):
    names = ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "flatten", "fc1", "fc2"]
    model1 = [
        nn.Conv2d(3, channels[0], 5, 1, 2),
        nn.MaxPool2d(2),
        nn.Conv2d(channels[0], channels[1], 5, 1, 2),
        nn.MaxPool2d(2),
        nn.Conv2d(channels[1], channels[2], 5, 1, 2),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(channels[2] * 4 * 4, hidden),
        nn.Linear(hidden, num_classes),
    ]
    return nn.Sequential(OrderedDict(zip(names, model1)))

# %% [alternative ex2_features] an OrderedDict of the children up to the first Linear
def feature_extractor(net):
    layers = OrderedDict()
    for name, layer in net.named_children():
        if isinstance(layer, nn.Linear):
            break
        layers[name] = layer
    return nn.Sequential(layers)

# %% [alternative ex2_features] the index found with next(), then a slice
def feature_extractor(net):
    first = next((i for i, layer in enumerate(net) if isinstance(layer, nn.Linear)),
                 len(net))
    return net[:first]

# %% [alternative ex2_features] itertools.takewhile, add_module on an empty Sequential
import itertools


def feature_extractor(net):
    features = nn.Sequential()
    for name, layer in itertools.takewhile(lambda item: not isinstance(item[1], nn.Linear),
                                           net.named_children()):
        features.add_module(name, layer)
    return features

# %% [alternative ex3_predict] lists and arithmetic written out
num_children = 4 + 1
shape_after_pool = [4, 8, (15 - 3 + 1) // 2, (15 - 3 + 1) // 2]
shape_flat_20 = [2, 8 * ((20 - 3 + 1) // 2) ** 2]
head_len = len(["Linear", "ReLU", "Linear"])
params_first_three = 3 * 8 * 3 * 3 + 8

# %% [alternative ex3_predict] the sizes worked out with a small helper
def conv_then_pool(size, kernel=3, pool=2):
    return (size - kernel + 1) // pool


num_children = 5
shape_after_pool = (4, 8, conv_then_pool(15), conv_then_pool(15))
shape_flat_20 = (2, 8 * conv_then_pool(20) * conv_then_pool(20))
head_len = 3
params_first_three = 8 * (3 * 3 * 3 + 1)

# %% [alternative ex4_insert] a list of (name, layer) pairs with list.insert
def insert_after(net, after, name, layer):
    items = list(net.named_children())
    position = [child_name for child_name, _ in items].index(after)
    items.insert(position + 1, (name, layer))
    return nn.Sequential(OrderedDict(items))

# %% [alternative ex4_insert] add_module on a new, empty Sequential
def insert_after(net, after, name, layer):
    new = nn.Sequential()
    for child_name, child in net.named_children():
        new.add_module(child_name, child)
        if child_name == after:
            new.add_module(name, layer)
    return new

# %% [alternative ex4_insert] the OrderedDict of net's _modules, rebuilt key by key
def insert_after(net, after, name, layer):
    layers = []
    for key, module in net._modules.items():
        layers.append((key, module))
        if key == after:
            layers.append((name, layer))
    return nn.Sequential(OrderedDict(layers))

# %% [alternative ex5_shapes] torch.inference_mode and a list comprehension of sizes
def layer_shapes(net, input_shape):
    shapes = []
    with torch.inference_mode():
        x = torch.zeros(*input_shape)
        for name, layer in net.named_children():
            x = layer(x)
            shapes.append((name, tuple(int(d) for d in x.size())))
    return shapes

# %% [alternative ex5_shapes] torch.no_grad as a decorator on a helper
@torch.no_grad()
def _run(layer, x):
    return layer(x)


def layer_shapes(net, input_shape):
    x = torch.zeros(input_shape)
    result = []
    for name, layer in net._modules.items():
        x = _run(layer, x)
        result.append((name, tuple(x.shape)))
    return result

# %% [alternative ex5_shapes] a random dummy batch, the grad mode switched off globally
def layer_shapes(net, input_shape):
    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        x = torch.randn(input_shape)
        out = []
        for name, layer in net.named_children():
            x = layer(x)
            out.append((name, tuple(x.shape)))
    finally:
        torch.set_grad_enabled(previous)
    return out

# %% [alternative ex6_broken] layer after layer, feeding each output to the next
def find_broken_layer(net, input_shape):
    x = torch.zeros(input_shape)
    with torch.no_grad():
        for name, layer in net.named_children():
            try:
                x = layer(x)
            except RuntimeError:
                return name
    return None

# %% [alternative ex6_broken] the slices net[:k], the name read from the keys
def find_broken_layer(net, input_shape):
    names = list(net._modules.keys())
    dummy = torch.randn(input_shape)
    for k in range(len(net)):
        try:
            with torch.no_grad():
                net[:k + 1](dummy)
        except RuntimeError:
            return names[k]
    return None

# %% [alternative ex6_broken] try/except/else, zip of names and slices
def find_broken_layer(net, input_shape):
    x = torch.zeros(*input_shape)
    names = [name for name, _ in net.named_children()]
    for k, name in enumerate(names, start=1):
        try:
            net[:k](x)
        except RuntimeError:
            return name
        else:
            continue
    return None
