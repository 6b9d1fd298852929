"""Plausible wrong answers for the chapter 8 exercises: each must lose its points."""

# %% [mutant ex1_regression] L1 and MSE swapped
def l1_loss(pred, target, reduction="mean"):
    errors = (pred - target).pow(2)
    return {"mean": errors.mean(), "sum": errors.sum()}.get(reduction, errors)


def mse_loss(pred, target, reduction="mean"):
    errors = (pred - target).abs()
    return {"mean": errors.mean(), "sum": errors.sum()}.get(reduction, errors)

# %% [mutant ex1_regression] averages over the samples only (adds up the features)
def l1_loss(pred, target, reduction="mean"):
    errors = (pred - target).abs()
    if reduction == "mean":
        return errors.reshape(len(errors), -1).sum(dim=1).mean() if errors.dim() > 1 \
            else errors.mean()
    return errors.sum() if reduction == "sum" else errors


def mse_loss(pred, target, reduction="mean"):
    errors = (pred - target).pow(2)
    if reduction == "mean":
        return errors.reshape(len(errors), -1).sum(dim=1).mean() if errors.dim() > 1 \
            else errors.mean()
    return errors.sum() if reduction == "sum" else errors

# %% [mutant ex1_regression] MSE returns its square root (RMSE)
def l1_loss(pred, target, reduction="mean"):
    errors = (pred - target).abs()
    return {"mean": errors.mean(), "sum": errors.sum()}.get(reduction, errors)


def mse_loss(pred, target, reduction="mean"):
    errors = (pred - target).pow(2)
    return {"mean": errors.mean().sqrt(), "sum": errors.sum().sqrt()}.get(reduction, errors)

# %% [mutant ex1_regression] calls torch's own losses
def l1_loss(pred, target, reduction="mean"):
    return F.l1_loss(pred, target, reduction=reduction)


def mse_loss(pred, target, reduction="mean"):
    return nn.MSELoss(reduction=reduction)(pred, target)

# %% [mutant ex2_cross_entropy] softmax applied before the loss
def cross_entropy(logits, y):
    log_probs = F.log_softmax(logits.softmax(dim=1), dim=1)
    return -log_probs[torch.arange(len(y)), y].mean()

# %% [mutant ex2_cross_entropy] softmax(...).log(): -inf once a probability rounds to 0
def cross_entropy(logits, y):
    log_probs = logits.softmax(dim=1).log()
    return -log_probs[torch.arange(len(y)), y].mean()

# %% [mutant ex2_cross_entropy] sums instead of averaging
def cross_entropy(logits, y):
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(len(y)), y].sum()

# %% [mutant ex2_cross_entropy] log-softmax over the batch dimension
def cross_entropy(logits, y):
    log_probs = F.log_softmax(logits, dim=0)
    return -log_probs[torch.arange(len(y)), y].mean()

# %% [mutant ex3_weighted] divides the weighted sum by the number of kept samples
def weighted_cross_entropy(logits, y, weight=None, ignore_index=-100, reduction="mean"):
    log_probs = F.log_softmax(logits, dim=1)
    if weight is None:
        weight = torch.ones(logits.shape[1])
    keep = y != ignore_index
    safe_y = torch.where(keep, y, torch.zeros_like(y))
    losses = -log_probs[torch.arange(len(y)), safe_y] * weight[safe_y] * keep
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / keep.sum()

# %% [mutant ex3_weighted] the ignored samples still count in the mean
def weighted_cross_entropy(logits, y, weight=None, ignore_index=-100, reduction="mean"):
    log_probs = F.log_softmax(logits, dim=1)
    if weight is None:
        weight = torch.ones(logits.shape[1])
    keep = y != ignore_index
    safe_y = torch.where(keep, y, torch.zeros_like(y))
    losses = -log_probs[torch.arange(len(y)), safe_y] * weight[safe_y] * keep
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / weight[safe_y].sum()

# %% [mutant ex3_weighted] indexes with ignore_index: no masking at all
def weighted_cross_entropy(logits, y, weight=None, ignore_index=-100, reduction="mean"):
    log_probs = F.log_softmax(logits, dim=1)
    if weight is None:
        weight = torch.ones(logits.shape[1])
    losses = -log_probs[torch.arange(len(y)), y] * weight[y]
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / weight[y].sum()

