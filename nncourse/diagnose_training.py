"""Recognising the classic mistakes of a training loop, and saying so.

A loop that forgets ``zero_grad``, steps before ``backward`` or evaluates in training mode
still runs without an error; it only trains worse, or reports wrong numbers. The watchers
here look at what the loop does to the model and the optimizer while it runs:

- ``LoopWatcher`` hooks one parameter (to see each backward pass, and whether its ``.grad``
  still held the previous gradient) and the optimizer (to see each step, and whether it
  found a gradient);
- ``ModeWatcher`` records, at every forward pass, whether the model was in training mode
  and whether autograd was on;
- ``check_training_loop`` and ``check_evaluation`` run a student's function under them and
  raise ``CheckFailure`` with the mistake's name and its fix.
"""
import contextlib
import importlib
import math

import torch
from torch import nn

from nncourse.checks import CheckFailure, tick, with_hint
from nncourse.messages import say
from nncourse.watching import watches_student_code

# What the watcher writes down, one entry per event.
BACKWARD = "backward"              # a backward pass reached a cleared .grad
ACCUMULATE = "backward+accumulate"  # a backward pass added to the previous gradient
STEP = "step"                      # optimizer.step() found a gradient
STEP_NO_GRAD = "step-no-grad"      # optimizer.step() found no gradient (None or all zeros)

# The mistakes the watchers name. Each message is made when it is said, in the language of
# that moment: ``_said("NO_STEP")`` here, ``MISSING_ZERO_GRAD`` and the others from outside
# (the module's ``__getattr__``).
_MISTAKES = {
    "MISSING_ZERO_GRAD": lambda: say(
        "gradients accumulate across steps: .grad still held the previous batch's "
        "gradient when loss.backward() ran. Call optimizer.zero_grad() once per batch, "
        "before loss.backward()"),
    "STEP_BEFORE_BACKWARD": lambda: say(
        "optimizer.step() ran before loss.backward(): the step used no gradient (or the "
        "previous batch's). The order is zero_grad, forward, loss, backward, step"),
    "ZERO_BETWEEN": lambda: say(
        "optimizer.step() found no gradient although loss.backward() ran: zero_grad() "
        "between backward and step wipes the gradient before it is used"),
    "NO_BACKWARD": lambda: say(
        "loss.backward() was never called: the parameters never get a gradient"),
    "NO_STEP": lambda: say("optimizer.step() was never called: the weights never change"),
    "EVAL_IN_TRAIN_MODE": lambda: say(
        "the model was in training mode during evaluation: dropout drops units at random "
        "and batch norm uses the batch's statistics. Call net.eval() before evaluating"),
    "EVAL_WITH_GRAD": lambda: say(
        "autograd was on during evaluation: every forward pass built a graph for "
        "nothing. Evaluate inside `with torch.no_grad():`"),
    "MODE_NOT_RESTORED": lambda: say(
        "the model was left in eval mode: the training loop that calls this would then "
        "train with dropout off. Put it back with net.train()"),
    "TRAIN_IN_EVAL_MODE": lambda: say(
        "the model was in eval mode while it trained (it came in eval mode, and a "
        "training loop cannot assume otherwise): call net.train() before the first step"),
    "KEPT_GRAPH": lambda: say(
        "the loss came back as a tensor that holds its autograd graph: keeping it keeps "
        "every batch's graph in memory. Use loss.item() to get a number"),
    "REPLAYED_FIRST_PASS": lambda: say(
        "after the first pass the batches came again in the first pass's order: the loop "
        "reused the batches it had seen (itertools.cycle keeps them) instead of starting "
        "a new pass over the loader, which reshuffles"),
    "NO_MOMENTUM": lambda: say(
        "these are the weights of SGD without momentum: the recipe asks for 0.9"),
    "STEPS_RULE": lambda: say(
        "one optimizer step per batch; the loader cuts the samples into batches of "
        "batch_size, and the last batch holds whatever is left (drop_last=True throws "
        "that last batch away when it is smaller than batch_size)"),
    "STEP_LR_RULE": lambda: say(
        "StepLR multiplies the learning rate by gamma once every step_size calls of "
        "scheduler.step(): after call step_size, call 2 * step_size, and so on"),
    "FIRST_STEP_RULE": lambda: say(
        "on the first step t = 1, and m and v start at zero: write m and v after one "
        "update, divide each by its bias correction (or, without the correction, leave "
        "them as they are), then form the step lr * m_hat / (sqrt(v_hat) + eps); eps is "
        "tiny next to |g|"),
}


def _said(mistake):
    """The message of ``mistake`` (a key of ``_MISTAKES``) in the current language."""
    return _MISTAKES[mistake]()


def __getattr__(name):
    """``MISSING_ZERO_GRAD``, ``KEPT_GRAPH``, ...: the message, in the current language."""
    if name in _MISTAKES:
        return _said(name)
    raise AttributeError(name)


def _has_grad(p):
    return p.grad is not None and bool(p.grad.abs().sum() > 0)


def _trainable(net):
    return [p for p in net.parameters() if p.requires_grad]


