"""Plausible wrong answers for the chapter 13 exercises: each must lose its points."""

# %% [mutant ex1_shard] gives every rank a contiguous block instead of every k-th index
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = torch.randperm(n, generator=g).tolist()
    else:
        indices = list(range(n))
    per_rank = n // num_replicas if drop_last else math.ceil(n / num_replicas)
    total = per_rank * num_replicas
    while len(indices) < total:
        indices += indices[:total - len(indices)]
    return indices[rank * per_rank:(rank + 1) * per_rank]

# %% [mutant ex1_shard] seeds the shuffle with the seed alone, forgetting the epoch
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed)
        indices = torch.randperm(n, generator=g).tolist()
    else:
        indices = list(range(n))
    if drop_last:
        total = (n // num_replicas) * num_replicas
        indices = indices[:total]
    else:
        total = math.ceil(n / num_replicas) * num_replicas
        while len(indices) < total:
            indices += indices[:total - len(indices)]
    return indices[rank:total:num_replicas]

# %% [mutant ex1_shard] never pads: the ranks get shares of different sizes
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = torch.randperm(n, generator=g).tolist()
    else:
        indices = list(range(n))
    if drop_last:
        indices = indices[:(n // num_replicas) * num_replicas]
    return indices[rank::num_replicas]

# %% [mutant ex1_shard] pads once only: too short with fewer samples than ranks
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = torch.randperm(n, generator=g).tolist()
    else:
        indices = list(range(n))
    if drop_last:
        total = (n // num_replicas) * num_replicas
        indices = indices[:total]
    else:
        total = math.ceil(n / num_replicas) * num_replicas
        indices += indices[:total - len(indices)]
    return indices[rank:total:num_replicas]

# %% [mutant ex1_shard] lets DistributedSampler do it
from torch.utils.data import DistributedSampler

def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    sampler = DistributedSampler(range(n), num_replicas=num_replicas, rank=rank,
                                 shuffle=shuffle, seed=seed, drop_last=drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)

# %% [mutant ex1_shard] list() of the permutation: its elements are 0-d tensors, not ints
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = list(torch.randperm(n, generator=g))
    else:
        indices = list(range(n))
    if drop_last:
        total = (n // num_replicas) * num_replicas
        indices = indices[:total]
    else:
        total = math.ceil(n / num_replicas) * num_replicas
        while len(indices) < total:
            indices += indices[:total - len(indices)]
    return indices[rank:total:num_replicas]

# %% [mutant ex1_shard] ignores drop_last: always pads
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = torch.randperm(n, generator=g).tolist()
    else:
        indices = list(range(n))
    total = math.ceil(n / num_replicas) * num_replicas
    while len(indices) < total:
        indices += indices[:total - len(indices)]
    return indices[rank:total:num_replicas]

# %% [mutant ex1_shard] returns a tensor of indices
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = torch.randperm(n, generator=g)
    else:
        indices = torch.arange(n)
    if drop_last:
        total = (n // num_replicas) * num_replicas
        indices = indices[:total]
    else:
        total = math.ceil(n / num_replicas) * num_replicas
        indices = indices.repeat(math.ceil(total / n))[:total]
    return indices[rank:total:num_replicas]

# %% [mutant ex2_average] sums the gradients instead of averaging them
def average_gradients(replicas):
    for params in zip(*(model.parameters() for model in replicas)):
        if params[0].grad is None:
            continue
        total = torch.stack([p.grad for p in params]).sum(dim=0)
        for p in params:
            p.grad = total.clone()

# %% [mutant ex2_average] writes the average into rank 0 only
def average_gradients(replicas):
    for params in zip(*(model.parameters() for model in replicas)):
        if params[0].grad is None:
            continue
        params[0].grad = torch.stack([p.grad for p in params]).mean(dim=0)

# %% [mutant ex2_average] averages the weights instead of the gradients
def average_gradients(replicas):
    with torch.no_grad():
        for params in zip(*(model.parameters() for model in replicas)):
            mean = torch.stack([p for p in params]).mean(dim=0)
            for p in params:
                p.copy_(mean)

# %% [mutant ex2_average] divides by 2, the number of replicas of the example
def average_gradients(replicas):
    for params in zip(*(model.parameters() for model in replicas)):
        if params[0].grad is None:
            continue
        mean = torch.stack([p.grad for p in params]).sum(dim=0) / 2
        for p in params:
            p.grad = mean.clone()

# %% [mutant ex2_average] gives the frozen parameters a zero gradient
def average_gradients(replicas):
    for params in zip(*(model.parameters() for model in replicas)):
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        mean = torch.stack(grads).mean(dim=0)
        for p in params:
            p.grad = mean.clone()

# %% [mutant ex3_plan] counts the steps as if one process read the whole dataset
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    global_batch = batch_size * world_size
    return global_batch, math.ceil(n / batch_size), base_lr * global_batch / base_batch_size

# %% [mutant ex3_plan] keeps the learning rate of one process
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    steps = math.ceil(math.ceil(n / world_size) / batch_size)
    return batch_size * world_size, steps, base_lr

# %% [mutant ex3_plan] scales the learning rate by the number of processes only
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    steps = math.ceil(math.ceil(n / world_size) / batch_size)
    return batch_size * world_size, steps, base_lr * world_size

# %% [mutant ex3_plan] divides the dataset with floor, forgetting the sampler's padding
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    global_batch = batch_size * world_size
    steps = math.ceil((n // world_size) / batch_size)
    return global_batch, steps, base_lr * global_batch / base_batch_size

# %% [mutant ex3_plan] floors the steps, as if the loader dropped the last short batch
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    global_batch = batch_size * world_size
    steps = math.ceil(n / world_size) // batch_size
    return global_batch, steps, base_lr * global_batch / base_batch_size

# %% [mutant ex4_save] saves the wrapper's state_dict ("module." keys)
def save_from_rank0(model, path, rank):
    if rank == 0:
        torch.save(model.state_dict(), path)

# %% [mutant ex4_save] every rank writes the file
def save_from_rank0(model, path, rank):
    network = model.module if hasattr(model, "module") else model
    torch.save(network.state_dict(), path)

# %% [mutant ex4_save] pickles the whole model instead of its state_dict
def save_from_rank0(model, path, rank):
    if rank == 0:
        torch.save(model.module if hasattr(model, "module") else model, path)

# %% [mutant ex4_save] the rank test the wrong way round
def save_from_rank0(model, path, rank):
    if rank:
        network = model.module if hasattr(model, "module") else model
        torch.save(network.state_dict(), path)

# %% [mutant ex4_save] always unwraps: a network that is not wrapped has no .module
def save_from_rank0(model, path, rank):
    if rank == 0:
        torch.save(model.module.state_dict(), path)

# %% [mutant ex5_shard_loss] the usual mean loss on every rank
def shard_loss(logits, y, global_batch_size, world_size):
    return F.cross_entropy(logits, y)

# %% [mutant ex5_shard_loss] divides the sum by the global batch but forgets DDP's averaging
def shard_loss(logits, y, global_batch_size, world_size):
    return F.cross_entropy(logits, y, reduction="sum") / global_batch_size

# %% [mutant ex5_shard_loss] divides by world_size instead of undoing DDP's division
def shard_loss(logits, y, global_batch_size, world_size):
    return F.cross_entropy(logits, y, reduction="sum") / global_batch_size / world_size

# %% [mutant ex6_predict_shards] divides with floor: forgets that the sampler pads
samples_per_rank = 333
steps_per_epoch = 6
last_batch_size = 13
samples_per_rank_drop = 333
steps_per_epoch_drop = 5

# %% [mutant ex6_predict_shards] counts the steps of one process reading the whole dataset
samples_per_rank = 334
steps_per_epoch = 16
last_batch_size = 40
samples_per_rank_drop = 333
steps_per_epoch_drop = 15

# %% [mutant ex6_predict_shards] floors the steps: the loader keeps its last short batch
samples_per_rank = 334
steps_per_epoch = 5
last_batch_size = 14
samples_per_rank_drop = 333
steps_per_epoch_drop = 5

# %% [mutant ex6_predict_shards] takes every batch, the last one too, to be full
samples_per_rank = 334
steps_per_epoch = 6
last_batch_size = 64
samples_per_rank_drop = 333
steps_per_epoch_drop = 5

# %% [mutant ex6_predict_shards] takes drop_last to change nothing
samples_per_rank = 334
steps_per_epoch = 6
last_batch_size = 14
samples_per_rank_drop = 334
steps_per_epoch_drop = 6

# %% [mutant ex6_predict_shards] drops the sampler's tail but keeps the loader's short batch
samples_per_rank = 334
steps_per_epoch = 6
last_batch_size = 14
samples_per_rank_drop = 333
steps_per_epoch_drop = 6
