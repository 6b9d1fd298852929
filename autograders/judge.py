"""The judge: runs a test cell, hidden tests included, outside the student's kernel.

The grader starts a judge kernel of its own for each notebook (sandboxed like the
student's, but no student code ever runs in it) and, for every graded cell, has the
student's kernel serve (``autograders.kernel_server``) while the judge runs the cell's full
source. Names the cell does not define come from the student's notebook as ``Remote``
handles: calling one runs the student's code in their kernel on the judge's inputs, and
what comes back is a value (a tensor, a number, a list) or another handle. The checks, the
expected values and the verdict are computed here, with the judge's own torch, so nothing
the student's code does to its interpreter (patched functions, input transformers, a
replaced ``sys.modules``) reaches them. The result is structured (passed, what the checks
printed, the failure message, forbidden calls seen), and the feedback is built from it.

A test cell written for the notebook runs here unchanged, with these rules:
- a tensor, module or optimizer the test passes to the student's code is the test's own;
  the student's code gets a twin, and changes in place (values, gradients, modes) come
  back after the call (``autograders.twins``);
- what the student's code returns is a value when it is plain data; modules, tensors that
  still carry a graph and other objects stay in the kernel as handles, which read their
  attributes and call their methods there;
- compute expected values from data (the inputs, the student's returned tensors, the
  weights read from their module), not by calling the student's objects: what comes from
  the kernel is the student's claim.
"""
import builtins
import collections
import contextlib
import io
import operator
import os
import socket
import sys
import time
import weakref

from autograders import wire
from autograders.twins import (content, apply_state, is_twin_kind, sendable, snapshot,
                               state_of)
from nncourse.messages import say

MAX_OUTPUT = 20_000
REMOTE_DUNDERS = {"__dict__", "__name__", "__qualname__", "__module__", "__doc__",
                  "__self__", "__func__", "__defaults__", "__kwdefaults__"}
SAFE_MODULES = ("torch", "torchvision", "builtins", "collections", "numpy", "nncourse")


class StudentError(Exception):
    """The student's code raised an exception while the judge called it."""


class StudentTimeout(StudentError):
    """The student's code did not finish in the time left."""


_ERROR_TYPES = {}


def _student_error(kind, builtin, text):
    """A ``StudentError`` that is also the builtin exception of that name (so that a test
    expecting a ``ValueError`` from the student's code still catches it)."""
    base = getattr(builtins, kind, None) if builtin else None
    if not (isinstance(base, type) and issubclass(base, Exception)) or \
            issubclass(base, (KeyError, OSError, UnicodeError)):
        base = None  # KeyError quotes its message; OSError and UnicodeError take arguments
    if base is None:
        return StudentError(text)
    if kind not in _ERROR_TYPES:
        _ERROR_TYPES[kind] = type(kind, (StudentError, base), {})
    return _ERROR_TYPES[kind](text)


def describe(value, room=60):
    """A short phrase for a value in a message: tensors by shape, the rest by repr."""
    import torch
    if type(value) is Remote:
        return object.__getattribute__(value, "_expr")[:room]
    if isinstance(value, torch.Tensor):
        return say("a tensor of shape {shape}", shape=tuple(value.shape))
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return say("a {kind} of {count} items", kind=type(value).__name__,
                   count=len(value))
    try:
        text = repr(value)
    except Exception:
        text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= room else text[:room - 3] + "..."


# ----------------------------------------------------------------------------------------
# The connection to a student's kernel


# What a request carries most: pickled as itself, never a twin or a handle.
_PLAIN = frozenset({str, int, float, bool, type(None), bytes})


