"""Plausible wrong answers for the chapter 1 exercises: each must lose its points."""

# %% [mutant ex1_two_layer] forgets the ReLU between the layers
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.fc2(self.fc1(x))

# %% [mutant ex1_two_layer] forgets super().__init__()
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

# %% [mutant ex1_two_layer] layers without bias
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, out_features, bias=False)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

# %% [mutant ex2_count] counts parameter tensors, not numbers
def count_parameters(model, trainable_only=False):
    return len(list(model.parameters()))

# %% [mutant ex2_count] ignores trainable_only
def count_parameters(model, trainable_only=False):
    return sum(p.numel() for p in model.parameters())

# %% [mutant ex4_stack] keeps the layers in a plain Python list
class MLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = [nn.Linear(width, width) for _ in range(depth)]

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x

# %% [mutant ex4_stack] reuses one layer depth times
class MLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        layer = nn.Linear(width, width)
        self.layers = nn.ModuleList([layer] * depth)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x

# %% [mutant ex5_parameter] a plain tensor instead of nn.Parameter
class Scale(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.weight = torch.ones(num_features)

    def forward(self, x):
        return x * self.weight

# %% [mutant ex5_parameter] initialised with random numbers
class Scale(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_features))

    def forward(self, x):
        return x * self.weight

# %% [mutant ex6_predict] forgets model.eval()
def predict(model, x):
    with torch.no_grad():
        return model(x)

# %% [mutant ex6_predict] leaves the model in eval mode
def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)

# %% [mutant ex6_predict] keeps the autograd graph
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    return out

# %% [mutant ex6_predict] eval mode and the mode restored, but detach() instead of no_grad
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x).detach()               # the graph was built, then thrown away
    model.train(was_training)
    return out

# %% [mutant ex3_predict] counts the layers kept in the plain Python list
n_param_tensors = 11
n_params = 56
state_dict_keys = ["scale", "mean", "heads.0.weight", "heads.0.bias", "heads.1.weight",
                   "heads.1.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                   "blocks.1.bias", "out.weight", "out.bias"]

# %% [mutant ex3_predict] leaves the frozen layer out of parameters() and state_dict()
n_param_tensors = 5
n_params = 29
state_dict_keys = ["scale", "mean", "blocks.0.weight", "blocks.0.bias",
                   "blocks.1.weight", "blocks.1.bias"]

# %% [mutant ex3_predict] counts right, but thinks buffers are not saved
n_param_tensors = 7
n_params = 32
state_dict_keys = ["scale", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                   "blocks.1.bias", "out.weight", "out.bias"]

# %% [mutant ex3_predict] saves every tensor attribute, the non-persistent buffer too
n_param_tensors = 7
n_params = 32
state_dict_keys = ["scale", "offset", "mean", "noise", "blocks.0.weight", "blocks.0.bias",
                   "blocks.1.weight", "blocks.1.bias", "out.weight", "out.bias"]

# %% [mutant ex3_predict] counts the buffers as parameters
n_param_tensors = 9
n_params = 38
state_dict_keys = ["scale", "mean", "blocks.0.weight", "blocks.0.bias",
                   "blocks.1.weight", "blocks.1.bias", "out.weight", "out.bias"]

# %% [mutant ex3_predict] names the ModuleList's layers without their position
n_param_tensors = 7
n_params = 32
state_dict_keys = ["scale", "mean", "blocks.weight", "blocks.bias", "out.weight",
                   "out.bias"]

# %% [mutant ex3_predict] counts weights as in + out numbers instead of in * out
n_param_tensors = 7
n_params = 26
state_dict_keys = ["scale", "mean", "blocks.0.weight", "blocks.0.bias",
                   "blocks.1.weight", "blocks.1.bias", "out.weight", "out.bias"]
