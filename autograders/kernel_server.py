"""The student's side of judging: run what the judge asks, on the student's objects.

While a test cell is judged, the grader has the student's kernel call ``serve(path)``; the
judge (``autograders.judge``) connects and sends one request at a time: look up a name of
the notebook, read an attribute, call a function with the judge's inputs, list an
iterable, fetch a value. Objects stay here and the judge gets a handle to them; values
(tensors, numbers, strings and containers of them) travel back in the format that
``autograders.wire`` reads safely. Tensors, modules and optimizers the judge sends are
kept as twins of the judge's own: their state (values, gradients, ``requires_grad``,
training mode) is synced both ways around every request, so a function that changes its
arguments in place behaves as it does in the notebook.

Nothing here decides anything: the student's code can change this module as it likes and
only changes what it claims.
"""
import builtins
import functools
import importlib
import inspect
import os
import socket
import sys
import traceback

from autograders import wire
from autograders.twins import apply_state, plain_tensor, snapshot, state_of

MAX_ITEMS = 100_000
BUILTINS = {"len": len, "bool": bool, "repr": repr, "str": str, "int": int,
            "float": float, "index": lambda x: x.__index__(), "contains": lambda x, y: y in x,
            "dir": lambda x: sorted(dir(x))}


class Blocked(Exception):
    """A function the exercise forbids was called."""


