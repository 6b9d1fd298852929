"""Twins: a judge's object and its copy in a student's kernel, kept in step.

The judge sends its tensors, modules, optimizers and the lists and dicts it passes as
arguments to the kernel by value; the two copies are twins. Around every request each
side sends the state of the twins that changed on its side (``snapshot`` tells), so that
a student's function that changes its arguments in place (an optimizer step, a state
dict it fills, ``model.eval()``, ``requires_grad_``, a replaced layer) has the effect it
has in the notebook. Only data travels: values, gradients, flags, optimizer state, and
the layers of a module (torch's own layers rebuilt from their settings, see
``autograders.judge``).

``state_of`` takes ``encode`` and ``apply_state`` takes ``decode`` for the objects inside
a state: the kernel encodes them as data (``autograders.wire``); the judge sends its own
by pickle.
"""


import weakref

# A judge's tensor that is not a leaf (a model's output it hands to the student's loss):
# its twin in the kernel is a leaf, and the gradient that reaches it there is carried
# back into the judge's graph; this is what has been carried already.
_CARRIED = weakref.WeakKeyDictionary()


def is_twin_kind(obj):
    import torch
    return isinstance(obj, (torch.Tensor, torch.nn.Module, torch.optim.Optimizer,
                            torch.Generator))


def sendable(obj):
    """What goes in the pickle for ``obj``: a tensor in a graph goes as a leaf."""
    import torch
    if isinstance(obj, torch.Tensor) and not obj.is_leaf:
        return obj.detach().requires_grad_(obj.requires_grad)
    return obj


def _signature(obj, depth=0):
    """Changes when anything inside a container changes (ids, tensor versions)."""
    import torch
    if depth > 4:
        return id(obj)
    if isinstance(obj, torch.Tensor):
        return (id(obj), obj._version)
    if type(obj) in (dict,) or type(obj).__name__ == "OrderedDict":
        return tuple((id(k), _signature(v, depth + 1)) for k, v in obj.items())
    if type(obj) in (list, tuple):
        return tuple(_signature(v, depth + 1) for v in obj)
    return (id(obj), obj) if isinstance(obj, (int, float, str, bool, type(None))) else id(obj)


def content(t):
    """A fingerprint of a tensor's values: ``p.data -= ...`` changes them without a
    version bump."""
    import torch
    if t.is_meta:
        return None
    flat = t.detach().reshape(-1)
    if flat.device.type != "cpu":
        flat = flat.cpu()
    return hash(flat.contiguous().view(torch.uint8).numpy().tobytes())


def snapshot(obj):
    import torch
    if isinstance(obj, torch.Tensor):
        grad = obj.grad if obj.is_leaf else None
        return (obj._version, obj.requires_grad, tuple(obj.shape), content(obj),
                None if grad is None else (id(grad), grad._version, content(grad)))
    if isinstance(obj, torch.nn.Module):
        return (obj.training, tuple((k, id(v)) for k, v in obj._modules.items()),
                tuple((k, id(v)) for k, v in obj._parameters.items()),
                tuple((k, id(v)) for k, v in obj._buffers.items()))
    if isinstance(obj, torch.optim.Optimizer):
        groups = tuple(tuple((k, v) for k, v in g.items() if k != "params"
                             and isinstance(v, (int, float, bool, str, type(None))))
                       for g in obj.param_groups)
        return (groups, _signature(dict(obj.state)))
    if isinstance(obj, torch.Generator):
        return hash(obj.get_state().numpy().tobytes())
    if type(obj) in (dict, list):
        return _signature(obj)
    return None


def state_of(obj, encode=lambda x: x):
    """What the other side needs to bring its twin of ``obj`` up to date."""
    import torch
    if isinstance(obj, torch.Tensor):
        grad = obj.grad if obj.is_leaf else None
        return {"data": plain_tensor(obj), "rg": obj.requires_grad,
                "grad": None if grad is None else plain_tensor(grad)}
    if isinstance(obj, torch.nn.Module):
        return {"training": bool(obj.training),
                "modules": [(k, encode(v)) for k, v in obj._modules.items()],
                "parameters": [(k, encode(v)) for k, v in obj._parameters.items()],
                "buffers": [(k, encode(v)) for k, v in obj._buffers.items()]}
    if isinstance(obj, torch.optim.Optimizer):
        return {"optimizer": encode(obj.state_dict())}
    if isinstance(obj, torch.Generator):
        return {"rng": obj.get_state()}
    if type(obj) is dict:
        return {"items": [(encode(k), encode(v)) for k, v in obj.items()]}
    if type(obj) is list:
        return {"list": [encode(v) for v in obj]}
    return {}


def apply_state(obj, state, decode=lambda x: x):
    """Bring ``obj`` to ``state`` (from ``state_of`` on the other side)."""
    import collections

    import torch
    if isinstance(obj, torch.Tensor):
        data = state.get("data")
        if isinstance(data, torch.Tensor) and not obj.is_meta and not (
                data.shape == obj.shape and data.dtype == obj.dtype and torch.equal(data, obj)):
            with torch.no_grad():
                if data.shape == obj.shape and data.dtype == obj.dtype:
                    obj.copy_(data)
                else:
                    obj.data = data
        grad = state.get("grad")
        if not obj.is_leaf and isinstance(grad, torch.Tensor) and grad.shape == obj.shape:
            done = _CARRIED.get(obj)
            _CARRIED[obj] = grad.clone()
            torch.autograd.backward(obj, grad if done is None else grad - done,
                                    retain_graph=True)
        if obj.is_leaf:
            if bool(state.get("rg")) != obj.requires_grad:
                obj.requires_grad_(bool(state.get("rg")))
            grad = state.get("grad")
            if grad is None or (isinstance(grad, torch.Tensor) and grad.shape == obj.shape):
                obj.grad = grad
    elif isinstance(obj, torch.nn.Module):
        obj.training = bool(state.get("training"))
        for key, kind in (("modules", torch.nn.Module), ("parameters", torch.Tensor),
                          ("buffers", torch.Tensor)):
            if key in state:
                members = collections.OrderedDict()
                for name, member in state[key]:
                    member = decode(member)
                    if isinstance(name, str) and (member is None or isinstance(member, kind)
                                                  or key == "modules"):
                        members[name] = member
                if key == "parameters":
                    members = collections.OrderedDict(
                        (k, v if v is None or isinstance(v, torch.nn.Parameter)
                         else torch.nn.Parameter(v, requires_grad=v.requires_grad))
                        for k, v in members.items())
                obj.__dict__["_" + key] = members
        if hasattr(obj, "_init_flat_weights"):  # an RNN keeps its weights in a list too
            try:
                obj._init_flat_weights()
            except Exception:
                pass
    elif isinstance(obj, torch.optim.Optimizer):
        obj.load_state_dict(decode(state["optimizer"]))
    elif isinstance(obj, torch.Generator) and isinstance(state.get("rng"), torch.Tensor):
        obj.set_state(state["rng"])
    elif type(obj) is dict and "items" in state:
        items = [(decode(k), decode(v)) for k, v in state["items"]]
        obj.clear()
        obj.update(items)
    elif type(obj) is list and "list" in state:
        obj[:] = [decode(v) for v in state["list"]]


def plain_tensor(t):
    import torch
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.device.type not in ("cpu", "meta"):
        t = t.cpu()
    return t.as_subclass(torch.Tensor).clone()
