"""Other correct answers for the chapter 9 exercises: each must earn full marks."""

# %% [alternative ex1_sgd] in-place tensor methods (add_, mul_), buffers kept in a list
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        buffers = state.setdefault("momentum_buffer", [None] * len(params))
        for i, p in enumerate(params):
            d_p = p.grad.clone()
            if weight_decay:
                d_p.add_(p, alpha=weight_decay)
            if momentum:
                if buffers[i] is None:
                    buffers[i] = d_p.clone()
                else:
                    buffers[i].mul_(momentum).add_(d_p, alpha=1 - dampening)
                if nesterov:
                    d_p = d_p.add(buffers[i], alpha=momentum)
                else:
                    d_p = buffers[i]
            p.add_(d_p, alpha=-lr)

# %% [alternative ex1_sgd] p.data updated, state keyed by the parameter's position
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        for k in range(len(params)):
            p = params[k]
            grad = p.grad + weight_decay * p.data
            if momentum > 0:
                first_step = k not in state
                buf = grad.clone() if first_step else (
                    momentum * state[k] + (1 - dampening) * grad)
                state[k] = buf
                grad = grad + momentum * buf if nesterov else buf
            p.data = p.data - lr * grad

# %% [alternative ex1_sgd] 小土堆-style names, a step counter, torch.mul and torch.sub
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        state["step"] = state.get("step", 0) + 1
        for idx, param in enumerate(params):
            grad = param.grad
            if weight_decay != 0:
                grad = torch.add(grad, torch.mul(param, weight_decay))
            if momentum != 0:
                key = f"buf{idx}"
                if state["step"] == 1:
                    state[key] = torch.clone(grad).detach()
                else:
                    state[key] = torch.mul(state[key], momentum) + torch.mul(grad,
                                                                             1 - dampening)
                if nesterov:
                    grad = torch.add(grad, torch.mul(state[key], momentum))
                else:
                    grad = state[key]
            param.copy_(torch.sub(param, torch.mul(grad, lr)))