class _Kept:
    """A strong reference that reads like a weak one."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self):
        return self.obj



class Connection:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.sock = _connect(path, deadline)
        # The judge's objects that have twins in the kernel: id -> a reference to the
        # object, weak where it can be, so that a test's temporary tensors are let go
        # (and no longer compared after every request, on both sides); the ids let go
        # since the last request, which the kernel is told to let go of too.
        self.mirrors, self.mirror_ids, self.seen = {}, {}, {}
        self.last_mid, self.dropped, self.alive = 0, [], []
        self.sending = []
        self.arguments = set()  # ids of the lists and dicts passed in the request being sent
        self.inputs = {}        # id -> (tensor, fingerprint) of the data passed in it
        self.exposed = {}       # the test's own functions the kernel may call back
        self.blocked_seen = []
        self.blocks = []  # (names, messages) of the forbidden() blocks open here

    def close(self):
        try:
            wire.send_bytes(self.sock, wire.dump_request({"op": "bye"}, lambda obj: None))
        except OSError:
            pass
        self.sock.close()

    # -- the judge's objects in a request
    def _persistent_id(self, obj):
        import torch
        if type(obj) in _PLAIN:
            return None
        if type(obj) is Remote:
            if object.__getattribute__(obj, "_conn") is not self:
                raise TypeError(say("a handle from another kernel"))
            return ("h", object.__getattribute__(obj, "_id"))
        if _is_test_code(obj):
            jid = len(self.exposed) + 1
            self.exposed[jid] = obj
            return ("j", jid)
        if not (is_twin_kind(obj) or (id(obj) in self.arguments and not self.sending)):
            return None
        if self.sending and (self.sending[-1] is obj or (
                isinstance(self.sending[-1], torch.Tensor) and isinstance(obj, torch.Tensor))):
            return None  # the object itself, or the tensors a tensor's pickle makes
        mid = self.mirror_ids.get(id(obj))
        if mid is not None and self.mirror(mid) is obj:
            return ("m", mid)
        self.last_mid += 1
        mid = self.last_mid
        self.keep(mid, obj)
        self.sending.append(obj)
        try:
            # the state inside: a tensor's gradient is not in its pickle
            payload = wire.dump_request((sendable(obj), state_of(obj)), self._persistent_id)
        finally:
            self.sending.pop()
        self.seen[mid] = snapshot(obj)
        return ("new", mid, payload)

    def kernel_function(self, module, qualname):
        """A function of the course's own package, in the student's kernel (for the
        checks that watch the student's code run: ``nncourse.watching``)."""
        return self.request(qualname, "function", module=module, name=qualname)

    def register(self, mid, obj):
        self.keep(mid, obj)
        self.seen[mid] = snapshot(obj)

    def keep(self, mid, obj):
        import torch
        try:
            # a tensor in the judge's graph carries the gradient that reaches its twin
            # back into that graph, even when the test holds it no more
            in_graph = isinstance(obj, torch.Tensor) and obj.grad_fn is not None
            ref = _Kept(obj) if in_graph else weakref.ref(obj)
        except TypeError:  # a list or dict passed as an argument: kept for the cell
            ref = _Kept(obj)
        self.mirrors[mid], self.mirror_ids[id(obj)] = (ref, id(obj)), mid
        self.alive.append(obj)  # held until the kernel hears that it is gone

    def mirror(self, mid):
        """The judge's object of twin ``mid``, or None once it is gone."""
        kept = self.mirrors.get(mid)
        return None if kept is None else kept[0]()

    def _changed(self):
        """The state of the twins changed here since the last request; the twins gone
        since go in ``dropped``. The live ones, and those made until the next request,
        are held until then: none goes while the kernel may still name it, since the
        kernel hears of a twin gone before it answers again."""
        push, self.alive = {}, []
        for mid, (ref, key) in list(self.mirrors.items()):
            obj = ref()
            if obj is None:
                del self.mirrors[mid]
                self.seen.pop(mid, None)
                if self.mirror_ids.get(key) == mid:
                    del self.mirror_ids[key]
                self.dropped.append(mid)
                continue
            self.alive.append(obj)
            now = snapshot(obj)
            if now != self.seen.get(mid):
                self.seen[mid] = now
                push[mid] = state_of(obj)
        return push

    # -- one request
    def request(self, expr, op, **fields):
        import torch
        request = dict(fields, op=op)
        if op == "call":
            request["grad"] = torch.is_grad_enabled()
            request["device"] = str(torch.get_default_device())
            request["blocked"] = [n for names, _ in self.blocks for n in names]
            request["rng"] = wire.rng_state()
            given = list(fields["args"]) + list(fields["kwargs"].values())
            self.arguments = {id(a) for a in given if type(a) in (list, dict)}
            self.inputs = {id(t): (t, fingerprint(t)) for t in _data_in(given)}
        try:
            reply = self._exchange(expr, request)
            while "callback" in reply:
                reply = self._exchange(expr, self._callback(expr, reply["callback"]))
            # what a test passes as data must stay as it was: the test's expected values
            # are computed from it (an answer that zeroes its inputs would match them)
            changed = [t for t, before in self.inputs.values() if fingerprint(t) != before]
        finally:
            self.arguments, self.inputs = set(), {}
        blocked = [b for b in (reply.get("blocked") or []) if isinstance(b, str)]
        if blocked:
            from nncourse.checks import CheckFailure
            self.blocked_seen.extend(blocked)
            messages = {n: m for _, found in self.blocks for n, m in found.items()}
            raise CheckFailure(messages.get(blocked[0]) or say("{name} is not allowed here",
                                                                  name=blocked[0]))
        if changed and not isinstance(reply.get("error"), dict):
            from nncourse.checks import CheckFailure
            raise CheckFailure(say(
                "{expr} changed its input {value} in place: leave the inputs as they are "
                "and return a new tensor (out-of-place operations, not x.add_(...), "
                "x[...] = ... or x.data)", expr=expr, value=describe(changed[0])))
        error = reply.get("error")
        if isinstance(error, dict):
            kind = str(error.get("type") or "Exception")[:100]
            text = say("{expr} raised {kind}: {message}", expr=expr, kind=kind,
                       message=str(error.get("message") or "")[:2000])
            if error.get("where"):
                text += f"\n  ({str(error['where'])[:300]})"
            raise _student_error(kind, bool(error.get("builtin")), text)
        return self.decode(reply.get("value"), expr)

    def _exchange(self, expr, request):
        """Send one request (with the twins changed here); return the kernel's reply,
        with the twins it changed brought up to date here."""
        request["push"] = self._changed()
        request["drop"], self.dropped = self.dropped, []
        try:
            data = wire.dump_request(request, self._persistent_id)
        except Exception as exc:  # noqa: BLE001
            raise TypeError(say("the test could not send {expr} to the kernel: {error}",
                                expr=expr, error=exc)) from None
        try:
            self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            wire.send_bytes(self.sock, data)
            reply = wire.load_reply(wire.recv_bytes(self.sock, wire.MAX_REPLY_BYTES))
        except socket.timeout:
            raise StudentTimeout(say("{expr} did not finish in the time left",
                                     expr=expr)) from None
        except (wire.WireError, OSError) as exc:
            raise StudentError(say("{expr}: the kernel stopped answering ({error}); did the "
                                   "code exit or crash the kernel?", expr=expr,
                                   error=exc)) from None
        if not isinstance(reply, dict):
            raise StudentError(say("{expr}: the kernel sent an unreadable reply", expr=expr))
        sync = reply.get("sync")
        for mid, state in (sync.items() if isinstance(sync, dict) else ()):
            obj = self.mirror(mid)
            if obj is not None and isinstance(state, dict):
                try:
                    apply_state(obj, state, lambda x: self.decode(x, expr))
                except (RuntimeError, TypeError, ValueError, KeyError, AttributeError):
                    pass  # a twin the student's code broke: the test sees its last state
                self.seen[mid] = snapshot(obj)
        wire.set_rng_state(reply.get("rng"))
        if "callback" in reply and not isinstance(reply["callback"], dict):
            raise StudentError(say("{expr}: the kernel sent an unreadable reply", expr=expr))
        return reply

    def _callback(self, expr, callback):
        """Run the test's own function that the student's code called; the request that
        answers it."""
        obj = self.exposed.get(callback.get("id"))
        try:
            if obj is None:
                raise LookupError(say("no such object of the test"))
            if callback.get("kind") == "getattr":
                name = str(callback.get("name"))
                if name.startswith("_"):
                    raise AttributeError(name)
                result = getattr(obj, name)
            else:
                args = self.decode(callback.get("args") or (), expr)
                kwargs = self.decode(callback.get("kwargs") or {}, expr)
                result = obj(*args, **(kwargs if isinstance(kwargs, dict) else {}))
            return {"op": "callback_result", "value": result}
        except Exception as exc:  # noqa: BLE001: the student's code gets it
            return {"op": "callback_result",
                    "error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}

    def decode(self, obj, expr, depth=0):
        if depth > 25:
            raise StudentError(say("{expr}: a value nested too deeply", expr=expr))
        if isinstance(obj, list):
            return [self.decode(v, f"{expr}[{i}]", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return tuple(self.decode(v, f"{expr}[{i}]", depth + 1) for i, v in enumerate(obj))
        if not isinstance(obj, dict):
            return obj
        kind = obj.get(wire.MARK)
        if kind == "remote":
            return Remote(self, int(obj["id"]), expr, [str(m) for m in obj.get("mro", [])],
                          str(obj.get("type", "object")))
        if kind == "mirror":
            mirror = self.mirror(obj.get("id"))
            if mirror is None:
                raise StudentError(say("{expr}: the kernel sent an unreadable value",
                                       expr=expr))
            return mirror
        if kind == "tensor":
            t = _tensor(obj)
            if isinstance(obj.get("twin"), int):
                self.register(obj["twin"], t)
            return t
        if kind == "module":
            return self._module(obj, expr)
        if kind == "numpy":
            return obj["data"].numpy()
        if kind in ("set", "frozenset"):
            values = [self.decode(v, expr, depth + 1) for v in obj["values"]]
            return set(values) if kind == "set" else frozenset(values)
        if kind == "dict":
            keys = [self.decode(k, expr, depth + 1) for k in obj["keys"]]
            values = [self.decode(v, f"{expr}[{k!r}]", depth + 1)
                      for k, v in zip(keys, obj["values"])]
            kind_ = collections.OrderedDict if obj.get("ordered") else dict
            return kind_(zip(keys, values))
        if kind == "ntuple":
            values = [self.decode(v, expr, depth + 1) for v in obj["values"]]
            return _named_tuple(str(obj.get("type")), obj.get("fields") or [], values)
        if kind is None and not obj:
            return {}
        raise StudentError(say("{expr}: the kernel sent an unreadable value", expr=expr))


    def _module(self, obj, expr):
        """One of torch's own layers, made by the student's code, rebuilt here from its
        settings (data only) and its parameters; from now on a twin."""
        import torch
        cls = _local_class([str(obj.get("class"))])
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)
                and cls.__module__.startswith(("torch.nn.", "torchvision.", "nncourse."))):
            raise StudentError(say("{expr}: the kernel sent an unreadable layer", expr=expr))
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        attrs = self.decode(obj.get("attrs") or {}, expr)
        for key, val in (attrs.items() if isinstance(attrs, dict) else ()):
            if isinstance(key, str) and key not in ("_parameters", "_buffers", "_modules") \
                    and not key.endswith("hooks"):
                module.__dict__[key] = val
        apply_state(module, obj.get("state") or {}, lambda x: self.decode(x, expr))
        if isinstance(obj.get("twin"), int):
            self.register(obj["twin"], module)
        return module


def _data_in(values, depth=0):
    """The tensors among a call's arguments that are data, not state: no Parameter, no
    tensor that requires a gradient (those a student's step may update), none inside a
    dict (a state the student's code fills), at most one list deep."""
    import torch
    for v in values:
        if isinstance(v, torch.Tensor):
            if not isinstance(v, torch.nn.Parameter) and not v.requires_grad:
                yield v
        elif type(v) in (list, tuple) and depth == 0:
            yield from _data_in(v, depth + 1)


def fingerprint(t):
    return (tuple(t.shape), t.dtype, content(t))


def _is_test_code(obj):
    """A function or class the test cell defined (or an instance of one): it cannot be
    pickled by name, and it is the test's code, so it stays with the judge."""
    import types
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if not isinstance(obj, (types.FunctionType, type)):
        obj = type(obj)
    module = getattr(obj, "__module__", None)
    return module == "__main__" or "<locals>" in getattr(obj, "__qualname__", "")


def _connect(path, deadline):
    """Connect to the kernel serving on ``path``; the grader leaves ``path + ".gone"``
    when the kernel's serve request ended without serving (the notebook broke it)."""
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if os.path.exists(path + ".gone"):
                raise StudentError(say("the notebook's code stopped the grader's request "
                                       "to run the tests (an input or AST transformer, a "
                                       "patched IPython?): nothing could be tested")) \
                    from None
            if time.monotonic() > deadline:
                raise StudentTimeout(say("the kernel did not get ready to be judged")) from None
            time.sleep(0.002)


def _tensor(obj):
    import torch
    data = obj["data"]
    if not isinstance(data, torch.Tensor):
        raise StudentError(say("the kernel sent an unreadable tensor"))
    rg = bool(obj.get("rg")) and (data.is_floating_point() or data.is_complex())
    t = torch.nn.Parameter(data, requires_grad=rg) if obj.get("param") else \
        data.requires_grad_(rg)
    grad = obj.get("grad")
    if isinstance(grad, torch.Tensor) and grad.shape == data.shape and rg:
        t.grad = grad.to(data.dtype)
    return t


def _named_tuple(qualname, fields, values):
    """``torch.return_types`` as themselves; other named tuples as plain named tuples."""
    module, _, name = qualname.rpartition(".")
    if module == "torch.return_types":
        import torch
        cls = getattr(torch.return_types, name, None)
        if cls is not None:
            return cls(values)
    fields = [str(f) for f in fields]
    if len(fields) == len(values) and all(f.isidentifier() and not f.startswith("_")
                                          for f in fields):
        try:
            return collections.namedtuple(name if name.isidentifier() else "result",
                                          fields)(*values)
        except (TypeError, ValueError):
            pass
    return tuple(values)


def _local_class(mro):
    """The first class of a remote object's ancestry that the judge has itself, so that
    ``isinstance(handle, nn.Module)`` answers as it would in the notebook."""
    for dotted in mro:
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:cut])
            if head not in sys.modules:
                continue
            obj = sys.modules[head] if parts[0] in SAFE_MODULES else None
            for part in parts[cut:]:
                obj = getattr(obj, part, None) if "<" not in part else None
            if isinstance(obj, type):
                return obj
            break
    return object


