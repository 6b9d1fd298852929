"""Other correct answers for the chapter 1 exercises: each must earn full marks."""

# %% [alternative ex1_two_layer] functional ReLU, layers named as asked
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        h = F.relu(self.fc1(x))  # (N, hidden)
        return self.fc2(h)

# %% [alternative ex1_two_layer] super(TwoLayerNet, self), an nn.ReLU module in between
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super(TwoLayerNet, self).__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))

# %% [alternative ex2_count] a loop with a running total
def count_parameters(model, trainable_only=False):
    total = 0
    for p in model.parameters():
        if trainable_only and not p.requires_grad:
            continue
        total += p.numel()
    return total

# %% [alternative ex2_count] filters first, multiplies the shape out
import math

def count_parameters(model, trainable_only=False):
    params = [p for p in model.parameters() if p.requires_grad or not trainable_only]
    return sum(math.prod(p.shape) for p in params)

# %% [alternative ex4_stack] ModuleList built with append
class MLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(nn.Linear(width, width))

    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return x

# %% [alternative ex4_stack] an nn.Sequential of Linear and ReLU pairs
class MLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        blocks = []
        for _ in range(depth):
            blocks += [nn.Linear(width, width), nn.ReLU()]
        self.layers = nn.Sequential(*blocks)

    def forward(self, x):
        return self.layers(x)

# %% [alternative ex5_parameter] torch.ones wrapped with requires_grad spelled out
class Scale(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_features), requires_grad=True)

    def forward(self, x):
        return torch.mul(x, self.weight)

# %% [alternative ex5_parameter] registered with register_parameter, filled with fill_
class Scale(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.register_parameter("weight", nn.Parameter(torch.empty(num_features)))
        with torch.no_grad():
            self.weight.fill_(1.0)

    def forward(self, x):
        return x * self.weight.unsqueeze(0)  # (N, F) * (1, F)

# %% [alternative ex6_predict] restores the mode in a finally block
def predict(model, x):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train(was_training)

# %% [alternative ex6_predict] torch.inference_mode, and mode restored with if
def predict(model, x):
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        out = model(x)
    if was_training:
        model.train()
    return out

# %% [alternative ex1_two_layer] an nn.ReLU(inplace=True) kept as an attribute, bias spelled out
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features=in_features, out_features=hidden, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(in_features=hidden, out_features=out_features, bias=True)

    def forward(self, x):
        x = self.fc1(x)
        x = self.relu(x)
        x = self.fc2(x)
        return x

# %% [alternative ex4_stack] ModuleList from a generator, relu as a module applied each time
class MLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.act = nn.ReLU()

    def forward(self, x):
        for i in range(len(self.layers)):
            x = self.act(self.layers[i](x))
        return x

# %% [alternative ex6_predict] torch.set_grad_enabled(False), the mode passed to train()
def predict(model, x):
    mode = model.training
    model.train(False)
    with torch.set_grad_enabled(False):
        y = model(x)
    model.train(mode)
    return y

# %% [alternative ex3_predict] a set in another order, the counts as arithmetic
n_param_tensors = 1 + 2 + 2 + 2
n_params = 3 + (3 * 4 + 4) + (4 * 2 + 2) + (2 * 1 + 1)
state_dict_keys = {"out.bias", "out.weight", "blocks.1.bias", "blocks.1.weight",
                   "blocks.0.bias", "blocks.0.weight", "mean", "scale"}

# %% [alternative ex3_predict] a tuple built from the paths, the counts from the shapes
import math

shapes = [(3,), (4, 3), (4,), (2, 4), (2,), (1, 2), (1,)]
n_param_tensors = len(shapes)
n_params = sum(math.prod(shape) for shape in shapes)
state_dict_keys = ("scale", "mean") + tuple(
    f"{layer}.{name}" for layer in ("blocks.0", "blocks.1", "out")
    for name in ("weight", "bias"))
