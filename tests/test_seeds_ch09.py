"""Chapter 9, exercises 4 and 6: the comparison with the replayed loop, over 200 seeds.

The training exercises are graded by replaying the loop they describe from the same start
(``check_same_steps``, ``check_same_fit``) and comparing the weights within a tolerance.
Nothing in that verdict is left to chance for a given answer, but the tolerance must hold
whatever the data and the initial weights: here, over 200 seeds of both, on small runs
(cheap, and with a short last batch and a reshuffle between passes), correct loops always
pass and the known wrong ones always fail.
"""
import itertools

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nncourse.checks import CheckFailure
from nncourse.diagnose_training import check_same_fit, check_same_steps
from nncourse.training import train_epoch

SEEDS = range(200)


def make_run(seed):
    """A small run fixed by ``seed``: 40 samples in shuffled batches of 16, 16 and 8."""
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(40, 4, generator=g), torch.randint(0, 3, (40,), generator=g)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return net, loader


def steps_run(seed):
    net, loader = make_run(seed)
    return net, loader, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.3,
                                                               momentum=0.9)


def steps_reference(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    while len(losses) < num_steps:
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == num_steps:
                break
    return losses


def steps_next(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses, batches = [], iter(loader)
    for _ in range(num_steps):
        try:
            X, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            X, y = next(batches)
        net.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def steps_cycle(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    for X, y in itertools.islice(itertools.cycle(loader), num_steps):
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def fit_reference(net, loader, num_epochs, lr, momentum=0.9, mean="weighted"):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    losses = []
    for _ in range(num_epochs):
        if mean == "weighted":
            losses.append(train_epoch(net, loader, nn.CrossEntropyLoss(), optimizer))
        else:
            net.train()
            values = []
            for X, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(net(X), y)
                loss.backward()
                optimizer.step()
                values.append(loss.item())
            losses.append(sum(values) / len(values))
        scheduler.step()
    return losses


def passes(check):
    try:
        check()
    except CheckFailure:
        return False
    return True


def steps_pass_rate(loop, num_steps=8):
    passed = 0
    for seed in SEEDS:
        net, loader, loss_fn, optimizer = steps_run(seed)
        losses = loop(net, loader, loss_fn, optimizer, num_steps)
        passed += passes(lambda: check_same_steps(net, lambda: steps_run(seed), num_steps,
                                                  losses, quiet=True))
    return passed / len(SEEDS)


def fit_pass_rate(**mistake):
    passed = 0
    for seed in SEEDS:
        net, loader = make_run(seed)
        losses = fit_reference(net, loader, 3, 0.3, **mistake)
        passed += passes(lambda: check_same_fit(net, losses, lambda: make_run(seed), 3, 0.3,
                                                quiet=True))
    return passed / len(SEEDS)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("loop", [steps_reference, steps_next])
def test_correct_loops_pass(loop):
    assert steps_pass_rate(loop) > 0.99


def test_replaying_the_first_pass_fails():
    assert steps_pass_rate(steps_cycle) < 0.01


def test_correct_fit_passes():
    assert fit_pass_rate() > 0.99


@pytest.mark.parametrize("mistake", [dict(momentum=0.0), dict(mean="plain")])
def test_wrong_fits_fail(mistake):
    assert fit_pass_rate(**mistake) < 0.01


# Exercise 8 (fix this loop): one epoch, compared with the replayed lesson loop.

def epoch_fixed(net, loader, loss_fn, optimizer):
    net.train()
    total, count = 0.0, 0
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(y), count + len(y)
    return total / count


def epoch_zero_grad_once(net, loader, loss_fn, optimizer):
    net.train()
    optimizer.zero_grad()
    for X, y in loader:
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
    return loss.item()


def epoch_pass_rate(loop):
    passed = 0
    for seed in SEEDS:
        net, loader, loss_fn, optimizer = steps_run(seed)
        loop(net, loader, loss_fn, optimizer)
        passed += passes(lambda: check_same_steps(net, lambda: steps_run(seed), len(loader),
                                                  quiet=True))
    return passed / len(SEEDS)


def test_fixed_epoch_passes_and_the_broken_one_fails():
    assert epoch_pass_rate(epoch_fixed) > 0.99
    assert epoch_pass_rate(epoch_zero_grad_once) < 0.01
