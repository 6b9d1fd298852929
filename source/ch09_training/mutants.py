"""Plausible wrong answers for the chapter 9 exercises: each must lose its points."""

# %% [mutant ex1_sgd] forgets the momentum buffer: plain SGD whatever the momentum
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        for p in params:
            g = p.grad + weight_decay * p
            p -= lr * g

# %% [mutant ex1_sgd] starts the buffer at zero, so the first step is damped too
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad + weight_decay * p
            if momentum != 0:
                buf = state.get(i, torch.zeros_like(p))
                state[i] = momentum * buf + (1 - dampening) * g
                g = g + momentum * state[i] if nesterov else state[i]
            p -= lr * g

# %% [mutant ex1_sgd] adds weight decay to the step instead of to the gradient
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad
            if momentum != 0:
                if i not in state:
                    state[i] = g.clone()
                else:
                    state[i] = momentum * state[i] + (1 - dampening) * g
                g = g + momentum * state[i] if nesterov else state[i]
            p -= lr * (g + weight_decay * p)

# %% [mutant ex1_sgd] Nesterov steps with the buffer, like plain momentum
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad + weight_decay * p
            if momentum != 0:
                if i not in state:
                    state[i] = g.clone()
                else:
                    state[i] = momentum * state[i] + (1 - dampening) * g
                g = state[i]
            p -= lr * g

# %% [mutant ex2_adamw] Adam's L2 penalty (added to the gradient) instead of decoupled decay
first_step = 0.01
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    with torch.no_grad():
        state["t"] = state.get("t", 0) + 1
        t = state["t"]
        for i, p in enumerate(params):
            g = p.grad + weight_decay * p
            s = state.setdefault(i, {"m": torch.zeros_like(p), "v": torch.zeros_like(p),
                                     "v_max": torch.zeros_like(p)})
            s["m"] = beta1 * s["m"] + (1 - beta1) * g
            s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
            s["v_max"] = torch.maximum(s["v_max"], s["v"])
            v = s["v_max"] if amsgrad else s["v"]
            p -= lr * (s["m"] / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + eps)

# %% [mutant ex2_adamw] no bias correction
first_step = 0.01
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad
            s = state.setdefault(i, {"m": torch.zeros_like(p), "v": torch.zeros_like(p),
                                     "v_max": torch.zeros_like(p)})
            p *= 1 - lr * weight_decay
            s["m"] = beta1 * s["m"] + (1 - beta1) * g
            s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
            s["v_max"] = torch.maximum(s["v_max"], s["v"])
            v = s["v_max"] if amsgrad else s["v"]
            p -= lr * s["m"] / (v.sqrt() + eps)

# %% [mutant ex2_adamw] decays by weight_decay alone, forgetting the factor lr
first_step = 0.01
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    with torch.no_grad():
        state["t"] = state.get("t", 0) + 1
        t = state["t"]
        for i, p in enumerate(params):
            g = p.grad
            s = state.setdefault(i, {"m": torch.zeros_like(p), "v": torch.zeros_like(p),
                                     "v_max": torch.zeros_like(p)})
            p *= 1 - weight_decay
            s["m"] = beta1 * s["m"] + (1 - beta1) * g
            s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
            s["v_max"] = torch.maximum(s["v_max"], s["v"])
            v = s["v_max"] if amsgrad else s["v"]
            p -= lr * (s["m"] / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + eps)

# %% [mutant ex1_sgd] AdamW's decoupled decay in SGD: the buffer never sees the decay
def sgd_step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
    with torch.no_grad():
        for i, p in enumerate(params):
            p *= 1 - lr * weight_decay
            g = p.grad
            if momentum != 0:
                if i not in state:
                    state[i] = g.clone()
                else:
                    state[i] = momentum * state[i] + (1 - dampening) * g
                g = g + momentum * state[i] if nesterov else state[i]
            p -= lr * g

# %% [mutant ex2_adamw] the statement's Adam unchanged: L2 penalty, default decay 0
first_step = 0.01
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               amsgrad=False):
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    with torch.no_grad():
        for i, p in enumerate(params):
            g = p.grad + weight_decay * p
            m, v, v_max = state.get(i, (torch.zeros_like(p),) * 3)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            v_max = torch.maximum(v_max, v)
            state[i] = (m, v, v_max)
            m_hat = m / (1 - beta1 ** t)
            v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
            p -= lr * m_hat / (v_hat.sqrt() + eps)

# %% [mutant ex3_groups] one group: weight decay on every parameter
def make_optimizer(net, lr, weight_decay):
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)

# %% [mutant ex3_groups] sorts by name: normalisation scales ("weight") get decayed
def make_optimizer(net, lr, weight_decay):
    decay = [p for name, p in net.named_parameters() if not name.endswith("bias")]
    no_decay = [p for name, p in net.named_parameters() if name.endswith("bias")]
    return torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=0.9)

# %% [mutant ex3_groups] forgets the momentum
def make_optimizer(net, lr, weight_decay):
    decay = [p for p in net.parameters() if p.dim() >= 2]
    no_decay = [p for p in net.parameters() if p.dim() < 2]
    return torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}], lr=lr)