class LoopWatcher:
    """Watch the backward passes and optimizer steps of a training loop.

    Use it as a context manager around the loop; ``events`` then lists what happened, in
    order, and ``problems()`` names the mistakes it shows.
    """

    def __init__(self, net, optimizer):
        self.net, self.optimizer = net, optimizer
        self.events = []
        self._handles = []

    def __enter__(self):
        params = _trainable(self.net)
        if params:
            probe = params[-1]  # the last layer's bias or weight: always in the graph

            def on_grad(grad, p=probe):
                self.events.append(ACCUMULATE if _has_grad(p) else BACKWARD)

            self._handles.append(probe.register_hook(on_grad))

        def before_step(optimizer, args, kwargs):
            params = [p for group in optimizer.param_groups for p in group["params"]]
            self.events.append(STEP if any(_has_grad(p) for p in params) else STEP_NO_GRAD)

        self._handles.append(self.optimizer.register_step_pre_hook(before_step))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False

    def mistakes(self):
        """The mistakes the recorded events show, as keys of ``_MISTAKES`` (empty when
        none): data, which the watch returns from the student's kernel."""
        events = self.events
        backwards = [i for i, e in enumerate(events) if e in (BACKWARD, ACCUMULATE)]
        steps = [i for i, e in enumerate(events) if e in (STEP, STEP_NO_GRAD)]
        found = []
        if not backwards:
            found.append("NO_BACKWARD")
        if not steps:
            found.append("NO_STEP")
        if not backwards or not steps:
            return found
        if steps[0] < backwards[0]:
            found.append("STEP_BEFORE_BACKWARD")
        elif any(events[i] == STEP_NO_GRAD for i in steps):
            found.append("ZERO_BETWEEN")
        if ACCUMULATE in events:
            found.append("MISSING_ZERO_GRAD")
        return found

    def problems(self):
        """The mistakes the recorded events show, as messages (empty when none)."""
        return [_said(mistake) for mistake in self.mistakes()]


class ModeWatcher:
    """Record ``(net.training, torch.is_grad_enabled())`` at every forward pass of ``net``."""

    def __init__(self, net):
        self.net = net
        self.calls = []
        self._handle = None

    def __enter__(self):
        def before_forward(module, args):
            self.calls.append((module.training, torch.is_grad_enabled()))

        self._handle = self.net.register_forward_pre_hook(before_forward)
        return self

    def __exit__(self, *exc):
        self._handle.remove()
        return False

    def eval_problems(self, training_after, training_before=True):
        """Mistakes of an evaluation function, given the model's mode after it ran."""
        return eval_problems(self.calls, training_after, training_before)


def eval_problems(calls, training_after, training_before=True):
    """Mistakes of an evaluation function: ``calls`` are ``ModeWatcher.calls``."""
    found = []
    if any(training for training, _ in calls):
        found.append(_said("EVAL_IN_TRAIN_MODE"))
    if any(grad for _, grad in calls):
        found.append(_said("EVAL_WITH_GRAD"))
    if training_before and not training_after:
        found.append(_said("MODE_NOT_RESTORED"))
    return found


class RecordingLoss(nn.Module):
    """Wrap a loss function and write down each training loss and its batch size."""

    def __init__(self, loss_fn):
        super().__init__()
        self.loss_fn = loss_fn
        self.values, self.sizes = [], []

    def forward(self, output, target):
        loss = self.loss_fn(output, target)
        if loss.requires_grad:  # a training loss, not one computed for logging
            self.values.append(loss.item())
            self.sizes.append(len(target))
        return loss

    def weighted_mean(self):
        return weighted_mean(self.values, self.sizes)


def weighted_mean(values, sizes):
    """The mean loss of an epoch: each batch's loss weighted by its size."""
    return sum(v * n for v, n in zip(values, sizes)) / max(sum(sizes), 1)


def _raise(problems, what):
    lines = "\n".join(f"- {p}" for p in problems)
    raise CheckFailure(say("{what}:\n{problems}", what=what, problems=lines))


def _as_number(value, name):
    """A returned loss as a float; a tensor that holds a graph is the known mistake."""
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            _raise([_said("KEPT_GRAPH")], say("{name} returned a tensor", name=name))
        if value.numel() == 1:
            return value.item()
    if value is None:
        raise CheckFailure(say("{name} returned None: return the loss (a number)",
                               name=name))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckFailure(say("{name} should return numbers, got {kind}", name=name,
                               kind=type(value).__name__))
    return float(value)


def _check_mean(result, values, sizes, name, rtol):
    expected = weighted_mean(values, sizes)
    if math.isclose(result, expected, rel_tol=rtol, abs_tol=1e-6):
        return
    message = say("{name} returned {result:.6g}, but the mean training loss of the epoch "
                  "(each batch's loss weighted by its size) is {expected:.6g}", name=name,
                  result=result, expected=expected)
    hint = None
    if values and math.isclose(result, sum(values) / len(values), rel_tol=rtol):
        hint = say("that is the plain mean of the batch losses; the last batch is "
                   "smaller, so weight each loss by len(y) and divide by the number of "
                   "samples")
    elif values and math.isclose(result, values[-1], rel_tol=rtol):
        hint = say("that is the last batch's loss only")
    elif values and math.isclose(result, sum(v * n for v, n in zip(values, sizes)),
                                 rel_tol=rtol):
        hint = say("that is the sum; divide by the number of samples")
    raise CheckFailure(with_hint(message, hint))


def _check_per_step(result, values, name, rtol):
    if len(result) != len(values):
        raise CheckFailure(say("{name} returned {got} losses, but {want} training steps "
                               "ran: return one loss per step", name=name,
                               got=len(result), want=len(values)))
    for k, (got, want) in enumerate(zip(result, values)):
        got = _as_number(got, say("{name}: the loss of step {k}", name=name, k=k))
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=1e-6):
            raise CheckFailure(say("{name}: the loss returned for step {k} is {got:.6g}, "
                                   "but the loss computed in that step was {want:.6g}",
                                   name=name, k=k, got=got, want=want))


