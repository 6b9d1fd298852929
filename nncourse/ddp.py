"""Data-parallel training on CPU: the training script of chapter 13, and its launcher.

Run it on two CPU processes that talk through the gloo backend::

    torchrun --standalone --nproc-per-node=2 -m nncourse.ddp --out runs/ddp

(``python -m torch.distributed.run`` is the same program as ``torchrun``.) Every process
trains a replica of a small network on its own shard of the digits, picked by a
``DistributedSampler``; ``DistributedDataParallel`` averages the gradients of all replicas
after every ``backward``, so they take the same step and stay identical. Each rank saves
its weights to ``rank<R>.pt`` (so that they can be compared); rank 0 alone saves the model,
through ``model.module``, to ``model.pt``.

``train_ddp_gpu`` is the same script for NVIDIA GPUs, one process per GPU (``--gpu``): the
nccl backend, ``LOCAL_RANK`` picking each process's GPU, ``device_ids``, and batch norm
made ``SyncBatchNorm``. ``train_single_process`` replays the same steps in one process, on global batches made of
what both ranks saw at each step; ``launch`` starts torchrun from Python (a notebook, a test)
with its noise captured.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from nncourse.data import load_digits

# The settings of the run the lesson and the tests make (the command line can change them).
DEFAULTS = {"num_epochs": 3, "batch_size": 32, "lr": 0.5, "seed": 0}


def make_model(seed=0):
    """The network every rank trains: 64 pixels -> 32 hidden units -> 10 digits."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def make_bn_model(seed=0):
    """The network of the GPU recipe: the same, with batch norm after the hidden layer."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),
                         nn.Linear(32, 10))


def digits_datasets():
    """The embedded digits, flattened to 64 features: ``(train, test)`` TensorDatasets."""
    X_train, y_train, X_test, y_test = load_digits()
    return (TensorDataset(X_train.flatten(1), y_train),   # (1437, 64), (1437,)
            TensorDataset(X_test.flatten(1), y_test))     # (360, 64), (360,)


def digits_accuracy(model):
    """Fraction of the test digits that ``model`` classifies right."""
    _, test = digits_datasets()
    X, y = test.tensors
    with torch.no_grad():
        return (model(X).argmax(dim=1) == y).float().mean().item()


def train_ddp(out_dir, num_epochs, batch_size, lr, seed):
    """What every process runs; ``batch_size`` is per rank (the global batch is twice that
    on two ranks). torchrun provides RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT."""
    dist.init_process_group("gloo")                 # gloo: the CPU backend (nccl for GPUs)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    model = DDP(make_model(seed))                   # broadcasts rank 0's weights to all
    train, _ = digits_datasets()
    sampler = DistributedSampler(train, num_replicas=world_size, rank=rank,
                                 shuffle=True, seed=seed)
    loader = DataLoader(train, batch_size=batch_size, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for epoch in range(num_epochs):
        sampler.set_epoch(epoch)                    # a new shuffle, the same on every rank
        for X, y in loader:                         # (batch_size, 64), (batch_size,)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X), y)     # the mean over this rank's shard
            loss.backward()                         # ...and here DDP all-reduces the grads
            optimizer.step()
            losses.append(loss.item())
    out_dir = Path(out_dir)
    torch.save(model.module.state_dict(), out_dir / f"rank{rank}.pt")
    if rank == 0:                                   # one writer, the unwrapped model
        torch.save(model.module.state_dict(), out_dir / "model.pt")
        summary = {"world_size": world_size, "steps": len(losses),
                   "samples_per_rank": len(sampler), "last_loss": losses[-1]}
        (out_dir / "summary.json").write_text(json.dumps(summary))
    dist.barrier()                                  # nobody leaves before the files exist
    dist.destroy_process_group()


def train_ddp_gpu(out_dir, num_epochs, batch_size, lr, seed):
    """What every process runs on a machine with NVIDIA GPUs: one process per GPU.

    torchrun sets LOCAL_RANK, the index of this process on its machine, which is also the
    index of the GPU it is to use (RANK counts the processes over all machines)."""
    local_rank = int(os.environ["LOCAL_RANK"])      # 0 .. GPUs on this machine - 1
    torch.cuda.set_device(local_rank)               # this process's default GPU
    dist.init_process_group("nccl")                 # nccl: the backend for NVIDIA GPUs
    rank, world_size = dist.get_rank(), dist.get_world_size()
    net = make_bn_model(seed)
    net = nn.SyncBatchNorm.convert_sync_batchnorm(net)  # statistics over all GPUs' shards
    model = DDP(net.to(local_rank), device_ids=[local_rank])
    train, _ = digits_datasets()
    sampler = DistributedSampler(train, num_replicas=world_size, rank=rank,
                                 shuffle=True, seed=seed)
    loader = DataLoader(train, batch_size=batch_size, sampler=sampler, pin_memory=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for epoch in range(num_epochs):
        sampler.set_epoch(epoch)
        for X, y in loader:
            X, y = X.to(local_rank, non_blocking=True), y.to(local_rank, non_blocking=True)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()                         # all-reduce of the gradients, on GPU
            optimizer.step()
            losses.append(loss.item())
    out_dir = Path(out_dir)
    if rank == 0:                                   # one writer; CPU tensors load anywhere
        state = {k: v.cpu() for k, v in model.module.state_dict().items()}
        torch.save(state, out_dir / "model.pt")
        summary = {"world_size": world_size, "backend": dist.get_backend(),
                   "steps": len(losses), "samples_per_rank": len(sampler),
                   "last_loss": losses[-1]}
        (out_dir / "summary.json").write_text(json.dumps(summary))
    dist.barrier()
    dist.destroy_process_group()


def global_batches(dataset, world_size, batch_size, seed, epoch):
    """The global batches of one epoch: at step k, what all ranks' loaders give at step k,
    concatenated (rank 0 first). Uses the real DistributedSampler of every rank."""
    per_rank = []
    for rank in range(world_size):
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank,
                                     shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        per_rank.append(DataLoader(dataset, batch_size=batch_size, sampler=sampler))
    for batches in zip(*per_rank):
        X = torch.cat([X for X, _ in batches])     # (world_size * batch_size, 64)
        y = torch.cat([y for _, y in batches])
        yield X, y


def train_single_process(num_epochs, batch_size, lr, seed, world_size=2):
    """The same training in one process, on the global batches of ``world_size`` ranks."""
    model = make_model(seed)
    train, _ = digits_datasets()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(num_epochs):
        for X, y in global_batches(train, world_size, batch_size, seed, epoch):
            optimizer.zero_grad()
            F.cross_entropy(model(X), y).backward()
            optimizer.step()
    return model


def torchrun_command(out_dir, nproc=2, gpu=False, **settings):
    """The command line that starts ``nproc`` processes running this module.

    ``python -m torch.distributed.run`` is ``torchrun`` run by this very interpreter. One
    node; the rendezvous (where the processes find each other) listens on a free port
    (port 0) of the loopback address 127.0.0.1, so no network is needed. ``gpu=True`` runs
    ``train_ddp_gpu`` instead (``nproc`` then is the number of GPUs to use).
    """
    settings = {**DEFAULTS, **settings}
    command = [sys.executable, "-m", "torch.distributed.run",
               "--nnodes=1", f"--nproc-per-node={nproc}",
               "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0",
               # torchrun looks at its workers every 5 s by default: it would sit idle for
               # up to 5 s after they finished
               "--monitor-interval=0.1",
               "--max-restarts=0", "-m", "nncourse.ddp", "--out", str(out_dir)]
    for name, value in settings.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command + (["--gpu"] if gpu else [])


def launch(out_dir, nproc=2, timeout=300, gpu=False, **settings):
    """Run this module under torchrun with ``nproc`` processes; return the finished process.

    Output is captured, so torchrun's messages do not reach the caller's screen; on failure
    a ``RuntimeError`` carries them. OMP_NUM_THREADS is set so that torchrun does not warn.
    """
    command = torchrun_command(out_dir, nproc, gpu, **settings)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"torchrun failed (exit code {done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the saved weights")
    parser.add_argument("--num-epochs", type=int, default=DEFAULTS["num_epochs"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                        help="samples per rank and step")
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--gpu", action="store_true",
                        help="one process per NVIDIA GPU, nccl (train_ddp_gpu)")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    train = train_ddp_gpu if args.gpu else train_ddp
    train(args.out, args.num_epochs, args.batch_size, args.lr, args.seed)


if __name__ == "__main__":
    main()