# %% [mutant ex4_loop] never calls zero_grad: gradients accumulate
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    while len(losses) < num_steps:
        for X, y in loader:
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == num_steps:
                break
    return losses

# %% [mutant ex4_loop] steps before backward
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    while len(losses) < num_steps:
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            optimizer.step()
            loss.backward()
            losses.append(loss.item())
            if len(losses) == num_steps:
                break
    return losses

# %% [mutant ex4_loop] one pass over the loader only
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if len(losses) == num_steps:
            break
    return losses

# %% [mutant ex4_loop] keeps the loss tensors (and their graphs)
def train_steps(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    while len(losses) < num_steps:
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss)
            if len(losses) == num_steps:
                break
    return losses

# %% [mutant ex5_confusion] evaluates in training mode
def confusion_matrix(net, loader, num_classes):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    with torch.no_grad():
        for X, y in loader:
            for true, pred in zip(y, net(X).argmax(dim=1)):
                matrix[true, pred] += 1
    return matrix

# %% [mutant ex5_confusion] rows are the predictions, columns the true classes
def confusion_matrix(net, loader, num_classes):
    net.eval()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    with torch.no_grad():
        for X, y in loader:
            for true, pred in zip(y, net(X).argmax(dim=1)):
                matrix[pred, true] += 1
    net.train()
    return matrix

# %% [mutant ex5_confusion] leaves the model in eval mode
def confusion_matrix(net, loader, num_classes):
    net.eval()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    with torch.no_grad():
        for X, y in loader:
            for true, pred in zip(y, net(X).argmax(dim=1)):
                matrix[true, pred] += 1
    return matrix

# %% [mutant ex6_schedule] no scheduler: a constant learning rate
from nncourse.training import train_epoch