def check_training_loop(train_fn, net, loader, loss_fn, optimizer, *args,
                        name="train_epoch", rtol=1e-4, quiet=False):
    """Run ``train_fn(net, loader, loss_fn, optimizer, *args)`` under watch.

    Fails, naming the mistake, when gradients accumulate across steps, when ``step`` comes
    before ``backward``, when the model trains in eval mode, or when a returned loss is a
    tensor holding its graph. A returned number must be the epoch's mean training loss
    (weighted by batch size); a returned list must hold each step's loss. Returns the
    result, with losses as floats.
    """
    seen = watch_training(train_fn, net, loader, loss_fn, optimizer, *args)
    if seen["crashed"]:
        _raise([say("{mistake} (here step() changed the weights in place after the "
                    "forward pass had saved them, so backward() failed)",
                    mistake=_said("STEP_BEFORE_BACKWARD"))],
               say("{name} crashed in loss.backward()", name=name))
    problems = [_said(mistake) for mistake in seen["mistakes"]]
    # a forward pass with autograd on is a training pass: it must run in training mode
    if any(grad and not training for training, grad in seen["modes"]):
        problems.append(_said("TRAIN_IN_EVAL_MODE"))
    if problems:
        _raise(problems, say("{name} runs, but the loop has a mistake", name=name))
    result, values, sizes = seen["result"], seen["values"], seen["sizes"]
    if isinstance(result, (list, tuple)):
        _check_per_step(result, values, name, rtol)
        result = [_as_number(v, name) for v in result]
        summary = say("{count} losses, the last {last:.4f}", count=len(result),
                      last=result[-1]) if result else say("no loss")
    else:
        result = _as_number(result, name)
        _check_mean(result, values, sizes, name, rtol)
        summary = say("mean loss {loss:.4f}", loss=result)
    tick(say("{name}: zero_grad, backward and step in the right order; {summary}",
             name=name, summary=summary), quiet)
    return result


@watches_student_code
def watch_training(train_fn, net, loader, loss_fn, optimizer, *args):
    """Run ``train_fn`` with its loss recorded and its loop and modes watched; return what
    was seen, as data (beside the student's code: see ``nncourse.watching``)."""
    recording = RecordingLoss(loss_fn)
    with LoopWatcher(net, optimizer) as loop, ModeWatcher(net) as modes:
        try:
            result = train_fn(net, loader, recording, optimizer, *args)
        except RuntimeError as err:
            if "modified by an inplace operation" not in str(err):
                raise
            return {"crashed": True}
    return {"crashed": False, "result": result, "mistakes": loop.mistakes(),
            "modes": modes.calls, "values": recording.values, "sizes": recording.sizes}


@watches_student_code
def watch_evaluation(eval_fn, net, *args):
    """Run ``eval_fn(net, *args)`` from training mode with the modes watched; return what
    was seen, as data (beside the student's code: see ``nncourse.watching``)."""
    net.train()
    with ModeWatcher(net) as modes:
        result = eval_fn(net, *args)
    return {"result": result, "modes": modes.calls, "training_after": net.training}


def check_evaluation(eval_fn, net, *args, name="evaluate", quiet=False):
    """Run ``eval_fn(net, *args)`` under watch (model in training mode); return its result.

    Fails, naming the mistake, when the model is in training mode during evaluation, when
    autograd is on, or when the model is not put back into training mode afterwards.
    """
    seen = watch_evaluation(eval_fn, net, *args)
    result = seen["result"]
    if not seen["modes"]:
        raise CheckFailure(say("{name} never called the model", name=name))
    problems = eval_problems(seen["modes"], seen["training_after"], training_before=True)
    if problems:
        _raise(problems, say("{name} runs, but it has a mistake", name=name))
    tick(say("{name}: eval mode, no autograd, training mode restored", name=name), quiet)
    return result