# %% [mutant ex4_smoothing] spreads eps over the C - 1 other classes
def smoothed_cross_entropy(logits, y, label_smoothing=0.0, reduction="mean"):
    num_classes = logits.shape[1]
    log_probs = F.log_softmax(logits, dim=1)
    target = torch.full_like(log_probs, label_smoothing / (num_classes - 1))
    target[torch.arange(len(y)), y] = 1 - label_smoothing
    losses = -(target * log_probs).sum(dim=1)
    return {"mean": losses.mean(), "sum": losses.sum()}.get(reduction, losses)

# %% [mutant ex4_smoothing] the true class gets 1 - eps only (the target rows do not sum to 1)
def smoothed_cross_entropy(logits, y, label_smoothing=0.0, reduction="mean"):
    num_classes = logits.shape[1]
    log_probs = F.log_softmax(logits, dim=1)
    target = torch.full_like(log_probs, label_smoothing / num_classes)
    target[torch.arange(len(y)), y] = 1 - label_smoothing
    losses = -(target * log_probs).sum(dim=1)
    return {"mean": losses.mean(), "sum": losses.sum()}.get(reduction, losses)

# %% [mutant ex4_smoothing] ignores reduction
def smoothed_cross_entropy(logits, y, label_smoothing=0.0, reduction="mean"):
    num_classes = logits.shape[1]
    log_probs = F.log_softmax(logits, dim=1)
    target = torch.full_like(log_probs, label_smoothing / num_classes)
    target[torch.arange(len(y)), y] += 1 - label_smoothing
    return -(target * log_probs).sum(dim=1).mean()

# %% [mutant ex5_targets] a bare squeeze(): drops the batch of one, keeps one-hot rows
def to_class_indices(labels):
    return labels.squeeze().long()

# %% [mutant ex5_targets] view(-1): flattens one-hot rows into N * C numbers
def to_class_indices(labels):
    return labels.view(-1).long()

# %% [mutant ex5_targets] forgets the dtype
def to_class_indices(labels):
    if labels.dim() == 2 and labels.shape[1] > 1:
        return labels.argmax(dim=1)
    if labels.dim() == 2:
        return labels.squeeze(1)
    return labels

# %% [mutant ex6_initial] counts the classes from the labels in the batch
def initial_loss_check(net, X, y, tol=0.3):
    with torch.no_grad():
        loss = nn.CrossEntropyLoss()(net(X), y).item()
    expected = math.log(int(y.max()) + 1)
    return loss, expected, abs(loss - expected) <= tol

# %% [mutant ex6_initial] softmax before the loss
def initial_loss_check(net, X, y, tol=0.3):
    with torch.no_grad():
        logits = net(X)
        loss = nn.CrossEntropyLoss()(logits.softmax(dim=1), y).item()
    expected = math.log(logits.shape[1])
    return loss, expected, abs(loss - expected) <= tol

# %% [mutant ex6_initial] log base 10
def initial_loss_check(net, X, y, tol=0.3):
    with torch.no_grad():
        logits = net(X)
        loss = nn.CrossEntropyLoss()(logits, y).item()
    expected = math.log10(logits.shape[1])
    return loss, expected, abs(loss - expected) <= tol

# %% [mutant ex6_initial] calls backward to get the loss
def initial_loss_check(net, X, y, tol=0.3):
    logits = net(X)
    loss = nn.CrossEntropyLoss()(logits, y)
    loss.backward()
    expected = math.log(logits.shape[1])
    return loss.item(), expected, abs(loss.item() - expected) <= tol

# %% [mutant ex7_grad] the gradient of the summed loss (forgets / N)
def cross_entropy_grad(logits, y):
    one_hot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return logits.softmax(dim=1) - one_hot

# %% [mutant ex7_grad] sign flipped
def cross_entropy_grad(logits, y):
    one_hot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return (one_hot - logits.softmax(dim=1)) / len(y)

# %% [mutant ex7_grad] F.one_hot without num_classes: too few columns when a class is absent
def cross_entropy_grad(logits, y):
    one_hot = F.one_hot(y).to(logits.dtype)
    return (logits.softmax(dim=1) - one_hot) / len(y)

# %% [mutant ex2_cross_entropy] log_probs[:, y] picks an N x N block and averages all of it
def cross_entropy(logits, y):
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[:, y].mean()

