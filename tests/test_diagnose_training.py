"""The training-loop recognisers name each classic mistake, and pass a correct loop."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nncourse.checks import CheckFailure
from nncourse.diagnose_training import (
    EVAL_IN_TRAIN_MODE, EVAL_WITH_GRAD, KEPT_GRAPH, MISSING_ZERO_GRAD, MODE_NOT_RESTORED,
    STEP_BEFORE_BACKWARD, ZERO_BETWEEN, check_evaluation, check_training_loop)
from nncourse.training import evaluate, train_epoch


def _setup(n=40):
    torch.manual_seed(0)
    X, y = torch.randn(n, 4), torch.arange(n) % 3
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3))
    return net, loader, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.1)


def _loop(order, zero=True, item=True, mean="weighted"):
    def train(net, loader, loss_fn, optimizer):
        net.train()
        total, count, values = 0.0, 0, []
        for X, y in loader:
            if zero and order != "zero-between":
                optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            if order == "step-first":
                optimizer.step()
                loss.backward()
            elif order == "zero-between":
                loss.backward()
                optimizer.zero_grad()
                optimizer.step()
            else:
                loss.backward()
                optimizer.step()
            values.append(loss.item() if item else loss)
            total += loss.item() * len(y)
            count += len(y)
        if not item:
            return sum(values) / len(values)
        return total / count if mean == "weighted" else sum(values) / len(values)
    return train


def test_correct_loops_pass():
    assert isinstance(check_training_loop(train_epoch, *_setup(), quiet=True), float)
    check_training_loop(_loop("ok"), *_setup(), quiet=True)


@pytest.mark.parametrize("loop, message", [
    (_loop("ok", zero=False), MISSING_ZERO_GRAD),
    (_loop("step-first"), STEP_BEFORE_BACKWARD),
    (_loop("step-first", zero=False), STEP_BEFORE_BACKWARD),
    (_loop("zero-between"), ZERO_BETWEEN),
    (_loop("ok", item=False), KEPT_GRAPH),
])
def test_mistakes_are_named(loop, message):
    with pytest.raises(CheckFailure) as err:
        check_training_loop(loop, *_setup(), quiet=True)
    assert message in str(err.value)


def test_plain_mean_is_recognised():
    with pytest.raises(CheckFailure, match="plain mean"):
        check_training_loop(_loop("ok", mean="plain"), *_setup(), quiet=True)


def test_evaluation_mistakes_are_named():
    net, loader, loss_fn, _ = _setup()
    check_evaluation(evaluate, net, loader, loss_fn, quiet=True)

    def in_train_mode(net, loader):
        with torch.no_grad():
            return [net(X) for X, _ in loader]

    def with_grad(net, loader):
        net.eval()
        out = [net(X) for X, _ in loader]
        net.train()
        return out

    def not_restored(net, loader):
        net.eval()
        with torch.no_grad():
            return [net(X) for X, _ in loader]

    for fn, message in [(in_train_mode, EVAL_IN_TRAIN_MODE), (with_grad, EVAL_WITH_GRAD),
                        (not_restored, MODE_NOT_RESTORED)]:
        with pytest.raises(CheckFailure) as err:
            check_evaluation(fn, net, loader, quiet=True)
        assert message in str(err.value)


def _steps(keep_tensors=False, shift=False):
    def train(net, loader, loss_fn, optimizer):
        net.train()
        losses = []
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss if keep_tensors else loss.item())
        return losses[1:] + losses[:1] if shift else losses
    return train


def test_per_step_losses():
    losses = check_training_loop(_steps(), *_setup(), quiet=True)
    assert len(losses) == 3 and all(isinstance(v, float) for v in losses)
    with pytest.raises(CheckFailure) as err:
        check_training_loop(_steps(keep_tensors=True), *_setup(), quiet=True)
    assert KEPT_GRAPH in str(err.value)
    with pytest.raises(CheckFailure, match="step 0"):
        check_training_loop(_steps(shift=True), *_setup(), quiet=True)


def _sgd(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad + weight_decay * p
            if momentum:
                state[i] = g.clone() if i not in state else (
                    momentum * state[i] + (1 - dampening) * g)
                g = g + momentum * state[i] if nesterov else state[i]
            p -= lr * g


def test_step_function_matches_and_mistakes_are_named():
    from nncourse.diagnose_training import _sgd_variant, check_step_function
    hyper = dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)
    check_step_function(_sgd, torch.optim.SGD, hyper, num_steps=10, quiet=True)
    check_step_function(_sgd, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True),
                        num_steps=10, quiet=True)
    for mistake, words in [("no_buffer", "keep a buffer"), ("zero_buffer", "starts at zero"),
                           ("decay_after", "belongs in the gradient")]:
        with pytest.raises(CheckFailure, match=words):
            check_step_function(_sgd_variant(mistake), torch.optim.SGD, hyper,
                                num_steps=10, quiet=True)


def test_adamw_mistakes_are_named():
    from nncourse.diagnose_training import _adamw_variant, check_step_function
    check_step_function(_adamw_variant(None, True), torch.optim.AdamW,
                        dict(lr=0.01, amsgrad=True), num_steps=10, quiet=True)
    for mistake, words in [("l2", "L2 penalty"), ("no_bias_correction", "bias correction"),
                           ("default_decay_zero", "default weight_decay")]:
        with pytest.raises(CheckFailure, match=words):
            check_step_function(_adamw_variant(mistake, False), torch.optim.AdamW,
                                dict(lr=0.01), num_steps=10, quiet=True)


def test_step_functions_may_not_call_torch_optim():
    from nncourse.diagnose_training import check_step_function

    def cheat(params, state, lr):
        state.setdefault("opt", torch.optim.SGD(params, lr=lr)).step()

    with pytest.raises(CheckFailure, match="not allowed"):
        check_step_function(cheat, torch.optim.SGD, dict(lr=0.1), num_steps=2, quiet=True)
    assert torch.optim.SGD.step.__name__ != "blocked"  # put back afterwards


def test_param_groups():
    from nncourse.diagnose_training import check_param_groups
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    decay = [p for p in net.parameters() if p.dim() >= 2]
    rest = [p for p in net.parameters() if p.dim() < 2]
    good = torch.optim.SGD([{"params": decay, "weight_decay": 0.1},
                            {"params": rest, "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    check_param_groups(good, net, lr=0.1, weight_decay=0.1, momentum=0.9, quiet=True)
    by_name = torch.optim.SGD(
        [{"params": [p for n, p in net.named_parameters() if "bias" not in n],
          "weight_decay": 0.1},
         {"params": [p for n, p in net.named_parameters() if "bias" in n],
          "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    with pytest.raises(CheckFailure, match="1.weight"):
        check_param_groups(by_name, net, lr=0.1, weight_decay=0.1, momentum=0.9)
    missing = torch.optim.SGD([{"params": decay, "weight_decay": 0.1},
                               {"params": rest[:1]}], lr=0.1)
    with pytest.raises(CheckFailure, match="in no group"):
        check_param_groups(missing, net, lr=0.1, weight_decay=0.1)


def test_a_net_left_in_eval_mode_is_named():
    from nncourse.diagnose_training import TRAIN_IN_EVAL_MODE

    def _without_train(net, loader, loss_fn, optimizer):
        total, count = 0.0, 0
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(y), count + len(y)
        return total / count

    net, loader, loss_fn, optimizer = _setup()
    with pytest.raises(CheckFailure) as err:
        check_training_loop(_without_train, net.eval(), loader, loss_fn, optimizer,
                            quiet=True)
    assert TRAIN_IN_EVAL_MODE in str(err.value)
    net, loader, loss_fn, optimizer = _setup()
    check_training_loop(train_epoch, net.eval(), loader, loss_fn, optimizer, quiet=True)


def _run(seed=0):
    torch.manual_seed(seed)
    X, y = torch.randn(40, 4), torch.arange(40) % 3
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return net, loader


def _steps_run():
    net, loader = _run()
    return net, loader, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.2,
                                                               momentum=0.9)


def test_same_steps_accepts_the_loop_and_names_a_replayed_pass():
    import itertools

    from nncourse.diagnose_training import REPLAYED_FIRST_PASS, check_same_steps

    def loop(net, loader, loss_fn, optimizer, num_steps, batches):
        losses = []
        for X, y in itertools.islice(batches, num_steps):
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    def every_pass(loader):
        while True:
            yield from loader

    net, loader, loss_fn, optimizer = _steps_run()
    losses = loop(net, loader, loss_fn, optimizer, 7, every_pass(loader))
    check_same_steps(net, _steps_run, 7, losses, quiet=True)
    with pytest.raises(CheckFailure, match="step 2"):
        check_same_steps(net, _steps_run, 7, losses[:2] + [0.0] + losses[3:], quiet=True)
    net, loader, loss_fn, optimizer = _steps_run()
    loop(net, loader, loss_fn, optimizer, 7, itertools.cycle(loader))
    with pytest.raises(CheckFailure) as err:
        check_same_steps(net, _steps_run, 7, quiet=True)
    assert REPLAYED_FIRST_PASS in str(err.value)


def test_same_fit_names_missing_momentum_and_the_plain_mean():
    from nncourse.diagnose_training import NO_MOMENTUM, _replay_fit, check_same_fit

    net, loader = _run()
    epochs = _replay_fit(net, loader, 3, 0.2)
    weighted = [sum(v * n for v, n in zip(*e)) / sum(e[1]) for e in epochs]
    check_same_fit(net, weighted, _run, 3, 0.2, quiet=True)
    with pytest.raises(CheckFailure, match="plain mean"):
        check_same_fit(net, [sum(e[0]) / len(e[0]) for e in epochs], _run, 3, 0.2,
                       quiet=True)
    net, loader = _run()
    _replay_fit(net, loader, 3, 0.2, momentum=0.0)
    with pytest.raises(CheckFailure) as err:
        check_same_fit(net, weighted, _run, 3, 0.2, quiet=True)
    assert NO_MOMENTUM in str(err.value)


def test_schedule_mistakes_are_recognised():
    import math

    from nncourse.diagnose_training import schedule_hint

    def cosine(t, total, lr=0.1):
        return lr * (1 + math.cos(math.pi * t / total)) / 2

    right = [cosine(e, 4) for e in range(4)]
    assert schedule_hint(right, right, 3) is None
    assert "never changes" in schedule_hint([0.1] * 4, right, 3)
    assert "next epoch" in schedule_hint([cosine(e + 1, 4) for e in range(4)], right, 3)
    assert "once per batch" in schedule_hint([cosine(3 * e, 4) for e in range(4)], right, 3)
    assert schedule_hint([0.05, 0.04, 0.03, 0.02], right, 3) is None


def test_predicted_steps_accepts_the_count_and_names_the_usual_mistakes():
    from nncourse.diagnose_training import check_predicted_steps

    check_predicted_steps(16, 1000, 64, quiet=True)
    check_predicted_steps(15, 1000, 64, drop_last=True, quiet=True)
    check_predicted_steps(2, 128, 64, drop_last=True, quiet=True)   # nothing to drop
    with pytest.raises(CheckFailure, match="full batches only"):
        check_predicted_steps(15, 1000, 64)
    with pytest.raises(CheckFailure, match="thrown away"):
        check_predicted_steps(16, 1000, 64, drop_last=True)
    with pytest.raises(CheckFailure, match="an int"):
        check_predicted_steps(15.625, 1000, 64)
    with pytest.raises(CheckFailure) as err:
        check_predicted_steps(20, 1000, 64)
    assert "too large" in str(err.value) and "16" not in str(err.value)


def test_predicted_lr_follows_torch_and_names_the_usual_mistakes():
    from nncourse.diagnose_training import check_predicted_lr, step_lr_after

    assert step_lr_after(0.8, 3, 0.5, 7) == pytest.approx(0.2)
    assert step_lr_after(1.0, 2, 0.1, 5) == pytest.approx(0.01)
    check_predicted_lr(0.2, 0.8, 3, 0.5, 7, quiet=True)
    check_predicted_lr(2e-1, 0.8, 3, 0.5, 7, quiet=True)
    for wrong, text in ((0.1, "one decay too many"), (0.8 * 0.5 ** 7, "every call"),
                        (0.4, "one decay too few"), (0.8, "does change")):
        with pytest.raises(CheckFailure, match=text) as err:
            check_predicted_lr(wrong, 0.8, 3, 0.5, 7)
        assert "0.2 " not in str(err.value) + " "
    with pytest.raises(CheckFailure, match="a number"):
        check_predicted_lr(torch.tensor(0.2), 0.8, 3, 0.5, 7)


def test_plotting_early_stopping_and_checkpoint_draw(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nncourse.plotting import _checkpoint_lines, plot_early_stopping, show_checkpoint

    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    plot_early_stopping([1.0, 0.5, 0.3], [0.9, 0.6, 0.7], best_epoch=2)
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    checkpoint = {"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                  "epoch": 3, "torch_rng": torch.get_rng_state()}
    lines = _checkpoint_lines(checkpoint["optimizer"])
    assert "  0: momentum_buffer: float32 (2, 3)" in lines
    assert "param_groups[0]: " in lines and "  params: [0, 1, 2, 3]" in lines
    assert _checkpoint_lines(checkpoint["epoch"]) == ["3"]
    assert "1.num_batches_tracked: 1 (0-d int64)" in _checkpoint_lines(checkpoint["model"])
    show_checkpoint(checkpoint, notes={"model": "model.state_dict()"}, max_lines=5)


def test_predicted_first_adam_step_follows_torch_and_names_the_usual_mistakes():
    import math

    from nncourse.diagnose_training import check_predicted_first_step, first_adam_moves

    moves = first_adam_moves(0.01)
    assert torch.allclose(moves, torch.full_like(moves, 0.01), rtol=1e-4)
    uncorrected = 0.01 * 0.1 / math.sqrt(0.001)
    assert torch.allclose(first_adam_moves(0.01, bias_correction=False),
                          torch.full_like(moves, uncorrected), rtol=1e-3)
    check_predicted_first_step(0.01, lr=0.01, quiet=True)
    check_predicted_first_step(1e-2, lr=0.01, quiet=True)
    check_predicted_first_step(0.0316, lr=0.01, bias_correction=False, quiet=True)
    check_predicted_first_step(0.05, lr=0.05, betas=(0.8, 0.99), quiet=True)
    for wrong, correction, text in ((0.0316, True, "without the bias correction"),
                                    (0.001, True, "corrects v but not m"),
                                    (0.01, False, "the corrected step"),
                                    (1.0, False, "square root of v"),
                                    (0.0, True, "does move")):
        with pytest.raises(CheckFailure, match=text) as err:
            check_predicted_first_step(wrong, lr=0.01, bias_correction=correction)
        right = "0.0316" if not correction else "0.01 "
        assert right not in str(err.value).replace(f"({wrong:g})", "")
    with pytest.raises(CheckFailure, match="too large") as err:
        check_predicted_first_step(0.02, lr=0.01)
    assert "Hint: on the first step" in str(err.value)     # the rule only: not recognised
    with pytest.raises(CheckFailure, match="a number"):
        check_predicted_first_step("0.01", lr=0.01)


def test_sgd_decoupled_decay_is_recognised_as_decay_outside_the_gradient():
    from nncourse.diagnose_training import check_step_function

    def decoupled(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False):
        with torch.no_grad():
            for i, p in enumerate(params):
                p *= 1 - lr * weight_decay
                g = p.grad
                if momentum:
                    state[i] = g.clone() if i not in state else (
                        momentum * state[i] + (1 - dampening) * g)
                    g = state[i]
                p -= lr * g

    check_step_function(decoupled, torch.optim.SGD, dict(lr=0.05, weight_decay=0.1),
                        num_steps=10, quiet=True)   # without momentum they agree
    with pytest.raises(CheckFailure, match="belongs in the\ngradient|belongs in the "
                                           "gradient"):
        check_step_function(decoupled, torch.optim.SGD,
                            dict(lr=0.05, momentum=0.9, weight_decay=0.1), num_steps=10,
                            quiet=True)