def _problem(seed, dtype=torch.float64):
    """A small least-squares problem and a linear model, both fixed by ``seed``."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(32, 5, generator=g, dtype=dtype)              # (N, in)
    y = torch.randn(32, 3, generator=g, dtype=dtype)              # (N, out)
    net = nn.Linear(5, 3).to(dtype)
    with torch.no_grad():
        net.weight.copy_(torch.randn(3, 5, generator=g, dtype=dtype))
        net.bias.copy_(torch.randn(3, generator=g, dtype=dtype))
    return X, y, net


@contextlib.contextmanager
def no_torch_optimizers():
    """Inside the block, the step of torch's SGD, Adam and AdamW fails with a message.

    An exercise that asks for an update rule by hand is checked against these optimizers,
    so it must not be answered by them.
    """
    modules = [importlib.import_module(f"torch.optim.{name}")
               for name in ("sgd", "adam", "adamw")]

    def blocked(*args, **kwargs):
        raise CheckFailure(say("torch.optim is not allowed inside your step function: "
                               "write the update rule with tensor operations"))

    targets = [(torch.optim.SGD, "step"), (torch.optim.Adam, "step"),
               (torch.optim.AdamW, "step")]
    targets += [(module, name) for module, name in zip(modules, ("sgd", "adam", "adamw"))]
    saved = [(owner, attr, owner.__dict__[attr]) for owner, attr in targets
             if attr in owner.__dict__]
    try:
        for owner, attr, _ in saved:
            setattr(owner, attr, blocked)
        yield
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)


def _settings(hyper):
    return ", ".join(f"{k}={v}" for k, v in hyper.items())


# Known wrong update rules, written as step functions with the students' signature, so a
# failed comparison can say which mistake reproduces the student's numbers.

def _sgd_variant(mistake):
    def step(params, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False):
        with torch.no_grad():
            for i, p in enumerate(params):
                g = p.grad if mistake == "decay_after" else p.grad + weight_decay * p
                if momentum != 0 and mistake != "no_buffer":
                    if i not in state:
                        state[i] = ((1 - dampening) * g if mistake == "zero_buffer"
                                    else g.clone())
                    else:
                        state[i] = momentum * state[i] + (1 - dampening) * g
                    use_nesterov = nesterov and mistake != "nesterov_plain"
                    g = g + momentum * state[i] if use_nesterov else state[i]
                if mistake == "decay_after":
                    g = g + weight_decay * p
                p -= lr * g
    return step


def _adamw_variant(mistake, decay_given):
    def step(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
             amsgrad=False):
        if mistake == "default_decay_zero" and not decay_given:
            weight_decay = 0.0
        beta1, beta2 = betas
        state["t"] = t = state.get("t", 0) + 1
        with torch.no_grad():
            for i, p in enumerate(params):
                g = p.grad + weight_decay * p if mistake == "l2" else p.grad
                if mistake == "decay_without_lr":
                    p *= 1 - weight_decay
                elif mistake != "l2":
                    p *= 1 - lr * weight_decay
                m, v, v_max = state.get(i, (torch.zeros_like(p),) * 3)
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                v_max = torch.maximum(v_max, v)
                state[i] = (m, v, v_max)
                v_used = v_max if amsgrad and mistake != "amsgrad_ignored" else v
                if mistake == "no_bias_correction":
                    m_hat, v_hat = m, v_used
                else:
                    m_hat, v_hat = m / (1 - beta1 ** t), v_used / (1 - beta2 ** t)
                denom = (v_hat + eps).sqrt() if mistake == "eps_inside" else v_hat.sqrt() + eps
                p -= lr * m_hat / denom
    return step


def _known_mistakes(optimizer_name):
    """The known wrong update rules of ``optimizer_name``, as ``(mistake, hint)`` pairs."""
    # The hints give a direction and point to the lesson; never the update line itself.
    if optimizer_name == "SGD":
        return [   # nesterov_plain first: on step 1 it and no_buffer give the same numbers
            ("nesterov_plain", say("with nesterov=True your step is plain momentum's (the "
                                   "buffer alone): Nesterov's step looks ahead, combining "
                                   "the current gradient with the buffer (lesson, "
                                   "section 2)")),
            ("no_buffer", say("momentum has no effect in your step: keep a buffer per "
                              "parameter in state, from one call to the next, and step "
                              "with it")),
            ("zero_buffer", say("your momentum buffer starts at zero, so the first step is "
                                "damped: torch starts the buffer at the first gradient "
                                "itself, undamped")),
            ("decay_after", say("your weight decay skips the momentum buffer (it is added "
                                "to the final step, or shrinks the weight directly as "
                                "AdamW does): SGD's weight_decay is an L2 penalty on the "
                                "loss, so it belongs in the gradient, before the buffer "
                                "sees it")),
        ]
    if optimizer_name == "AdamW":
        return [
            ("l2", say("that is Adam's L2 penalty: your weight decay joins the gradient and "
                       "so goes through m and v. AdamW decouples it from the gradient: the "
                       "weight itself shrinks, apart from the Adam step (lesson, "
                       "section 3)")),
            ("no_bias_correction", say("the bias correction is missing: m and v start at "
                                       "zero, so they are too small in the first steps; "
                                       "divide each by its correction, which depends on "
                                       "the step count t")),
            ("decay_without_lr", say("at every step your weight loses the fraction "
                                     "weight_decay of itself, whatever the learning rate: "
                                     "in AdamW that fraction scales with the learning rate "
                                     "too")),
            ("default_decay_zero", say("AdamW's default weight_decay is 0.01, not 0")),
            ("eps_inside", say("eps goes outside the square root: sqrt(v_hat) + eps")),
            ("amsgrad_ignored", say("with amsgrad=True use the running maximum of v")),
        ]
    return []


def _run_steps(step_fn, hyper, seed, num_steps):
    X, y, net = _problem(seed)
    params, state = list(net.parameters()), {}
    for _ in range(num_steps):
        net.zero_grad()
        nn.functional.mse_loss(net(X), y).backward()
        step_fn(params, state, **hyper)
    return [p.detach() for p in params]


def _recognise(optimizer_cls, hyper, seed, step, got):
    """The known mistake whose update rule reproduces ``got`` after ``step`` steps."""
    for mistake, message in _known_mistakes(optimizer_cls.__name__):
        if optimizer_cls.__name__ == "SGD":
            variant = _sgd_variant(mistake)
        else:
            variant = _adamw_variant(mistake, "weight_decay" in hyper)
        try:
            theirs = _run_steps(variant, hyper, seed, step)
        except (RuntimeError, ValueError):
            continue
        if all(torch.allclose(a, b, rtol=1e-6, atol=1e-9) for a, b in zip(theirs, got)):
            return message
    return None


def _recognise_student(step_fn, optimizer_cls, hyper, seed, step):
    """Replay the student's rule for at least 5 steps (in the first steps several wrong
    rules give the same numbers) and look for the known mistake that matches it."""
    num_steps = max(step, 5)
    try:
        with no_torch_optimizers():
            got = _run_steps(step_fn, hyper, seed, num_steps)
    except Exception:  # a replay that fails recognises nothing
        return None
    return _recognise(optimizer_cls, hyper, seed, num_steps, got)


def check_step_function(step_fn, optimizer_cls, hyper, num_steps=12, seed=0,
                        name="step", atol=1e-6, rtol=1e-5, quiet=False):
    """Run ``step_fn(params, state, **hyper)`` next to ``optimizer_cls(params, **hyper)``.

    Both start from the same linear model on the same least-squares problem (float64) and
    take ``num_steps`` steps, each on its own model's gradient. Fails at the first step
    after which the parameters differ, with the largest difference and the settings, and
    names the mistake when a known wrong update rule gives the same numbers.
    """
    X, y, net_ref = _problem(seed)
    _, _, net = _problem(seed)
    optimizer = optimizer_cls(net_ref.parameters(), **hyper)
    params = list(net.parameters())
    state = {}
    for step in range(1, num_steps + 1):
        for model in (net_ref, net):
            model.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
        before = [p.detach().clone() for p in params]
        try:
            with no_torch_optimizers():
                step_fn(params, state, **hyper)
        except RuntimeError as err:
            if "leaf Variable that requires grad" in str(err):
                raise CheckFailure(say("{name} changed a parameter in place while autograd "
                                       "was recording: update the parameters inside "
                                       "`with torch.no_grad():`", name=name)) from None
            raise
        if step == 1 and all(torch.equal(b, p.detach()) for b, p in zip(before, params)):
            raise CheckFailure(say("{name} did not change the parameters: update them in "
                                   "place (p -= ..., or p.add_(...)); `p = p - ...` only "
                                   "rebinds a local name", name=name))
        for (pname, p_ref), p in zip(net_ref.named_parameters(), params):
            diff = (p.detach() - p_ref.detach()).abs()
            allowed = atol + rtol * p_ref.detach().abs()
            if (diff > allowed).any() or not torch.isfinite(p).all():
                worst = float(diff.max())
                known = _recognise_student(step_fn, optimizer_cls, hyper, seed, step)
                message = say("{name} with {settings}: after step {step} of {num_steps} "
                              "the {param} differs from {optimizer}'s; largest difference "
                              "{worst:.3g}, tolerance {atol:g} + {rtol:g} * |expected|",
                              name=name, settings=_settings(hyper), step=step,
                              num_steps=num_steps, param=pname,
                              optimizer=optimizer_cls.__name__, worst=worst, atol=atol,
                              rtol=rtol)
                if step == 1 and not known:
                    message = say("{message} (already the very first step, taken from an "
                                  "empty state)", message=message)
                raise CheckFailure(with_hint(message, known))
    tick(say("{name} matches torch.optim.{optimizer} over {num_steps} steps ({settings})",
             name=name, optimizer=optimizer_cls.__name__, num_steps=num_steps,
             settings=_settings(hyper)), quiet)


def _describe(name, p):
    kind = say("a bias") if name.endswith("bias") else (
        say("a 1-D scale (a normalisation layer's weight)") if p.dim() < 2 else
        say("a {dims}-D weight", dims=p.dim()))
    return say("{name} ({kind})", name=name, kind=kind)


def _name_rule_hint(wrong):
    """A hint when the misplaced parameters are what a rule on names misplaces: 1-D
    tensors called "weight" (normalisation scales) sorted with the matrices."""
    if wrong and all(n.endswith("weight") and p.dim() < 2 for n, p in wrong):
        return say("these are 1-D tensors named 'weight' (normalisation scales): a test on "
                   "the name puts them with the matrices")
    return None


def check_param_groups(optimizer, net, lr, weight_decay, momentum=None, quiet=False):
    """Two groups: every parameter with 2+ dimensions decayed, every 1-D one not.

    Names each misplaced or missing parameter, and each wrong hyperparameter.
    """
    named = list(net.named_parameters())
    names = {id(p): n for n, p in named}
    groups = optimizer.param_groups
    if len(groups) != 2:
        raise CheckFailure(say("expected 2 parameter groups (decayed, then not decayed), "
                               "got {count}", count=len(groups)))
    wanted = [[n for n, p in named if p.dim() >= 2], [n for n, p in named if p.dim() < 2]]
    seen = []
    for k, group in enumerate(groups):
        for p in group["params"]:
            if id(p) not in names:
                raise CheckFailure(say("group {k} holds a tensor of shape {shape} that is "
                                       "not a parameter of the model", k=k,
                                       shape=tuple(p.shape)))
            seen.append(names[id(p)])
    missing = [n for n, _ in named if n not in seen]
    if missing:
        raise CheckFailure(say("these parameters are in no group, so they never train: "
                               "{names}", names=", ".join(missing)))
    params = dict(named)
    for k, (group, want) in enumerate(zip(groups, wanted)):
        got = [names[id(p)] for p in group["params"]]
        wrong = [n for n in got if n not in want]
        if wrong:
            held = say(", ").join(_describe(n, params[n]) for n in wrong)
            if k == 0:
                message = say("group {k} (with weight decay) holds {params}: it should be "
                              "left without weight decay, by its number of dimensions",
                              k=k, params=held)
            else:
                message = say("group {k} (without) holds {params}: it should be decayed, "
                              "by its number of dimensions", k=k, params=held)
            raise CheckFailure(with_hint(message, _name_rule_hint(
                [(n, params[n]) for n in wrong])))
    for k, expected_wd in enumerate((weight_decay, 0.0)):
        if not math.isclose(groups[k]["weight_decay"], expected_wd, abs_tol=1e-12):
            raise CheckFailure(say("group {k}: weight_decay is {got}, expected {want}",
                                   k=k, got=groups[k]["weight_decay"], want=expected_wd))
        if not math.isclose(groups[k]["lr"], lr, rel_tol=1e-9):
            raise CheckFailure(say("group {k}: lr is {got}, expected {want}", k=k,
                                   got=groups[k]["lr"], want=lr))
        if momentum is not None and not math.isclose(groups[k].get("momentum", 0.0),
                                                     momentum):
            raise CheckFailure(say("group {k}: momentum is {got}, expected {want}", k=k,
                                   got=groups[k].get("momentum"), want=momentum))
    tick(say("{decayed} parameters decayed, {rest} not; lr {lr:g}", decayed=len(wanted[0]),
             rest=len(wanted[1]), lr=lr), quiet)


# ----------------------------------------------------------------------------------------
# The loop an exercise describes, run by the checker from the same start as the student's
#
# A training exercise is graded on what the loop did, not on a loss threshold: a test
# builds two identical runs (same initial weights, same loader with the same shuffling
# seed, same optimizer), gives one to the student's function and replays the described
# loop on the other. A correct loop ends with the same weights, up to rounding; any other
# loop does not, whatever the seed. Known wrong loops are replayed too, to name the
# mistake when one of them gives the student's weights.


def _every_pass(loader):
    """The batches of pass after pass over ``loader`` (each pass reshuffles)."""
    while True:
        yield from loader


def _replay_steps(net, loader, loss_fn, optimizer, num_steps, batches=None):
    """Exercise 4's loop: ``num_steps`` steps, one batch each; returns the losses."""
    import itertools

    net.train()
    losses = []
    for X, y in itertools.islice(batches or _every_pass(loader), num_steps):
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _replay_fit(net, loader, num_epochs, lr, momentum=0.9):
    """Exercise 6's recipe; returns each epoch's batch losses and batch sizes."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    loss_fn = nn.CrossEntropyLoss()
    epochs = []
    for _ in range(num_epochs):
        net.train()
        values, sizes = [], []
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(X), y)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
            sizes.append(len(y))
        epochs.append((values, sizes))
        scheduler.step()
    return epochs


def _same_weights(net, other, atol, rtol):
    pairs = list(zip(net.parameters(), other.parameters()))
    return len(pairs) == len(list(other.parameters())) and all(
        p.shape == q.shape and torch.allclose(p.detach(), q.detach(), atol=atol, rtol=rtol)
        for p, q in pairs)


def _largest_difference(net, other):
    """``(parameter name, largest absolute difference)`` between two models of one shape."""
    worst = ("", 0.0)
    for (name, p), q in zip(net.named_parameters(), other.parameters()):
        diff = float((p.detach() - q.detach()).abs().max()) if p.shape == q.shape else math.inf
        if diff > worst[1] or not math.isfinite(diff):
            worst = (name, diff)
    return worst


def _weights_differ(net, reference, what, atol, rtol, known):
    name, worst = _largest_difference(net, reference)
    raise CheckFailure(with_hint(say(
        "{what}, the weights differ from those of the loop the exercise describes, run by "
        "the test from the same start (same initial weights, same batches): largest "
        "difference {worst:.3g} in {name}, tolerance {atol:g} + {rtol:g} * |expected|",
        what=what, worst=worst, name=name, atol=atol, rtol=rtol), known))


def check_same_steps(net, make_run, num_steps, losses=None, name="train_steps", atol=1e-5,
                     rtol=1e-4, quiet=False):
    """``net``, trained by the student's loop for ``num_steps`` steps, against the loop of
    exercise 4 replayed on ``make_run()``: a fresh ``(net, loader, loss_fn, optimizer)``
    identical to the one the student's loop received. ``losses`` (the returned ones) must be
    the replay's losses too."""
    ref_net, loader, loss_fn, optimizer = make_run()
    ref_losses = _replay_steps(ref_net, loader, loss_fn, optimizer, num_steps)
    if not _same_weights(net, ref_net, atol, rtol):
        import itertools

        cyc_net, loader, loss_fn, optimizer = make_run()
        _replay_steps(cyc_net, loader, loss_fn, optimizer, num_steps,
                      batches=itertools.cycle(loader))
        known = (_said("REPLAYED_FIRST_PASS") if _same_weights(net, cyc_net, atol, rtol)
                 else None)
        _weights_differ(net, ref_net, say("after {num_steps} steps of {name}",
                                          num_steps=num_steps, name=name), atol, rtol, known)
    for k, (got, want) in enumerate(zip(losses or [], ref_losses)):
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=atol):
            raise CheckFailure(say("{name}: the loss returned for step {k} is {got:.6g}; "
                                   "the loss of that step in the test's run is {want:.6g}",
                                   name=name, k=k, got=got, want=want))
    tick(say("{name}: the same weights as the loop described, after {num_steps} steps",
             name=name, num_steps=num_steps), quiet)


