"""The messages between the judge and a student's kernel, framed on a Unix socket.

Judge to kernel: pickles (the kernel is untrusted, so what it unpickles cannot hurt the
grader; the judge only sends its own values). Kernel to judge: pickles of data only,
which the judge reads with an unpickler that imports nothing (``load_reply``): numbers,
strings, bytes and containers of them; tensors, dtypes, devices and sizes travel as
references to their data (``reply_reference``), which the judge checks and rebuilds
itself; never an object of a class the kernel names, and at most ``MAX_REPLY_BYTES``.
Whatever a kernel sends is the student's claim: the judge compares it with what it
computes itself. (``torch.load(weights_only=True)`` gives the same guarantee, but its zip
archive costs ~0.3 ms a reply on both sides, and a notebook's tests make hundreds.)
"""
import io
import math
import pickle
import struct

MAX_REPLY_BYTES = 256 << 20
HEADER = struct.Struct("!Q")
MAX_DIMS = 64

# Keys of the dicts that stand for what a reply cannot carry as data (a handle to an
# object left in the kernel, a tensor's gradient, an error); ``MARK`` is never a
# student's key.
MARK = "\0nncourse-wire"

# What a reply holds as itself: pickle builds these without importing anything.
_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes, tuple, list, dict,
                    set, frozenset})


class WireError(Exception):
    """The other side closed the socket, sent too much, or sent something unreadable."""


def send_bytes(sock, data):
    sock.sendall(HEADER.pack(len(data)) + data)


def recv_bytes(sock, limit):
    size = HEADER.unpack(_recv_exact(sock, HEADER.size))[0]
    if size > limit:
        raise WireError(f"a reply of {size} bytes (the limit is {limit})")
    return _recv_exact(sock, size)


def _recv_exact(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise WireError("the kernel closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def reply_reference(obj):
    """How a reply carries what is not plain data: a tensor as its dtype, shape and
    bytes; a dtype, device or size by name or numbers. Anything else cannot go."""
    import torch
    if type(obj) in _PLAIN or obj is complex:  # a complex number pickles as complex(re, im)
        return None
    if isinstance(obj, torch.Tensor):
        return _tensor_reference(obj)
    if isinstance(obj, torch.dtype):
        return ("dtype", str(obj).removeprefix("torch."))
    if isinstance(obj, torch.device):
        return ("device", str(obj))
    if isinstance(obj, torch.Size):
        return ("size", tuple(obj))
    raise pickle.PicklingError(f"a reply cannot hold a {type(obj).__name__}")


def _tensor_reference(t):
    """A dense tensor's values, in the order of its strides (a permuted or channels-last
    tensor comes back with the same strides); as data only: no gradient, no graph (the
    replies carry those flags themselves)."""
    import torch
    t = t.detach()
    if t.layout != torch.strided or t.is_quantized:
        raise pickle.PicklingError("a reply cannot hold a sparse or quantized tensor")
    dtype = str(t.dtype).removeprefix("torch.")
    if t.is_meta:
        return ("tensor", dtype, tuple(t.shape), None, None)
    t = t.cpu().resolve_conj().resolve_neg()
    order = None
    if not t.is_contiguous():
        order = tuple(sorted(range(t.dim()), key=lambda d: -t.stride(d)))
        t = t.permute(order)
    data = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return ("tensor", dtype, tuple(t.shape), order, data)


def dump_reply(obj):
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = reply_reference
    pickler.dump(obj)
    return buffer.getvalue()


class _ReplyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("builtins", "complex"):
            return complex
        raise WireError(f"a reply may not name {module}.{name}"[:200])

    def persistent_load(self, pid):
        return rebuild(pid)


def load_reply(data):
    try:
        return _ReplyUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise WireError(f"an unreadable reply ({type(exc).__name__})") from None


def rebuild(pid):
    """The object that ``reply_reference`` stands ``pid`` for, once it is checked to be
    well formed (the kernel may send anything)."""
    import torch
    kind = pid[0] if type(pid) is tuple and pid else None
    if kind == "dtype" and len(pid) == 2:
        return _dtype(pid[1])
    if kind == "device" and len(pid) == 2 and type(pid[1]) is str and len(pid[1]) < 40:
        return torch.device(pid[1])
    if kind == "size" and len(pid) == 2:
        return torch.Size(_shape(pid[1]))
    if kind == "tensor" and len(pid) == 5:
        return _tensor(*pid[1:])
    raise ValueError("a malformed reference")


def _dtype(name):
    import torch
    dtype = getattr(torch, name, None) if type(name) is str else None
    if not isinstance(dtype, torch.dtype):
        raise ValueError("not a dtype")
    return dtype


def _shape(shape):
    if type(shape) is not tuple or len(shape) > MAX_DIMS or \
            not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("not a shape")
    return shape


def _tensor(dtype, shape, order, data):
    import torch
    dtype, shape = _dtype(dtype), _shape(shape)
    if data is None:
        t = torch.empty(shape, dtype=dtype, device="meta")
    else:
        numel = math.prod(shape)
        if type(data) is not bytes or len(data) != numel * dtype.itemsize:
            raise ValueError("the data does not fit the shape")
        if not numel:
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bool:  # a byte but 0 or 1 would make an invalid bool
            t = (torch.frombuffer(bytearray(data), dtype=torch.uint8) != 0).reshape(shape)
        else:  # a tensor of its own storage, which can be resized like any
            t = torch.frombuffer(bytearray(data), dtype=dtype).clone().reshape(shape)
    if order is not None:
        if type(order) is not tuple or sorted(order) != list(range(len(shape))):
            raise ValueError("not an order of the dimensions")
        t = t.permute(tuple(order.index(d) for d in range(len(order))))
    return t


def rng_state():
    """torch's global random state as bytes: it goes with every call, both ways (one
    random stream, as in one process), and as bytes it is no tensor to keep in step."""
    import torch
    return torch.get_rng_state().numpy().tobytes()


def set_rng_state(state):
    """Take on a state that ``rng_state`` gave (a malformed one is ignored)."""
    import torch
    if isinstance(state, bytes):
        try:
            torch.set_rng_state(torch.frombuffer(bytearray(state), dtype=torch.uint8))
        except (RuntimeError, TypeError, ValueError):
            pass


def dump_request(obj, persistent_id):
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = persistent_id
    pickler.dump(obj)
    return buffer.getvalue()


def load_request(data, persistent_load):
    unpickler = pickle.Unpickler(io.BytesIO(data))
    unpickler.persistent_load = persistent_load
    return unpickler.load()
