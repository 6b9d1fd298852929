"""The messages between the judge and a student's kernel, framed on a Unix socket.

Judge to kernel: pickles (the kernel is untrusted, so what it unpickles cannot hurt the
grader; the judge only sends its own values). Kernel to judge: ``torch.save`` files that
the judge reads with ``torch.load(weights_only=True)``, which builds tensors, numbers,
strings and containers only, never an object of a class the kernel names; and at most
``MAX_REPLY_BYTES`` of them. Whatever a kernel sends is the student's claim: the judge
compares it with what it computes itself.
"""
import io
import pickle
import struct

MAX_REPLY_BYTES = 256 << 20
HEADER = struct.Struct("!Q")

# Keys of the dicts that stand for what weights_only cannot carry (a handle to an object
# left in the kernel, a tensor's gradient, an error); ``MARK`` is never a student's key.
MARK = "\0nncourse-wire"


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


def dump_reply(obj):
    import torch
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def load_reply(data):
    import torch
    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as exc:
        raise WireError(f"an unreadable reply ({type(exc).__name__})") from None


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