def schedule_hint(lrs, expected, batches_per_epoch):
    """A hint when the recorded learning rates are those of a known scheduling mistake;
    ``expected`` are the right ones (epoch 0 first), None when no mistake matches."""
    lr, num_epochs = expected[0], len(expected)

    def cosine(t, total):
        return lr * (1 + math.cos(math.pi * t / total)) / 2

    def same(candidate):
        return len(lrs) == len(candidate) and all(
            math.isclose(float(a), b, rel_tol=1e-6, abs_tol=1e-12)
            for a, b in zip(lrs, candidate))

    if same([lr] * num_epochs):
        return say("the learning rate never changes: the scheduler is never stepped")
    if same([cosine(e + 1, num_epochs) for e in range(num_epochs)]):
        return say("each epoch's rate is the next epoch's: the scheduler was stepped "
                   "before the epoch ran, or the rate recorded after scheduler.step()")
    if same([cosine(e * batches_per_epoch, num_epochs) for e in range(num_epochs)]):
        return say("the rate moves once per batch: the scheduler was stepped after every "
                   "optimizer step, not once per epoch")
    return None


def check_same_fit(net, losses, make_run, num_epochs, lr, name="fit", atol=1e-5, rtol=1e-4,
                   quiet=False):
    """``net`` and the epoch ``losses`` of the student's ``fit`` against exercise 6's recipe
    replayed on ``make_run()``: a fresh ``(net, loader)`` identical to the student's."""
    ref_net, loader = make_run()
    epochs = _replay_fit(ref_net, loader, num_epochs, lr)
    if not _same_weights(net, ref_net, atol, rtol):
        plain_net, loader = make_run()
        _replay_fit(plain_net, loader, num_epochs, lr, momentum=0.0)
        known = _said("NO_MOMENTUM") if _same_weights(net, plain_net, atol, rtol) else None
        _weights_differ(net, ref_net, say("after {num_epochs} epochs of {name}",
                                          num_epochs=num_epochs, name=name), atol, rtol,
                        known)
    for e, (got, (values, sizes)) in enumerate(zip(losses, epochs)):
        got = _as_number(got, say("{name}: the loss of epoch {e}", name=name, e=e))
        want = weighted_mean(values, sizes)
        if math.isclose(got, want, rel_tol=rtol, abs_tol=atol):
            continue
        mistakes = [(sum(values) / len(values), say(
                        "that is the plain mean of the batch losses; the last batch is "
                        "smaller, so weight each loss by its batch size (train_epoch "
                        "does)")),
                    (values[-1], say("that is the last batch's loss only")),
                    (sum(v * n for v, n in zip(values, sizes)), say(
                        "that is the sum over the samples, not the mean"))]
        known = next((h for v, h in mistakes if math.isclose(got, v, rel_tol=rtol)), None)
        raise CheckFailure(with_hint(say(
            "{name}: the loss of epoch {e} is {got:.6g}, but the mean training loss of that "
            "epoch over its samples is {want:.6g} in the test's run", name=name, e=e,
            got=got, want=want), known))
    tick(say("{name}: the same weights and epoch losses as the recipe, after {num_epochs} "
             "epochs", name=name, num_epochs=num_epochs), quiet)