class JudgeObject:
    """A function or object of the test that the judge keeps (it is the test's code):
    calling it, or reading a public attribute, asks the judge."""

    def __init__(self, server, jid):
        self._server, self._jid = server, jid

    def __call__(self, *args, **kwargs):
        return self._server.callback(self._jid, "call", args=args, kwargs=kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._server.callback(self._jid, "getattr", name=name)

    def __repr__(self):
        return f"<the test's object {self._jid}>"


class CallbackError(Exception):
    """The test's own function raised an exception when the student's code called it."""


class Server:
    def __init__(self, namespace, conn=None):
        self.namespace = namespace
        self.conn = conn
        self.handles = {}   # id -> object, kept alive for the judge
        self.twins = {}     # id the judge gave -> our copy of its object
        self.twin_ids = {}  # id(our copy) -> that id
        self.seen = {}      # id the judge gave -> _snapshot at the last sync
        self.last_own = 0   # the last id we gave a twin of our own (below zero)
        self.blocked_calls = []

    # -- objects the judge names in a request
    def persistent_load(self, pid):
        kind = pid[0]
        if kind == "h":
            return self.handles[pid[1]]
        if kind == "m":
            return self.twins[pid[1]]
        if kind == "j":
            return JudgeObject(self, pid[1])
        if kind == "new":
            obj, state = wire.load_request(pid[2], self.persistent_load)
            apply_state(obj, state)
            self.register(pid[1], obj)
            return obj
        raise wire.WireError(f"unknown reference {kind!r}")

    def own_id(self):
        self.last_own -= 1
        return self.last_own

    def register(self, mid, obj):
        self.twins[mid] = obj
        self.twin_ids[id(obj)] = mid
        self.seen[mid] = snapshot(obj)

    # -- values sent back
    def encode_member(self, obj):
        """A member of a twin's state: a twin by reference; a new tensor or one of torch's
        own layers by value, and from now on a twin (ids below zero are ours)."""
        import torch
        mine = self.twin_ids.get(id(obj))
        if mine is not None and self.twins.get(mine) is obj:
            return {wire.MARK: "mirror", "id": mine}
        if isinstance(obj, torch.Tensor):
            encoded = self.encode(obj, "fetch")
            mid = self.own_id()
            self.register(mid, obj)
            return dict(encoded, twin=mid)
        if isinstance(obj, torch.nn.Module) and _rebuildable(type(obj)):
            attrs = {k: v for k, v in vars(obj).items() if k not in MODULE_STATE
                     and _plain(v)}
            encoded = {wire.MARK: "module",
                       "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
                       "attrs": self.encode(attrs, "fetch"),
                       "state": state_of(obj, self.encode_member)}
            mid = self.own_id()
            self.register(mid, obj)
            return dict(encoded, twin=mid)
        return self.encode(obj, "fetch")

    def encode(self, obj, mode, depth=0):
        """``mode``: "ref" (attributes, items: a handle unless immutable), "call" (values
        unless they need the kernel: modules, tensors in a graph), "fetch" (values)."""
        import torch
        mine = self.twin_ids.get(id(obj))
        if mine is not None and self.twins.get(mine) is obj:
            return {wire.MARK: "mirror", "id": mine}
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            return obj if type(obj) in (bool, int, float, complex, str, bytes, type(None)) \
                else self._cast(obj)
        if isinstance(obj, (torch.dtype, torch.device, torch.Size)):
            return obj
        if depth > 20:
            return self.handle(obj)
        if isinstance(obj, tuple) and type(obj) is not tuple and hasattr(obj, "_fields"):
            if mode == "ref" and not self._immutable(obj):
                return self.handle(obj)
            return {wire.MARK: "ntuple", "type": f"{type(obj).__module__}.{type(obj).__qualname__}",
                    "fields": list(obj._fields),
                    "values": [self.encode(v, mode, depth + 1) for v in obj]}
        if type(obj) is tuple:
            if mode == "ref" and not self._immutable(obj):
                return self.handle(obj)
            return tuple(self.encode(v, mode, depth + 1) for v in obj)
        if mode == "ref":
            return self.handle(obj)
        if isinstance(obj, torch.Tensor):
            if mode == "call" and obj.requires_grad:
                return self.handle(obj)
            return {wire.MARK: "tensor", "data": plain_tensor(obj), "rg": obj.requires_grad,
                    "param": isinstance(obj, torch.nn.Parameter),
                    "grad": None if not obj.is_leaf or obj.grad is None
                    else plain_tensor(obj.grad)}
        if type(obj).__module__ == "numpy":
            return self._numpy(obj)
        if type(obj) in (list, set, frozenset):
            items = [self.encode(v, mode, depth + 1) for v in obj]
            return items if type(obj) is list else {wire.MARK: type(obj).__name__,
                                                    "values": items}
        if type(obj) is dict or type(obj).__name__ == "OrderedDict":
            if all(type(k) in (str, int, float, bool, tuple) for k in obj):
                return {wire.MARK: "dict", "keys": [self.encode(k, "fetch", depth + 1)
                                                    for k in obj],
                        "values": [self.encode(v, mode, depth + 1) for v in obj.values()],
                        "ordered": type(obj) is not dict}
        return self.handle(obj)

    def _immutable(self, obj):
        import torch
        if isinstance(obj, tuple):
            return all(self._immutable(v) for v in obj)
        return obj is None or isinstance(obj, (bool, int, float, complex, str, bytes,
                                               torch.dtype, torch.device, torch.Size))

    @staticmethod
    def _cast(obj):
        for kind in (bool, int, float, complex, str, bytes):
            if isinstance(obj, kind):
                return kind(obj)
        return obj

    def _numpy(self, obj):
        import torch
        if hasattr(obj, "shape") and hasattr(obj, "dtype") and obj.shape != ():
            try:
                return {wire.MARK: "numpy", "data": torch.from_numpy(obj.copy())}
            except (TypeError, RuntimeError):
                return self.handle(obj)
        return obj.item() if hasattr(obj, "item") else self.handle(obj)

    def handle(self, obj):
        hid = len(self.handles) + 1
        self.handles[hid] = obj
        mro = [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]
        try:
            text = object.__repr__(obj) if isinstance(obj, type) else None
        except Exception:
            text = None
        return {wire.MARK: "remote", "id": hid, "mro": mro[:30],
                "type": type(obj).__name__[:100], "repr": text}

    # -- the requests
    def sync_out(self):
        changes = {}
        for mid, obj in list(self.twins.items()):
            now = snapshot(obj)
            if now != self.seen.get(mid):
                self.seen[mid] = now
                changes[mid] = state_of(obj, self.encode_member)
        return changes

    def callback(self, jid, kind, **fields):
        """Ask the judge to run its own function (or read its attribute); meanwhile,
        answer what the judge asks."""
        message = {"callback": {"id": jid, "kind": kind, "name": fields.get("name"),
                                "args": self.encode(tuple(fields.get("args", ())), "call"),
                                "kwargs": self.encode(dict(fields.get("kwargs", {})),
                                                      "call")},
                   "sync": self.sync_out()}
        wire.send_bytes(self.conn, wire.dump_reply(message))
        while True:
            request = wire.load_request(wire.recv_bytes(self.conn, 1 << 34),
                                        self.persistent_load)
            if request.get("op") == "callback_result":
                self._apply_push(request)
                if "error" in request:
                    error = request["error"]
                    kind = getattr(builtins, str(error.get("type")), None)
                    if not (isinstance(kind, type) and issubclass(kind, Exception)):
                        kind = CallbackError
                    raise kind(error["message"])
                return request.get("value")
            wire.send_bytes(self.conn, self.reply_to(request))

    def _apply_push(self, request):
        for mid in request.get("drop") or ():  # gone in the judge: no longer kept in step
            obj = self.twins.pop(mid, None)
            self.seen.pop(mid, None)
            if obj is not None and self.twin_ids.get(id(obj)) == mid:
                del self.twin_ids[id(obj)]
        for mid, state in (request.get("push") or {}).items():
            twin = self.twins.get(mid)
            if twin is not None:
                apply_state(twin, state)
                self.seen[mid] = snapshot(twin)

    def reply_to(self, request):
        self.blocked_calls.clear()
        try:
            reply = {"value": self.run(request)}
            if request.get("op") == "call":
                reply["rng"] = wire.rng_state()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 (SystemExit too: it is theirs)
            reply = {"error": {"type": type(exc).__name__[:100],
                               "builtin": type(exc).__module__ == "builtins",
                               "message": str(exc)[:2000], "where": _where(exc)}}
        reply["sync"] = self.sync_out()
        reply["blocked"] = list(dict.fromkeys(self.blocked_calls))
        try:
            return wire.dump_reply(reply)
        except Exception as exc:  # noqa: BLE001
            return wire.dump_reply({"error": {
                "type": "UnsendableResult", "builtin": False, "where": None,
                "message": f"the result could not be sent ({type(exc).__name__})"}})

    def run(self, request):
        self._apply_push(request)
        op = request["op"]
        if op == "name":
            name = request["name"]
            if name not in self.namespace:
                raise NameError(f"name {name!r} is not defined")
            return self.encode(self.namespace[name], "ref")
        obj = request.get("obj")
        if op == "getattr":
            return self.encode(getattr(obj, request["name"]), "ref")
        if op == "setattr":
            setattr(obj, request["name"], request["value"])
            return None
        if op == "getitem":
            return self.encode(obj[request["key"]], "ref")
        if op == "setitem":
            obj[request["key"]] = request["value"]
            return None
        if op == "call":
            result = self.call(request)
            if _rebuildable_tree(result):  # the judge gets its own copy, a twin
                return self.encode_member(result)
            return self.encode(result, "call")
        if op == "iter":
            items = []
            for item in obj:
                items.append(self.encode(item, "ref"))
                if len(items) > MAX_ITEMS:
                    raise ValueError(f"more than {MAX_ITEMS} items")
            return items
        if op == "function":  # a watcher of the course's own (nncourse.watching)
            module, qualname = str(request["module"]), str(request["name"])
            if module.split(".")[0] != "nncourse":
                raise ValueError(f"not one of the course's modules: {module}")
            fn = importlib.import_module(module)
            for part in qualname.split("."):
                fn = getattr(fn, part)
            return self.handle(inspect.unwrap(fn))
        if op == "next":
            return self.encode(next(obj), "ref")
        if op == "builtin":
            return self.encode(BUILTINS[request["fn"]](obj, *request.get("args", ())),
                               "fetch")
        if op == "fetch":
            return self.encode(obj, "fetch")
        raise ValueError(f"unknown request {op!r}")

    def call(self, request):
        import torch
        fn, args, kwargs = request["obj"], request["args"], request["kwargs"]
        wire.set_rng_state(request.get("rng"))
        with torch.set_grad_enabled(bool(request.get("grad", True))), \
                _default_device(request.get("device")), \
                _blocking(request.get("blocked") or (), self.blocked_calls):
            return fn(*args, **kwargs)


MODULE_STATE = {"_parameters", "_buffers", "_modules", "training"}


def _rebuildable(cls):
    """torch's, torchvision's and the course's own layers: the judge rebuilds them from
    their settings (their code is the judge's own)."""
    return cls.__module__.startswith(("torch.nn.", "torchvision.", "nncourse.")) and \
        "<" not in cls.__qualname__


def _rebuildable_tree(obj):
    import torch
    return isinstance(obj, torch.nn.Module) and all(
        _rebuildable(type(m)) and not (m._forward_hooks or m._forward_pre_hooks)
        for m in obj.modules())


def _plain(value, depth=0):
    import torch
    if value is None or isinstance(value, (bool, int, float, str, torch.dtype, torch.device,
                                           torch.Size)):
        return True
    if isinstance(value, (tuple, list)) and depth < 3:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _default_device(name):
    import contextlib
    import torch
    if not name or name == "cpu":
        return contextlib.nullcontext()
    return torch.device(name)


class _blocking:
    """Calls of the forbidden functions raise ``Blocked`` and are noted."""

    def __init__(self, names, noted):
        self.names, self.noted, self.saved = list(names), noted, []

    def __enter__(self):
        import torch
        for path in self.names:
            parts = path.split(".")
            try:
                owner = functools.reduce(getattr, parts[1:-1], torch)
                original = getattr(owner, parts[-1])
            except AttributeError:
                continue
            self.saved.append((owner, parts[-1], owner.__dict__.get(parts[-1])))
            setattr(owner, parts[-1], self._blocker(path, original))

    def _blocker(self, path, original):
        noted = self.noted

        def blocked(*args, **kwargs):
            noted.append(path)
            raise Blocked(f"{path} is not allowed here")
        return blocked

    def __exit__(self, *exc):
        for owner, attr, own in reversed(self.saved):
            if own is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, own)