# ----------------------------------------------------------------------------------------
# Handles to the student's objects


class Remote:
    """An object in the student's kernel. Attribute reads, calls and item access run
    there; arithmetic, comparisons, ``bool``, ``len``, formatting and torch functions
    work on its value, fetched when they need it."""

    __slots__ = ("_conn", "_id", "_expr", "_mro", "_type", "_cls")

    def __init__(self, conn, hid, expr, mro, type_name):
        set_ = object.__setattr__
        set_(self, "_conn", conn)
        set_(self, "_id", hid)
        set_(self, "_expr", expr[:200])
        set_(self, "_mro", mro)
        set_(self, "_type", type_name)
        set_(self, "_cls", None)

    def _ask(self, expr, op, **fields):
        conn = object.__getattribute__(self, "_conn")
        return conn.request(expr, op, obj=self, **fields)

    @property
    def __class__(self):
        cls = object.__getattribute__(self, "_cls")
        if cls is None:
            cls = _local_class(object.__getattribute__(self, "_mro"))
            object.__setattr__(self, "_cls", cls)
        return cls

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in REMOTE_DUNDERS:
            raise AttributeError(name)  # what Python and numpy probe for, never remote
        expr = object.__getattribute__(self, "_expr")
        return self._ask(f"{expr}.{name}", "getattr", name=name)

    def __setattr__(self, name, value):
        expr = object.__getattribute__(self, "_expr")
        self._ask(f"{expr}.{name} = ...", "setattr", name=name, value=value)

    def __call__(self, *args, **kwargs):
        expr = object.__getattribute__(self, "_expr")
        shown = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
        return self._ask(f"{expr}({', '.join(shown)})", "call", args=args, kwargs=kwargs)

    def __getitem__(self, key):
        expr = object.__getattribute__(self, "_expr")
        return self._ask(f"{expr}[{describe(key, 30)}]", "getitem", key=key)

    def __setitem__(self, key, value):
        expr = object.__getattribute__(self, "_expr")
        self._ask(f"{expr}[{describe(key, 30)}] = ...", "setitem", key=key, value=value)

    def __iter__(self):
        expr = object.__getattribute__(self, "_expr")
        return iter(self._ask(say("iterating over {expr}", expr=expr), "iter"))

    def _builtin(self, fn, *args):
        expr = object.__getattribute__(self, "_expr")
        return self._ask(f"{fn}({expr})", "builtin", fn=fn, args=args)

    def __len__(self):
        return self._builtin("len")

    def __next__(self):
        expr = object.__getattribute__(self, "_expr")
        return self._ask(f"next({expr})", "next")

    def __bool__(self):
        return self._builtin("bool")

    def __contains__(self, item):
        return self._builtin("contains", item)

    def __dir__(self):
        return self._builtin("dir")

    def __index__(self):
        return self._builtin("index")

    def __int__(self):
        return int(value(self))

    def __float__(self):
        return float(value(self))

    def __complex__(self):
        return complex(value(self))

    def __repr__(self):
        v = value(self)
        if type(v) is Remote:
            return say("<{kind} in the student's kernel>",
                       kind=object.__getattribute__(self, "_type"))
        return repr(v)

    def __str__(self):
        v = value(self)
        return repr(self) if type(v) is Remote else str(v)

    def __format__(self, spec):
        v = value(self)
        return format(repr(self) if type(v) is Remote else v, spec)

    def __hash__(self):
        return hash((id(object.__getattribute__(self, "_conn")),
                     object.__getattribute__(self, "_id")))

    def __array__(self, *args, **kwargs):
        import numpy
        return numpy.asarray(value(self), *args, **kwargs)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*value(list(args)), **value(dict(kwargs or {})))

    def __reduce_ex__(self, protocol):
        raise TypeError(say("a handle to the student's kernel cannot be copied"))