# ----------------------------------------------------------------------------------------
# Predict first: counts and rates written down before running anything. The messages give
# the direction and the rule, never the number; a wrong answer a known wrong rule gives is
# named.


def _predicted_number(got, name, whole):
    from nncourse.checks import check_true

    kind = int if whole else (int, float)
    if isinstance(got, kind) and not isinstance(got, bool):
        return
    if whole:
        message = say("{name} should be an int, got {kind}", name=name,
                      kind=type(got).__name__)
        hint = say("a number of steps is a whole number: write it as an int")
    else:
        message = say("{name} should be a number, got {kind}", name=name,
                      kind=type(got).__name__)
        hint = say("write the value itself, as a number")
    check_true(False, message, hint=hint, quiet=True)


def _off(name, got, too_large):
    """A predicted number that is wrong, and in which direction (never the right one)."""
    if too_large:
        return say("{name} ({got}) is too large", name=name, got=got)
    return say("{name} ({got}) is too small", name=name, got=got)


def check_predicted_steps(got, num_samples, batch_size, drop_last=False, name=None,
                          quiet=False):
    """``got`` must be the number of optimizer steps of one epoch over ``num_samples``
    samples in batches of ``batch_size`` (with ``drop_last``), counted by torch; ``name``
    defaults to "your predicted number of steps"."""
    from torch.utils.data import DataLoader

    from nncourse.checks import check_true

    name = say("your predicted number of steps") if name is None else name
    _predicted_number(got, name, whole=True)
    expected = len(DataLoader(range(num_samples), batch_size=batch_size,
                              drop_last=drop_last))
    if got == expected:
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    known = {}
    if not drop_last:
        known[num_samples // batch_size] = say("that counts the full batches only: "
                                               "without drop_last the last, smaller batch "
                                               "is a step too")
    else:
        known[-(-num_samples // batch_size)] = say("with drop_last=True the last, "
                                                   "incomplete batch is thrown away: it is "
                                                   "no step")
    known[num_samples] = say("a step takes a whole batch, not one sample")
    rule = _said("STEPS_RULE")
    hint = rule if got not in known else known[got] + "\n" + rule
    check_true(False, _off(name, f"{got}", got > expected), hint=hint, quiet=quiet)


def step_lr_after(lr, step_size, gamma, num_calls):
    """The learning rate after ``num_calls`` calls of a real StepLR's ``step()``."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    for _ in range(num_calls):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


def check_predicted_lr(got, lr, step_size, gamma, num_calls, name=None, quiet=False):
    """``got`` must be the learning rate of ``StepLR(step_size, gamma)`` from ``lr`` after
    ``num_calls`` calls of ``scheduler.step()``, as torch computes it; ``name`` defaults to
    "your predicted learning rate"."""
    from nncourse.checks import check_true

    name = say("your predicted learning rate") if name is None else name
    _predicted_number(got, name, whole=False)
    expected = step_lr_after(lr, step_size, gamma, num_calls)
    if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    decays = num_calls // step_size
    known = [(lr * gamma ** num_calls, say("that multiplies by gamma at every call: "
                                           "StepLR waits step_size calls between two "
                                           "decays")),
             (lr * gamma ** (decays + 1), say("one decay too many: the first decay comes "
                                              "after call step_size, not at the first "
                                              "call")),
             (lr * gamma ** max(decays - 1, 0), say("one decay too few: the decay happens "
                                                    "on the call that completes "
                                                    "step_size")),
             (lr, say("the rate does change: count the decays"))]
    rule = _said("STEP_LR_RULE")
    hint = rule
    for value, text in known:
        if math.isclose(got, value, rel_tol=1e-6) and not math.isclose(value, expected):
            hint = text + "\n" + rule
            break
    check_true(False, _off(name, f"{got:g}", got > expected), hint=hint, quiet=quiet)


# Predict first: the size of Adam's first step, with and without the bias correction.

FIRST_STEP_GRADIENTS = (1e-3, -0.7, 25.0, -3e3)  # nonzero gradients of very different sizes


def first_adam_moves(lr, betas=(0.9, 0.999), eps=1e-8, bias_correction=True,
                     grads=FIRST_STEP_GRADIENTS):
    """How far each entry of a parameter moves on the first step of AdamW (no weight
    decay) from an empty state, for the gradients ``grads``: torch's own AdamW, or the
    known rule without bias correction."""
    w = nn.Parameter(torch.zeros(len(grads), dtype=torch.float64))
    w.grad = torch.tensor(grads, dtype=torch.float64)
    if bias_correction:
        torch.optim.AdamW([w], lr=lr, betas=betas, eps=eps, weight_decay=0.0).step()
    else:
        _adamw_variant("no_bias_correction", True)([w], {}, lr=lr, betas=betas, eps=eps,
                                                    weight_decay=0.0)
    return w.detach().abs()


def check_predicted_first_step(got, lr, betas=(0.9, 0.999), eps=1e-8, bias_correction=True,
                               name=None, rtol=5e-3, quiet=False):
    """``got`` must be the distance every parameter entry with a (not tiny) nonzero gradient
    moves on Adam's first step, whatever the gradient, within ``rtol`` (3 significant
    digits). A wrong answer fails with the rule; one a known wrong rule gives is named.
    ``name`` defaults to "your predicted first step"."""
    from nncourse.checks import check_true, recognised_hint

    name = say("your predicted first step") if name is None else name
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        check_true(False, say("{name} should be a number, got {kind}", name=name,
                              kind=type(got).__name__),
                   hint=say("write the distance itself, as a number"), quiet=True)
    moves = first_adam_moves(lr, betas, eps, bias_correction)
    size = torch.tensor(float(got), dtype=torch.float64)
    if torch.allclose(size.expand_as(moves), moves, rtol=rtol, atol=0.0):
        check_true(True, "", passed=say("{name} is right", name=name), quiet=quiet)
        return
    beta1, beta2 = betas
    if bias_correction:
        mistakes = [
            (lr * (1 - beta1) / math.sqrt(1 - beta2), say("that is the step without the "
                                                          "bias correction")),
            (lr * (1 - beta1), say("that corrects v but not m: m is divided by its "
                                   "correction too")),
            (lr / math.sqrt(1 - beta2), say("that corrects m but not v: v is divided by "
                                            "its correction too")),
            (1.0, say("that is m_hat / sqrt(v_hat) alone: the learning rate multiplies "
                      "it"))]
    else:
        mistakes = [
            (lr, say("that is the corrected step; without the correction m and v keep "
                     "their factors (1 - beta1) and (1 - beta2)")),
            (lr * (1 - beta1), say("without the correction v keeps its factor (1 - beta2) "
                                   "too")),
            (lr / math.sqrt(1 - beta2), say("without the correction m keeps its factor "
                                            "(1 - beta1) too")),
            (lr * (1 - beta1) / (1 - beta2), say("the step divides by the square root of "
                                                 "v, not by v")),
            ((1 - beta1) / math.sqrt(1 - beta2), say("the learning rate multiplies the "
                                                     "step"))]
    mistakes.append((0.0, say("the first step does move the parameter: its gradient is "
                              "not zero")))
    known = recognised_hint(size, [(torch.tensor(float(v), dtype=torch.float64), h)
                                   for v, h in mistakes], atol=1e-12, rtol=rtol)
    expected = float(moves[0])
    check_true(False, _off(name, f"{got:g}", got > expected),
               hint=(known + "\n" if known else "") + _said("FIRST_STEP_RULE"),
               quiet=quiet)