# %% [alternative ex2_adamw] torch's arrangement: lr / bc1, denominator sqrt(v / bc2) + eps
first_step = 0.01
first_step_without_correction = 0.03162


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    with torch.no_grad():
        for i, p in enumerate(params):
            s = state.setdefault(i, {"step": 0, "exp_avg": torch.zeros_like(p),
                                     "exp_avg_sq": torch.zeros_like(p)})
            s["step"] += 1
            p.mul_(1 - lr * weight_decay)
            s["exp_avg"].lerp_(p.grad, 1 - beta1)
            s["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            bias_correction1 = 1 - beta1 ** s["step"]
            bias_correction2 = 1 - beta2 ** s["step"]
            if amsgrad:
                s["max_exp_avg_sq"] = torch.maximum(s.get("max_exp_avg_sq", s["exp_avg_sq"]),
                                                    s["exp_avg_sq"])
                second = s["max_exp_avg_sq"]
            else:
                second = s["exp_avg_sq"]
            denom = (second.sqrt() / math.sqrt(bias_correction2)).add_(eps)
            p.addcdiv_(s["exp_avg"], denom, value=-lr / bias_correction1)

# %% [alternative ex2_adamw] moments in lists, the step count under its own key, out-of-place
first_step = 1e-2                                        # lr, whatever g
first_step_without_correction = 0.01 * 0.1 / math.sqrt(0.001)  # as arithmetic


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    if not state:
        state["t"] = 0
        state["m"] = [torch.zeros_like(p) for p in params]
        state["v"] = [torch.zeros_like(p) for p in params]
        state["v_max"] = [torch.zeros_like(p) for p in params]
    state["t"] += 1
    t = state["t"]
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad
            state["m"][i] = beta1 * state["m"][i] + (1 - beta1) * g
            state["v"][i] = beta2 * state["v"][i] + (1 - beta2) * g ** 2
            v = state["v"][i]
            if amsgrad:
                state["v_max"][i] = torch.max(state["v_max"][i], v)
                v = state["v_max"][i]
            m_hat = state["m"][i] / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            new_p = p * (1 - lr * weight_decay) - lr * m_hat / (torch.sqrt(v_hat) + eps)
            p.copy_(new_p)

# %% [alternative ex2_adamw] the statement's adam_step edited: the decay shrinks the weight
first_step = 0.010
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    with torch.no_grad():
        for i, p in enumerate(params):
            p.sub_(lr * weight_decay * p)          # decoupled: the weight itself shrinks
            g = p.grad
            m, v, v_max = state.get(i, (torch.zeros_like(p),) * 3)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            v_max = torch.maximum(v_max, v)
            state[i] = (m, v, v_max)
            m_hat = m / (1 - beta1 ** t)
            v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
            p -= lr * m_hat / (v_hat.sqrt() + eps)

# %% [alternative ex3_groups] one loop over the parameters, p.ndim, lr given per group
def make_optimizer(net, lr, weight_decay):
    decay, no_decay = [], []
    for p in net.parameters():
        if p.ndim > 1:
            decay.append(p)
        else:
            no_decay.append(p)
    return torch.optim.SGD([
        dict(params=decay, lr=lr, weight_decay=weight_decay),
        dict(params=no_decay, lr=lr, weight_decay=0),
    ], lr=lr, momentum=0.9)

# %% [alternative ex3_groups] 小土堆 style: optim.SGD, named_parameters, len(shape)
from torch import optim


def make_optimizer(net, lr, weight_decay):
    weights = [param for name, param in net.named_parameters() if len(param.shape) >= 2]
    others = [param for name, param in net.named_parameters() if len(param.shape) < 2]
    optimizer = optim.SGD([{"params": weights},
                           {"params": others, "weight_decay": 0.0}],
                          lr=lr, momentum=0.9, weight_decay=weight_decay)
    return optimizer

# %% [alternative ex4_loop] iter and next, a new iterator when the loader runs out
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    batches = iter(loader)
    for _ in range(num_steps):
        try:
            X, y = next(batches)
        except StopIteration:
            batches = iter(loader)  # a new pass: the loader shuffles again
            X, y = next(batches)
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses

# %% [alternative ex4_loop] 小土堆 style: a step counter, float(loss), net.zero_grad()
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    losses = []
    total_train_step = 0
    net.train()
    epoch = 0
    while total_train_step < num_steps:
        epoch += 1
        for data in loader:
            imgs, targets = data
            outputs = net(imgs)
            loss = loss_fn(outputs, targets)
            net.zero_grad()
            loss.backward()
            optimizer.step()
            total_train_step = total_train_step + 1
            losses.append(float(loss))
            if total_train_step >= num_steps:
                break
    return losses

# %% [alternative ex4_loop] a generator function that yields batches forever
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    def forever(loader):
        while True:
            yield from loader  # each pass is a new iteration over the loader

    net.train(True)
    losses = []
    for step, (X, y) in zip(range(num_steps), forever(loader)):
        optimizer.zero_grad(set_to_none=True)
        output = net(X)
        loss = loss_fn(output, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach().item())
    return losses

# %% [alternative ex5_confusion] vectorised: bincount of true * C + predicted
def confusion_matrix(net, loader, num_classes):
    net.eval()
    trues, preds = [], []
    with torch.no_grad():
        for X, y in loader:
            trues.append(y)
            preds.append(net(X).argmax(dim=1))
    net.train()
    codes = torch.cat(trues) * num_classes + torch.cat(preds)  # (N,)
    counts = torch.bincount(codes, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)

# %% [alternative ex5_confusion] inference_mode, index_put_ with accumulate, train(True)
def confusion_matrix(net, loader, num_classes):
    net.eval()
    matrix = torch.zeros((num_classes, num_classes), dtype=torch.int64)
    with torch.inference_mode():
        for X, y in loader:
            pred = torch.max(net(X), 1)[1]
            matrix.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    net.train(True)
    return matrix

# %% [alternative ex5_confusion] 小土堆 style (imgs, targets), a list of lists of ints
def confusion_matrix(net, loader, num_classes):
    counts = [[0] * num_classes for _ in range(num_classes)]
    net.eval()
    with torch.no_grad():
        for data in loader:
            imgs, targets = data
            outputs = net(imgs)
            for t, p in zip(targets.tolist(), outputs.argmax(1).tolist()):
                counts[t][p] += 1
    net.train()
    return torch.tensor(counts, dtype=torch.long)

# %% [alternative ex6_schedule] the lr read with scheduler.get_last_lr(), epoch written out
from nncourse.training import train_epoch


def fit(net, train_loader, num_epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs,
                                                           eta_min=0.0)
    losses, lrs = [], []
    for _ in range(num_epochs):
        lrs.append(scheduler.get_last_lr()[0])
        losses.append(train_epoch(net, train_loader, nn.CrossEntropyLoss(), optimizer))
        scheduler.step()
    return losses, lrs

# %% [alternative ex6_schedule] its own epoch loop (weighted mean), F.cross_entropy
def fit(net, train_loader, num_epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_epochs)
    losses, lrs = [], []
    for epoch in range(num_epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        net.train()
        total, count = 0.0, 0
        for X, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(net(X), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * X.shape[0]
            count += X.shape[0]
        losses.append(total / count)
        scheduler.step()
    return losses, lrs

# %% [alternative ex6_schedule] 小土堆 style: optim, lr_scheduler, a loss_fn object
from torch import optim
from torch.optim import lr_scheduler

from nncourse.training import train_epoch


def fit(net, train_loader, num_epochs, lr):
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr, momentum=0.9)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    history = {"loss": [], "lr": []}
    for i in range(num_epochs):
        history["lr"].append(scheduler.get_last_lr()[0])
        history["loss"].append(train_epoch(net, train_loader, loss_fn, optimizer))
        scheduler.step()
    return history["loss"], history["lr"]

# %% [alternative ex7_predict] the same values as arithmetic on the given numbers
import math

steps_per_epoch = math.ceil(1000 / 64)
steps_per_epoch_drop_last = 1000 // 64
lr_after_7 = 0.8 * 0.5 ** (7 // 3)

# %% [alternative ex7_predict] written as literals, the rate in scientific notation
steps_per_epoch, steps_per_epoch_drop_last = 16, 15
lr_after_7 = 2e-1

# %% [alternative ex8_fix_loop] net.zero_grad(), loss.detach() summed, float() at the end
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    total, count = torch.zeros(()), 0
    for X, y in loader:
        net.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        total = total + loss.detach() * y.shape[0]
        count += y.shape[0]
    return float(total / count)

# %% [alternative ex8_fix_loop] zero_grad(set_to_none=False), per-batch lists, weighted mean
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    losses, sizes = [], []
    for inputs, targets in loader:
        optimizer.zero_grad(set_to_none=False)
        outputs = net(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        sizes.append(len(targets))
    return sum(l * n for l, n in zip(losses, sizes)) / sum(sizes)
