"""Plausible wrong answers for the chapter 11 exercises: each must lose its points."""

# %% [mutant ex1_save_state] saves the whole model object
def save_state(net, path):
    torch.save(net, path)

# %% [mutant ex1_save_state] saves the parameters only, forgetting the buffers
def save_state(net, path):
    torch.save(dict(net.named_parameters()), path)

# %% [mutant ex1_save_state] saves a list of parameters, without their names
def save_state(net, path):
    torch.save(list(net.parameters()), path)

# %% [mutant ex2_load_inference] forgets eval() after loading
def load_for_inference(make_model, path):
    model = make_model()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model

# %% [mutant ex2_load_inference] forgets map_location: a GPU checkpoint fails on a CPU
def load_for_inference(make_model, path):
    model = make_model()
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    return model

# %% [mutant ex2_load_inference] returns what torch.load gives, as if it were the model
def load_for_inference(make_model, path):
    model = torch.load(path, map_location="cpu", weights_only=False)
    return model

# %% [mutant ex3_checkpoint] leaves the optimizer's state out of the checkpoint
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]

# %% [mutant ex3_checkpoint] rebinds the local name instead of loading the optimizer state
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer = checkpoint["optimizer"]
    return checkpoint["epoch"]

# %% [mutant ex3_checkpoint] forgets to return the epoch
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])

# %% [mutant ex4_resume] does not save torch's generator: dropout draws other masks
def save_training(path, model, optimizer, loader, epoch):
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "loader_rng": loader.generator.get_state()}, path)


def resume_training(path, model, optimizer, loader):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    loader.generator.set_state(checkpoint["loader_rng"])
    return checkpoint["epoch"]

# %% [mutant ex4_resume] does not save the loader's generator: another shuffling order
def save_training(path, model, optimizer, loader, epoch):
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "torch_rng": torch.get_rng_state()}, path)


def resume_training(path, model, optimizer, loader):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["torch_rng"])
    return checkpoint["epoch"]

# %% [mutant ex4_resume] saves the random states but not the optimizer's
def save_training(path, model, optimizer, loader, epoch):
    torch.save({"model": model.state_dict(),
                "epoch": epoch,
                "torch_rng": torch.get_rng_state(),
                "loader_rng": loader.generator.get_state()}, path)


def resume_training(path, model, optimizer, loader):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    torch.set_rng_state(checkpoint["torch_rng"])
    loader.generator.set_state(checkpoint["loader_rng"])
    return checkpoint["epoch"]

# %% [mutant ex5_load_matching] strict=False alone: it does not skip other shapes
def load_matching(model, state_dict):
    result = model.load_state_dict(state_dict, strict=False)
    return result.missing_keys

# %% [mutant ex5_load_matching] returns the unexpected keys instead of the missing ones
def load_matching(model, state_dict):
    own = model.state_dict()
    fitting = {name: tensor for name, tensor in state_dict.items()
               if name in own and tensor.shape == own[name].shape}
    result = model.load_state_dict(fitting, strict=False)
    return result.unexpected_keys

# %% [mutant ex5_load_matching] skips other shapes but not other names
def load_matching(model, state_dict):
    own = model.state_dict()
    fitting = {name: tensor for name, tensor in state_dict.items()
               if name not in own or tensor.shape == own[name].shape}
    result = model.load_state_dict(fitting, strict=False)
    return result.missing_keys + result.unexpected_keys

# %% [mutant ex3_checkpoint] the optimizer's state in a second file beside the first
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)
    torch.save(optimizer.state_dict(), path + ".optimizer")


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(torch.load(path + ".optimizer", weights_only=True))
    return checkpoint["epoch"]

# %% [mutant ex4_resume] re-seeds torch with the epoch instead of restoring its state
def save_training(path, model, optimizer, loader, epoch):
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "loader_rng": loader.generator.get_state()}, path)


def resume_training(path, model, optimizer, loader):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    loader.generator.set_state(checkpoint["loader_rng"])
    torch.manual_seed(checkpoint["epoch"])
    return checkpoint["epoch"]

# %% [mutant ex6_predict_state] counts the parameters only, forgetting batch norm's buffers
model_entries = 6
momentum_entries = 6
plain_sgd_entries = 0

# %% [mutant ex6_predict_state] forgets num_batches_tracked
model_entries = 8
momentum_entries = 6
plain_sgd_entries = 0

# %% [mutant ex6_predict_state] thinks the optimizer keeps state for the buffers too
model_entries = 9
momentum_entries = 9
plain_sgd_entries = 0

# %% [mutant ex6_predict_state] thinks plain SGD keeps an entry per parameter
model_entries = 9
momentum_entries = 6
plain_sgd_entries = 6