def _on_value(op, reflected=False):
    def method(self, *others):
        mine = value(self)
        if type(mine) is Remote:
            if op in (operator.eq, operator.ne):
                same = any(type(o) is Remote and object.__getattribute__(o, "_id") ==
                           object.__getattribute__(self, "_id") for o in others)
                return same if op is operator.eq else not same
            return NotImplemented
        others = [value(o) for o in others]
        return op(*others, mine) if reflected else op(mine, *others)
    return method


for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow), ("matmul", operator.matmul),
                   ("and", operator.and_), ("or", operator.or_), ("xor", operator.xor),
                   ("lshift", operator.lshift), ("rshift", operator.rshift)]:
    setattr(Remote, f"__{_name}__", _on_value(_op))
    setattr(Remote, f"__r{_name}__", _on_value(_op, reflected=True))
for _name, _op in [("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge),
                   ("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs),
                   ("invert", operator.invert)]:
    setattr(Remote, f"__{_name}__", _on_value(_op))


def value(obj):
    """``obj`` with every handle to plain data replaced by that data, fetched from the
    kernel; handles to other objects (modules, functions) stay handles. A container with
    no handle inside is returned as it is (the same object)."""
    if type(obj) is Remote:
        expr = object.__getattribute__(obj, "_expr")
        return obj._ask(expr, "fetch")
    if type(obj) in (list, tuple):
        items = [value(v) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else type(obj)(items)
    if type(obj) is dict:
        items = {k: value(v) for k, v in obj.items()}
        return obj if all(items[k] is v for k, v in obj.items()) else items
    return obj


# ----------------------------------------------------------------------------------------
# Running a test cell


class Namespace(dict):
    """A test cell's globals: what the setup cell and the test define, then the names of
    the student's notebook, as handles, on first use."""

    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def __missing__(self, name):
        if name in builtins.__dict__:
            raise KeyError(name)
        try:
            found = self.conn.request(name, "name", name=name)
        except StudentError as err:
            if isinstance(err, NameError):
                raise _student_error("NameError", True, say(
                    "{name} is not defined in your notebook: run the cell that defines it, "
                    "and keep the name the exercise asks for", name=name)) from None
            raise
        self[name] = found
        return found


def _values_in(fn):
    import functools

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return fn(*value(list(args)), **value(dict(kwargs)))
    call.__wrapped_for_judge__ = True
    return call


def prepare():
    """Once per judge: the course's checks take values, not handles (``value`` at their
    entry), and ``forbidden`` blocks functions in the student's kernel."""
    import importlib
    import inspect
    import pkgutil

    import nncourse
    from nncourse import forbid
    for info in pkgutil.iter_modules(nncourse.__path__):
        if info.name in ("ddp",):
            continue
        module = importlib.import_module(f"nncourse.{info.name}")
        for name, fn in list(vars(module).items()):
            if inspect.isfunction(fn) and fn.__module__ == module.__name__ and \
                    not name.startswith("_") and not getattr(fn, "__wrapped_for_judge__", 0):
                if name == "forbidden":
                    continue
                setattr(module, name, _values_in(fn))
    forbid.REMOTE_BLOCKS = []


def run_cell(setup, source, grade_id, path, timeout, shared=None, language="en"):
    """Judge one test cell against the kernel serving on ``path``; return the verdict as a
    dict of plain values: passed, output (what the checks printed), ename and evalue (the
    failure), flagged (forbidden calls the kernel saw). The cell runs after a fresh run
    of the setup cell, as if it came right after it; its temporary folders go in
    ``shared``, a folder the student's kernel sees at the same path. The checks speak
    ``language``, the notebook's."""
    import tempfile

    from nncourse import forbid, messages, watching
    messages.set_language(language)
    deadline = time.monotonic() + timeout
    verdict = {"grade_id": grade_id, "passed": False, "output": "", "ename": None,
               "evalue": None, "flagged": []}
    out = io.StringIO()
    conn = None
    try:
        conn = Connection(path, deadline)
        namespace = Namespace(conn)
        namespace["__name__"] = "__main__"
        tempfile.tempdir = shared
        watching.RUN_IN_KERNEL = conn.kernel_function
        with contextlib.redirect_stdout(out):
            forbid.REMOTE_BLOCKS = conn.blocks
            exec(compile(setup, "<setup>", "exec"), namespace)
            exec(compile(source, f"<test {grade_id}>", "exec"), namespace)
        verdict["passed"] = True
    except Exception as exc:  # noqa: BLE001: every failure is the cell's verdict
        name = type(exc).__name__
        verdict["ename"] = "CheckFailure" if isinstance(exc, AssertionError) and \
            not isinstance(exc, StudentError) else name
        verdict["evalue"] = str(exc)[:5000] or name
    finally:
        if conn is not None:
            verdict["flagged"] = list(dict.fromkeys(conn.blocked_seen))
            conn.close()
        forbid.REMOTE_BLOCKS = []
        watching.RUN_IN_KERNEL = None
        tempfile.tempdir = None
    verdict["output"] = out.getvalue()[:MAX_OUTPUT]
    return verdict
