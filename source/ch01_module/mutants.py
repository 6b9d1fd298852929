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

# %% [mutant ex3_linear] multiplies by W instead of its transpose
def linear(x, W, b):
    return x @ W + b

# %% [mutant ex3_linear] forgets the bias
def linear(x, W, b):
    return x @ W.T

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

# %% [mutant ex3_linear] calls F.linear, which the exercise asks to write with @
def linear(x, W, b):
    return F.linear(x, W, b)

# %% [mutant ex6_predict] eval mode and the mode restored, but detach() instead of no_grad
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x).detach()               # the graph was built, then thrown away
    model.train(was_training)
    return out