def _where(exc):
    """The line of the student's own code where ``exc`` was raised (their cells are
    compiled from files named after the cell, or ``<ipython-input-...>``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    lines = [f for f in traceback.extract_tb(exc.__traceback__)
             if not f.filename.startswith((here, sys.prefix, sys.base_prefix))]
    if not lines:
        return None
    frame = lines[-1]
    code = (frame.line or "").strip()
    return (f"in {frame.name}, line {frame.lineno}" + (f": {code}" if code else ""))[:300]


def guard_and_serve(path, timeout=600):
    """Note (and undo) what the student's code patched, then serve the judge: one
    request before a test cell, not two round trips."""
    try:
        from autograders.tamper import guard
        guard()
    except BaseException:  # a guard broken by the student leaves the judge to see it
        pass
    serve(path, timeout)


def serve(path, timeout=600, namespace=None):
    """Serve one judge on the Unix socket ``path`` until it says goodbye."""
    if namespace is None:
        namespace = sys.modules["__main__"].__dict__
        try:
            namespace = get_ipython().user_ns  # noqa: F821 (inside IPython)
        except NameError:
            pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(timeout)
        conn, _ = listener.accept()
    finally:
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass
    conn.settimeout(None)
    server = Server(namespace, conn)
    with conn:
        while True:
            try:
                data = wire.recv_bytes(conn, 1 << 34)
            except (wire.WireError, OSError):
                return
            request = wire.load_request(data, server.persistent_load)
            if request.get("op") == "bye":
                return
            try:
                wire.send_bytes(conn, server.reply_to(request))
            except OSError:  # the judge has gone (its time ran out): nothing to answer
                return
