"""Unit tests of nncourse.training on tiny data (fast)."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nncourse.training import accuracy, evaluate, train_epoch


def _blobs(n=96, seed=0):
    """Two well separated classes in 2-D: (n, 2) float, (n,) long."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 2, generator=g) * 0.3 + (y[:, None] * 2.0 - 1.0) * 1.5
    return X, y


def _loader(X, y, batch_size=16, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(0) if shuffle else None)


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    y = torch.tensor([0, 1, 1, 0])
    assert accuracy(logits, y) == pytest.approx(0.5)
    assert isinstance(accuracy(logits, y), float)


def test_accuracy_of_empty_batch_is_zero():
    assert accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)) == 0.0


def test_train_epoch_returns_weighted_mean_loss_and_learns():
    torch.manual_seed(0)
    X, y = _blobs()
    net = nn.Linear(2, 2)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    first = train_epoch(net, _loader(X, y, shuffle=True), loss_fn, optimizer)
    for _ in range(5):
        last = train_epoch(net, _loader(X, y, shuffle=True), loss_fn, optimizer)
    assert isinstance(first, float)
    assert last < first
    _, acc = evaluate(net, _loader(X, y))
    assert acc > 0.95


def test_train_epoch_mean_matches_a_hand_written_loop():
    # batch 16 on 40 samples: the last batch holds 8; the mean must weight it by size
    X, y = _blobs(n=40)
    torch.manual_seed(1)
    net_a = nn.Linear(2, 2)
    net_b = nn.Linear(2, 2)
    net_b.load_state_dict(net_a.state_dict())
    loss_fn = nn.CrossEntropyLoss()
    opt_a = torch.optim.SGD(net_a.parameters(), lr=0.1)
    opt_b = torch.optim.SGD(net_b.parameters(), lr=0.1)
    got = train_epoch(net_a, _loader(X, y), loss_fn, opt_a)
    total = 0.0
    for Xb, yb in _loader(X, y):
        opt_b.zero_grad()
        loss = loss_fn(net_b(Xb), yb)
        loss.backward()
        opt_b.step()
        total += loss.item() * len(yb)
    assert got == pytest.approx(total / 40, rel=1e-6)
    for pa, pb in zip(net_a.parameters(), net_b.parameters()):
        assert torch.allclose(pa, pb)


def test_train_epoch_zeroes_gradients_each_step():
    # with zero_grad, the gradient after the epoch is the last batch's gradient only
    X, y = _blobs(n=32)
    net = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)  # lr 0: weights stay put
    loss_fn = nn.CrossEntropyLoss()
    train_epoch(net, _loader(X, y, batch_size=8), loss_fn, optimizer)
    net.zero_grad()
    loss_fn(net(X[24:]), y[24:]).backward()
    last_batch_grad = net.weight.grad.clone()
    train_epoch(net, _loader(X, y, batch_size=8), loss_fn, optimizer)
    assert torch.allclose(net.weight.grad, last_batch_grad, atol=1e-6)


def test_train_epoch_switches_to_train_mode():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    net.eval()
    X, y = _blobs(n=8)
    train_epoch(net, _loader(X, y), nn.CrossEntropyLoss(),
                torch.optim.SGD(net.parameters(), lr=0.1))
    assert net.training


def test_evaluate_uses_eval_mode_no_grad_and_restores_mode():
    seen = {}

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, X):
            seen["training"] = self.training
            seen["grad"] = torch.is_grad_enabled()
            return self.linear(X)

    net = Spy()
    net.train()
    X, y = _blobs(n=20)
    loss, acc = evaluate(net, _loader(X, y), nn.CrossEntropyLoss())
    assert seen == {"training": False, "grad": False}
    assert net.training  # restored
    with torch.no_grad():
        logits = net.linear(X)
    expected = nn.functional.cross_entropy(logits, y).item()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert acc == pytest.approx(accuracy(logits, y))
    assert net.linear.weight.grad is None


def test_evaluate_without_loss_fn_returns_none_loss():
    X, y = _blobs(n=20)
    loss, acc = evaluate(nn.Linear(2, 2), _loader(X, y))
    assert loss is None
    assert 0.0 <= acc <= 1.0


def test_evaluate_keeps_eval_mode_when_model_was_in_eval():
    net = nn.Linear(2, 2).eval()
    X, y = _blobs(n=8)
    evaluate(net, _loader(X, y))
    assert not net.training
