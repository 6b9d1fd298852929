"""Other correct answers for the chapter 11 exercises: each must earn full marks."""

# %% [alternative ex1_save_state] through an open file object
def save_state(net, path):
    with open(path, "wb") as f:
        torch.save(net.state_dict(), f)

# %% [alternative ex1_save_state] a plain dict of detached copies, parameters then buffers
def save_state(net, path):
    state = {name: p.detach().clone() for name, p in net.named_parameters()}
    state.update({name: b.clone() for name, b in net.named_buffers()})
    torch.save(state, path)

# %% [alternative ex1_save_state] 小土堆 style: "method 2", the state dict saved by name
def save_state(net, path):
    state_dict = net.state_dict()
    torch.save(state_dict, path)
    print(f"saved {len(state_dict)} entries to {os.path.basename(path)}")

# %% [alternative ex2_load_inference] map_location as a torch.device, train(False), chained
def load_for_inference(make_model, path):
    state = torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    model = make_model()
    model.load_state_dict(state, strict=True)
    return model.train(False)

# %% [alternative ex2_load_inference] map_location as a function, requires_grad off as well
def load_for_inference(make_model, path):
    state = torch.load(path, map_location=lambda storage, location: storage)
    model = make_model()
    model.load_state_dict(state)
    model.eval()
    model.requires_grad_(False)  # inference only: no gradients needed
    return model

# %% [alternative ex3_checkpoint] the tutorial's key names, the epoch read back with int()
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({
        "epoch": epoch,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
    }, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    return int(checkpoint["epoch"])

# %% [alternative ex3_checkpoint] a tuple in the file, unpacked when loading
def save_checkpoint(path, model, optimizer, epoch):
    torch.save((model.state_dict(), optimizer.state_dict(), epoch), path)


def load_checkpoint(path, model, optimizer):
    model_state, optimizer_state, epoch = torch.load(path, map_location="cpu",
                                                     weights_only=True)
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    return epoch

# %% [alternative ex4_resume] torch.random's functions, the sampler's generator, other keys
def save_training(path, model, optimizer, loader, epoch):
    torch.save(dict(epoch=epoch, model_state=model.state_dict(),
                    optim_state=optimizer.state_dict(),
                    cpu_rng=torch.random.get_rng_state(),
                    shuffle_rng=loader.sampler.generator.get_state()), path)


def resume_training(path, model, optimizer, loader):
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model_state"])
    optimizer.load_state_dict(state["optim_state"])
    torch.random.set_rng_state(state["cpu_rng"])
    loader.sampler.generator.set_state(state["shuffle_rng"])
    return state["epoch"]

# %% [alternative ex4_resume] Python's random state saved too, restored in another order
import random


def save_training(path, model, optimizer, loader, epoch):
    checkpoint = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "loader": loader.generator.get_state(),
                "python": random.getstate()},
    }
    torch.save(checkpoint, path)


def resume_training(path, model, optimizer, loader):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    random.setstate(checkpoint["rng"]["python"])
    loader.generator.set_state(checkpoint["rng"]["loader"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]

# %% [alternative ex5_load_matching] copies by hand under no_grad, names collected in a loop
def load_matching(model, state_dict):
    own = model.state_dict()  # tensors that share memory with the model's
    not_loaded = []
    with torch.no_grad():
        for name, tensor in own.items():
            source = state_dict.get(name)
            if source is not None and source.shape == tensor.shape:
                tensor.copy_(source)
            else:
                not_loaded.append(name)
    return not_loaded

# %% [alternative ex5_load_matching] the model's own dict updated, then loaded strictly
def load_matching(model, state_dict):
    merged = model.state_dict()
    loaded = set()
    for name, tensor in state_dict.items():
        if name in merged and merged[name].shape == tensor.shape:
            merged[name] = tensor
            loaded.add(name)
    model.load_state_dict(merged)
    return [name for name in merged if name not in loaded]

# %% [alternative ex6_predict_state] plain literals on one line
model_entries, momentum_entries, plain_sgd_entries = 9, 6, 0

# %% [alternative ex6_predict_state] the counts written out from the layers
params = 2 + 2 + 2                # weight and bias of Linear, BatchNorm1d, Linear
bn_buffers = 3                    # running_mean, running_var, num_batches_tracked
model_entries = params + bn_buffers
momentum_entries = params
plain_sgd_entries = 0
