"""Twins: a judge's object and its copy in a student's kernel, kept in step.

The judge sends its tensors, modules and optimizers to the kernel by value; the two copies
are twins. Around every request each side sends the state of the twins that changed on
its side (``snapshot`` tells), so that a student's function that changes its arguments in
place (an optimizer step, ``model.eval()``, ``requires_grad_``) has the effect it has in the
notebook. Only data travels: values, gradients, ``requires_grad``, training mode.
"""


def snapshot(obj):
    import torch
    if isinstance(obj, torch.Tensor):
        grad = obj.grad if obj.is_leaf else None
        return (obj._version, obj.requires_grad, tuple(obj.shape),
                None if grad is None else (id(grad), grad._version))
    if hasattr(obj, "training"):
        return obj.training
    return None


def state_of(obj):
    """What the other side needs to bring its twin of ``obj`` up to date."""
    import torch
    if isinstance(obj, torch.Tensor):
        grad = obj.grad if obj.is_leaf else None
        return {"data": plain_tensor(obj), "rg": obj.requires_grad,
                "grad": None if grad is None else plain_tensor(grad)}
    if hasattr(obj, "training"):
        return {"training": bool(obj.training)}
    return {}


def apply_state(obj, state):
    """Bring ``obj`` to ``state`` (from ``state_of`` on the other side)."""
    import torch
    if isinstance(obj, torch.Tensor):
        data = state.get("data")
        if isinstance(data, torch.Tensor):
            with torch.no_grad():
                if data.shape == obj.shape and data.dtype == obj.dtype:
                    obj.copy_(data)
                else:
                    obj.data = data
        if obj.is_leaf:
            if bool(state.get("rg")) != obj.requires_grad:
                obj.requires_grad_(bool(state.get("rg")))
            grad = state.get("grad")
            if grad is None or (isinstance(grad, torch.Tensor) and grad.shape == obj.shape):
                obj.grad = grad
    elif "training" in state:
        obj.training = bool(state["training"])


def plain_tensor(t):
    import torch
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.device.type not in ("cpu", "meta"):
        t = t.cpu()
    return t.as_subclass(torch.Tensor).clone()