def fit(net, train_loader, num_epochs, lr):
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    losses, lrs = [], []
    for epoch in range(num_epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        losses.append(train_epoch(net, train_loader, loss_fn, optimizer))
    return losses, lrs

# %% [mutant ex6_schedule] steps the scheduler after every batch
def fit(net, train_loader, num_epochs, lr):
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    losses, lrs = [], []
    for epoch in range(num_epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        net.train()
        total, count = 0.0, 0
        for X, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(y)
            count += len(y)
        losses.append(total / count)
    return losses, lrs

# %% [mutant ex6_schedule] steps the scheduler before the epoch
from nncourse.training import train_epoch


def fit(net, train_loader, num_epochs, lr):
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    losses, lrs = [], []
    for epoch in range(num_epochs):
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        losses.append(train_epoch(net, train_loader, loss_fn, optimizer))
    return losses, lrs

# %% [mutant ex2_adamw] ignores amsgrad: always the current second moment
first_step = 0.01
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    with torch.no_grad():
        state["t"] = state.get("t", 0) + 1
        t = state["t"]
        for i, p in enumerate(params):
            s = state.setdefault(i, {"m": torch.zeros_like(p), "v": torch.zeros_like(p)})
            p *= 1 - lr * weight_decay
            s["m"] = beta1 * s["m"] + (1 - beta1) * p.grad
            s["v"] = beta2 * s["v"] + (1 - beta2) * p.grad * p.grad
            m_hat, v_hat = s["m"] / (1 - beta1 ** t), s["v"] / (1 - beta2 ** t)
            p -= lr * m_hat / (v_hat.sqrt() + eps)

# %% [mutant ex2_adamw] eps inside the square root
first_step = 0.01
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    with torch.no_grad():
        state["t"] = state.get("t", 0) + 1
        t = state["t"]
        for i, p in enumerate(params):
            s = state.setdefault(i, {"m": torch.zeros_like(p), "v": torch.zeros_like(p),
                                     "v_max": torch.zeros_like(p)})
            p *= 1 - lr * weight_decay
            s["m"] = beta1 * s["m"] + (1 - beta1) * p.grad
            s["v"] = beta2 * s["v"] + (1 - beta2) * p.grad * p.grad
            s["v_max"] = torch.maximum(s["v_max"], s["v"])
            v = s["v_max"] if amsgrad else s["v"]
            m_hat, v_hat = s["m"] / (1 - beta1 ** t), v / (1 - beta2 ** t)
            p -= lr * m_hat / (v_hat + eps).sqrt()

# %% [mutant ex3_groups] the two groups in the other order: biases and scales first
def make_optimizer(net, lr, weight_decay):
    no_decay = [p for p in net.parameters() if p.dim() < 2]
    decay = [p for p in net.parameters() if p.dim() >= 2]
    return torch.optim.SGD([{"params": no_decay, "weight_decay": 0.0},
                            {"params": decay, "weight_decay": weight_decay}],
                           lr=lr, momentum=0.9)

# %% [mutant ex4_loop] never puts the model in training mode
def train_steps(net, loader, loss_fn, optimizer, num_steps):
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

# %% [mutant ex4_loop] itertools.cycle: the later passes replay the first pass's batches
import itertools


def train_steps(net, loader, loss_fn, optimizer, num_steps):
    net.train()
    losses = []
    for _, (X, y) in zip(range(num_steps), itertools.cycle(loader)):
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses

# %% [mutant ex5_confusion] vectorised matrix[y, pred] += 1: a repeated pair counts once
def confusion_matrix(net, loader, num_classes):
    net.eval()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    with torch.no_grad():
        for X, y in loader:
            matrix[y, net(X).argmax(dim=1)] += 1
    net.train()
    return matrix

# %% [mutant ex5_confusion] evaluates with autograd on (no torch.no_grad())
def confusion_matrix(net, loader, num_classes):
    net.eval()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for X, y in loader:
        for true, pred in zip(y, net(X).argmax(dim=1)):
            matrix[true, pred] += 1
    net.train()
    return matrix

# %% [mutant ex6_schedule] SGD without momentum
from nncourse.training import train_epoch


def fit(net, train_loader, num_epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    losses, lrs = [], []
    for epoch in range(num_epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        losses.append(train_epoch(net, train_loader, nn.CrossEntropyLoss(), optimizer))
        scheduler.step()
    return losses, lrs

# %% [mutant ex6_schedule] its own epoch loop returning the plain mean of the batch losses
def fit(net, train_loader, num_epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    losses, lrs = [], []
    for epoch in range(num_epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        net.train()
        batch_losses = []
        for X, y in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(X), y)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
        scheduler.step()
    return losses, lrs

# %% [mutant ex7_predict] counts the full batches only, and forgets that drop_last drops
steps_per_epoch = 15
steps_per_epoch_drop_last = 16
lr_after_7 = 0.2

# %% [mutant ex7_predict] floor for both counts: the last, smaller batch is a step too
steps_per_epoch = 1000 // 64
steps_per_epoch_drop_last = 1000 // 64
lr_after_7 = 0.2

# %% [mutant ex7_predict] one decay too many: decays counted from the first call
steps_per_epoch = 16
steps_per_epoch_drop_last = 15
lr_after_7 = 0.1

# %% [mutant ex7_predict] StepLR read as a decay at every call
steps_per_epoch = 16
steps_per_epoch_drop_last = 15
lr_after_7 = 0.8 * 0.5 ** 7

# %% [mutant ex7_predict] the counts as the fraction 1000 / 64
steps_per_epoch = 1000 / 64
steps_per_epoch_drop_last = 15
lr_after_7 = 0.2

# %% [mutant ex8_fix_loop] the colleague's loop, unchanged
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    optimizer.zero_grad()
    total_loss, count = 0.0, 0
    for X, y in loader:
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        total_loss += loss * len(y)
        count += len(y)
    return total_loss / count

# %% [mutant ex8_fix_loop] fixes the loss only: zero_grad still once per epoch
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    optimizer.zero_grad()
    total_loss, count = 0.0, 0
    for X, y in loader:
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        count += len(y)
    return total_loss / count

# %% [mutant ex8_fix_loop] fixes zero_grad only: returns a tensor holding every graph
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    total_loss, count = 0.0, 0
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        total_loss += loss * len(y)
        count += len(y)
    return total_loss / count

# %% [mutant ex8_fix_loop] zero_grad moved between backward and step: no gradient is used
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    total_loss, count = 0.0, 0
    for X, y in loader:
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        total_loss += loss.item() * len(y)
        count += len(y)
    return total_loss / count

# %% [mutant ex8_fix_loop] the plain mean of the batch losses: the last batch is smaller
def train_one_epoch(net, loader, loss_fn, optimizer):
    net.train()
    losses = []
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)

# %% [mutant ex2_adamw] predicts that the bias correction changes nothing on the first step
first_step = 0.01
first_step_without_correction = 0.01


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    with torch.no_grad():
        for i, p in enumerate(params):
            p *= 1 - lr * weight_decay
            m, v, v_max = state.get(i, (torch.zeros_like(p),) * 3)
            m = beta1 * m + (1 - beta1) * p.grad
            v = beta2 * v + (1 - beta2) * p.grad * p.grad
            v_max = torch.maximum(v_max, v)
            state[i] = (m, v, v_max)
            v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
            p -= lr * (m / (1 - beta1 ** t)) / (v_hat.sqrt() + eps)

# %% [mutant ex2_adamw] predicts a damped first step, lr * (1 - beta1), as if m were uncorrected
first_step = 0.01 * 0.1
first_step_without_correction = 0.0316


def adamw_step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
               amsgrad=False):
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    with torch.no_grad():
        for i, p in enumerate(params):
            p *= 1 - lr * weight_decay
            m, v, v_max = state.get(i, (torch.zeros_like(p),) * 3)
            m = beta1 * m + (1 - beta1) * p.grad
            v = beta2 * v + (1 - beta2) * p.grad * p.grad
            v_max = torch.maximum(v_max, v)
            state[i] = (m, v, v_max)
            v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
            p -= lr * (m / (1 - beta1 ** t)) / (v_hat.sqrt() + eps)
