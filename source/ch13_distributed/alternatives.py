"""Other correct answers for the chapter 13 exercises: each must earn full marks."""

# %% [alternative ex1_shard] pads by position modulo n, a comprehension picks the share
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator().manual_seed(seed + epoch)
        order = [int(i) for i in torch.randperm(n, generator=g)]
    else:
        order = list(range(n))
    if drop_last:
        total = n - n % num_replicas
    else:
        total = -(-n // num_replicas) * num_replicas           # ceil without floats
    padded = [order[i % n] for i in range(total)]              # repeats from the start
    return [padded[i] for i in range(rank, total, num_replicas)]

# %% [alternative ex1_shard] DistributedSampler's own way: the list times the repeats needed
def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    if shuffle:
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        indices = torch.randperm(n, generator=g).tolist()
    else:
        indices = list(range(n))
    if drop_last and n % num_replicas != 0:
        num_samples = math.ceil((n - num_replicas) / num_replicas)
    else:
        num_samples = math.ceil(n / num_replicas)
    total_size = num_samples * num_replicas
    if not drop_last:
        padding_size = total_size - len(indices)
        if padding_size <= len(indices):
            indices += indices[:padding_size]
        else:
            indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
    else:
        indices = indices[:total_size]
    return indices[rank:total_size:num_replicas]

# %% [alternative ex1_shard] itertools.cycle for the padding, a slice with a step
import itertools

def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False):
    order = list(range(n))
    if shuffle:
        generator = torch.Generator()
        generator.manual_seed(seed + epoch)
        order = torch.randperm(n, generator=generator).tolist()
    per_rank = n // num_replicas if drop_last else math.ceil(n / num_replicas)
    total = per_rank * num_replicas
    order = list(itertools.islice(itertools.cycle(order), total))
    return order[rank::num_replicas]

# %% [alternative ex2_average] sum over the replicas, divided, copied into each grad
def average_gradients(replicas):
    per_replica = [list(model.parameters()) for model in replicas]
    with torch.no_grad():
        for j in range(len(per_replica[0])):
            grads = [params[j].grad for params in per_replica]
            if grads[0] is None:
                continue
            mean = sum(grads) / len(replicas)
            for grad in grads:
                grad.copy_(mean)

# %% [alternative ex2_average] by parameter name, a running total, torch.mean-free
def average_gradients(replicas):
    world_size = len(replicas)
    named = [dict(model.named_parameters()) for model in replicas]
    for name, p0 in named[0].items():
        if p0.grad is None:
            continue
        total = torch.zeros_like(p0.grad)
        for params in named:
            total += params[name].grad
        for params in named:
            params[name].grad = total / world_size

# %% [alternative ex2_average] torch.mean over a stacked dimension, one detached copy each
def average_gradients(replicas):
    for params in zip(*[m.parameters() for m in replicas]):
        grads = [p.grad for p in params]
        if any(grad is None for grad in grads):
            continue
        mean = torch.mean(torch.stack(grads, dim=0), dim=0)
        for p in params:
            p.grad = mean.detach().clone()
    return None

# %% [alternative ex3_plan] integer ceilings, the rule written as a ratio
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    per_rank = (n + world_size - 1) // world_size
    steps = (per_rank + batch_size - 1) // batch_size
    global_batch = world_size * batch_size
    return global_batch, steps, base_lr * (global_batch / base_batch_size)

# %% [alternative ex3_plan] the batches of one rank counted with range
def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    samples = math.ceil(n / world_size)
    steps_per_epoch = len(range(0, samples, batch_size))
    scale = batch_size * world_size / base_batch_size
    return (batch_size * world_size, steps_per_epoch, scale * base_lr)

# %% [alternative ex3_plan] -(-a // b) as the ceiling, the scale as a fraction
from fractions import Fraction

def ddp_plan(n, batch_size, world_size, base_lr, base_batch_size):
    global_batch = batch_size * world_size
    steps = -(-(-(-n // world_size)) // batch_size)
    lr = float(base_lr * Fraction(global_batch, base_batch_size))
    return global_batch, steps, lr

# %% [alternative ex4_save] unwraps with isinstance, torch.save with keywords
def save_from_rank0(model, path, rank):
    wrappers = (nn.DataParallel, nn.parallel.DistributedDataParallel)
    network = model.module if isinstance(model, wrappers) else model
    if rank == 0:
        torch.save(obj=network.state_dict(), f=path)

# %% [alternative ex4_save] getattr with a default
def save_from_rank0(model, path, rank):
    if rank == 0:
        torch.save(getattr(model, "module", model).state_dict(), path)

# %% [alternative ex4_save] the wrapper's keys with their "module." prefix taken off
def save_from_rank0(model, path, rank):
    if rank:
        return None
    state = model.state_dict()
    state = {key.removeprefix("module."): value for key, value in state.items()}
    torch.save(state, path)

# %% [alternative ex5_shard_loss] the mean loss scaled by this rank's share of the batch
def shard_loss(logits, y, global_batch_size, world_size):
    n_rank = logits.shape[0]
    return F.cross_entropy(logits, y) * n_rank * world_size / global_batch_size

# %% [alternative ex5_shard_loss] an nn.CrossEntropyLoss object that sums
def shard_loss(logits, y, global_batch_size, world_size):
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    loss = loss_fn(logits, y)
    return loss / (global_batch_size / world_size)

# %% [alternative ex5_shard_loss] log_softmax and gather, by hand
def shard_loss(logits, y, global_batch_size, world_size):
    log_probs = F.log_softmax(logits, dim=1)                   # (n_rank, C)
    picked = log_probs.gather(1, y.unsqueeze(1)).squeeze(1)    # (n_rank,)
    return -picked.sum() * world_size / global_batch_size

# %% [alternative ex6_predict_shards] the numbers worked out as arithmetic on the page
samples_per_rank = math.ceil(1000 / 3)
steps_per_epoch = math.ceil(334 / 64)
last_batch_size = 334 - 5 * 64
samples_per_rank_drop = 1000 // 3
steps_per_epoch_drop = 333 // 64

# %% [alternative ex6_predict_shards] integer ceilings written with -(-a // b)
samples_per_rank = -(-1000 // 3)
steps_per_epoch = -(-334 // 64)
last_batch_size = 334 % 64
samples_per_rank_drop = (1000 - 1000 % 3) // 3
steps_per_epoch_drop = (333 - 333 % 64) // 64
