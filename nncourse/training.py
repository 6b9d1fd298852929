"""The training loop of the course, in three small functions.

``train_epoch`` runs one pass over a loader and returns the mean loss; ``evaluate`` returns
the mean loss and the accuracy on a loader with the model in eval mode and autograd off;
``accuracy`` is the fraction of rows whose largest logit is the true class. Chapter 9
builds them step by step; later chapters import them.
"""
import torch


def accuracy(logits, y):
    """Fraction of rows of ``logits`` (N, C) whose argmax equals ``y`` (N,), as a float."""
    if logits.shape[0] == 0:
        return 0.0
    return (logits.argmax(dim=1) == y).float().mean().item()


def _model_device(net):
    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def train_epoch(net, loader, loss_fn, optimizer, device=None):
    """One epoch of training; returns the mean loss per sample (a float).

    The order of the five steps matters: zero_grad, forward, loss, backward, step.
    The mean is weighted by batch size, so a short last batch counts for what it holds.
    """
    device = device or _model_device(net)
    net.train()
    total_loss, total_count = 0.0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)  # .item(): a number, not a graph
        total_count += len(y)
    return total_loss / max(total_count, 1)


def evaluate(net, loader, loss_fn=None, device=None):
    """Mean loss and accuracy on ``loader``: ``(loss, acc)``.

    The model is switched to eval mode (dropout off, batch norm uses its running
    statistics) and autograd is off; the previous mode is restored afterwards. Without
    ``loss_fn`` the loss is ``None``.
    """
    device = device or _model_device(net)
    was_training = net.training
    net.eval()
    total_loss, total_correct, total_count = 0.0, 0, 0
    with torch.no_grad():
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            logits = net(X)
            if loss_fn is not None:
                total_loss += loss_fn(logits, y).item() * len(y)
            total_correct += (logits.argmax(dim=1) == y).sum().item()
            total_count += len(y)
    net.train(was_training)
    count = max(total_count, 1)
    mean_loss = total_loss / count if loss_fn is not None else None
    return mean_loss, total_correct / count