# %% [mutant ex3_weighted] ignores the ignore_index argument: always masks -100
def weighted_cross_entropy(logits, y, weight=None, ignore_index=-100, reduction="mean"):
    log_probs = F.log_softmax(logits, dim=1)
    if weight is None:
        weight = torch.ones(logits.shape[1])
    keep = y != -100
    safe_y = torch.where(keep, y, torch.zeros_like(y))
    w = weight[safe_y] * keep
    losses = -log_probs[torch.arange(len(y)), safe_y] * w
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()

# %% [mutant ex6_initial] no torch.no_grad(): the loss is right but a graph is built
def initial_loss_check(net, X, y, tol=0.3):
    logits = net(X)
    loss = nn.CrossEntropyLoss()(logits, y).item()
    expected = math.log(logits.shape[1])
    return loss, expected, abs(loss - expected) <= tol

# %% [mutant ex6_initial] detaches the logits: the net still ran with autograd on
def initial_loss_check(net, X, y, tol=0.3):
    logits = net(X).detach()
    loss = nn.CrossEntropyLoss()(logits, y).item()
    expected = math.log(logits.shape[1])
    return loss, expected, abs(loss - expected) <= tol

# %% [mutant ex7_grad] autograd switched back on inside the function
def cross_entropy_grad(logits, y):
    with torch.enable_grad():
        z = logits.detach().clone().requires_grad_(True)
        log_probs = z.log_softmax(dim=1)
        loss = -log_probs[torch.arange(len(y)), y].mean()
        (grad,) = torch.autograd.grad(loss, z)
    return grad

# %% [mutant ex7_grad] divides by N * C, as if the mean ran over every element
def cross_entropy_grad(logits, y):
    one_hot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return (logits.softmax(dim=1) - one_hot) / logits.numel()

# %% [mutant ex7_grad] only the true class gets a gradient
def cross_entropy_grad(logits, y):
    one_hot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return (logits.softmax(dim=1) - 1) * one_hot / len(y)

# %% [mutant ex8_distill] reduction='mean': divided by N * C
def distillation_loss(student_logits, teacher_logits, T):
    soft_targets = F.softmax(teacher_logits.detach() / T, dim=1)
    log_q = F.log_softmax(student_logits / T, dim=1)
    return F.kl_div(log_q, soft_targets, reduction="mean") * T ** 2

# %% [mutant ex8_distill] probabilities as the input: log_softmax missing
def distillation_loss(student_logits, teacher_logits, T):
    soft_targets = F.softmax(teacher_logits.detach() / T, dim=1)
    q = F.softmax(student_logits / T, dim=1)
    return F.kl_div(q, soft_targets, reduction="batchmean") * T ** 2

# %% [mutant ex8_distill] arguments swapped: KL(q || p)
def distillation_loss(student_logits, teacher_logits, T):
    log_p = F.log_softmax(teacher_logits.detach() / T, dim=1)
    q = F.softmax(student_logits / T, dim=1)
    return nn.KLDivLoss(reduction="batchmean")(log_p, q) * T ** 2

# %% [mutant ex8_distill] forgets the T ** 2 factor
def distillation_loss(student_logits, teacher_logits, T):
    soft_targets = F.softmax(teacher_logits.detach() / T, dim=1)
    return F.kl_div(F.log_softmax(student_logits / T, dim=1), soft_targets,
                    reduction="batchmean")

# %% [mutant ex8_distill] the teacher is not detached: gradient flows into it
def distillation_loss(student_logits, teacher_logits, T):
    soft_targets = F.softmax(teacher_logits / T, dim=1)
    log_q = F.log_softmax(student_logits / T, dim=1)
    return F.kl_div(log_q, soft_targets, reduction="batchmean") * T ** 2

# %% [mutant ex8_distill] by hand with p.log(): 0 * log(0) is NaN for a very sure teacher
def distillation_loss(student_logits, teacher_logits, T):
    p = F.softmax(teacher_logits.detach() / T, dim=1)
    log_q = F.log_softmax(student_logits / T, dim=1)
    return (p * (p.log() - log_q)).sum(dim=1).mean() * T ** 2

# %% [mutant ex9_predict] keeps the class dimension in the shape
shape_none = (4, 5, 7)
divisor = 12
kl_ratio = 5

# %% [mutant ex9_predict] counts the kept samples, without their weights
shape_none = (4, 7)
divisor = 4
kl_ratio = 5

# %% [mutant ex9_predict] counts every sample, the ignored ones too
shape_none = (4, 7)
divisor = 6
kl_ratio = 5

# %% [mutant ex9_predict] the batch size as the KL ratio
shape_none = (4, 7)
divisor = 12
kl_ratio = 8
