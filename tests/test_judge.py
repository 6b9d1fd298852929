"""The judge against a student's kernel, in one process: the kernel's side serves in a
thread on a namespace that stands for the student's notebook.

What a test cell sees of the student's objects (handles, twins, values), what comes back
of what the student's code changed, how failures read, and what a hostile kernel cannot
do to the judge (its replies are data only: ``wire.load_reply`` imports nothing).
"""
import io
import os
import pickle
import socket
import sys
import tempfile
import textwrap
import threading
import time

import pytest
import torch

from autograders import judge, kernel_server, wire

SETUP = "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"


@pytest.fixture(scope="module", autouse=True)
def prepared():
    """``judge.prepare`` wraps the course's checks; put them back for the other tests."""
    import importlib
    import pkgutil

    import nncourse
    saved = {}
    for info in pkgutil.iter_modules(nncourse.__path__):
        module = importlib.import_module(f"nncourse.{info.name}")
        saved[module] = dict(vars(module))
    judge.prepare()
    yield
    for module, names in saved.items():
        vars(module).clear()
        vars(module).update(names)


def _student(source):
    """A notebook's namespace; its code is in linecache, as IPython puts a cell's."""
    import linecache
    source = SETUP + textwrap.dedent(source)
    name = f"<cell {abs(hash(source))}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {"__name__": "__main__"}
    exec(compile(source, name, "exec"), namespace)
    return namespace


def _serving(namespace, timeout=30):
    path = tempfile.mktemp(prefix="nnjt-", dir="/tmp")
    thread = threading.Thread(target=kernel_server.serve, args=(path, timeout, namespace),
                              daemon=True)
    thread.start()
    return path, thread


def run(student, test, timeout=30):
    """The verdict of ``test`` (a test cell) on the notebook ``student``."""
    path, thread = _serving(_student(student))
    verdict = judge.run_cell(SETUP, textwrap.dedent(test), "ex_test", path, timeout,
                             shared=tempfile.gettempdir())
    thread.join(5)
    return verdict


def passes(student, test):
    verdict = run(student, test)
    assert verdict["passed"], verdict
    return verdict


def test_student_functions_are_called_with_the_tests_inputs_and_results_come_back():
    verdict = passes("""
        def linear(x, W, b):
            return x @ W.T + b
    """, """
        from nncourse.checks import check_close
        X, W, b = torch.randn(5, 3), torch.randn(2, 3), torch.randn(2)
        out = linear(X, W, b)
        assert type(out) is torch.Tensor and out.shape == (5, 2)
        check_close(out, F.linear(X, W, b), "linear(X, W, b)")
    """)
    assert "linear(X, W, b) matches" in verdict["output"]


def test_a_wrong_answer_fails_with_the_checks_message():
    verdict = run("""
        def linear(x, W, b):
            return x @ W.T
    """, """
        from nncourse.checks import check_close
        X, W, b = torch.randn(5, 3), torch.randn(2, 3), torch.randn(2)
        check_close(linear(X, W, b), F.linear(X, W, b), "linear(X, W, b)")
    """)
    assert not verdict["passed"] and verdict["ename"] == "CheckFailure"
    assert "linear(X, W, b): values differ" in verdict["evalue"]


def test_changes_in_place_come_back_to_the_tests_objects():
    passes("""
        def step(params, state, lr):
            for p in params:
                buf = state.setdefault("momentum", torch.zeros_like(p))
                buf.add_(p.grad)
                p.data -= lr * buf

        def freeze(net):
            net[0].requires_grad_(False)
            net.eval()
            return net
    """, """
        w = torch.ones(3, requires_grad=True)
        w.grad = torch.full((3,), 2.0)
        state = {}
        step([w], state, 0.5)
        step([w], state, 0.5)
        assert torch.equal(w.detach(), torch.tensor([-2.0, -2.0, -2.0])), w
        assert torch.equal(state["momentum"], torch.full((3,), 4.0)), state
        net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
        assert freeze(net) is net
        assert not net.training and not net[1].training
        assert [p.requires_grad for p in net.parameters()] == [False, False, True, True]
    """)


def test_an_answer_that_changes_its_input_in_place_is_told_so():
    """Else zeroing the inputs and returning zeros would match an expected value the test
    computes from the same inputs after the call."""
    verdict = run("""
        def linear(x, W, b):
            for t in (x, W, b):
                t.zero_()
            return torch.zeros(x.shape[0], W.shape[0])
    """, """
        from nncourse.checks import check_close
        X, W, b = torch.randn(5, 3), torch.randn(2, 3), torch.randn(2)
        check_close(linear(X, W, b), F.linear(X, W, b), "linear(X, W, b)")
    """)
    assert not verdict["passed"]
    assert verdict["evalue"].startswith(
        "linear(a tensor of shape (5, 3), a tensor of shape (2, 3), a tensor of shape (2,)) "
        "changed its input a tensor of shape (5, 3) in place")


def test_a_layer_the_student_replaced_is_rebuilt_here_from_data():
    passes("""
        def replace_head(net, n):
            net[-1] = nn.Linear(net[-1].in_features, n)
            return net
    """, """
        net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 10))
        first = net[0]
        replace_head(net, 5)
        assert type(net[-1]) is nn.Linear and net[-1].out_features == 5
        assert net[0] is first
        X = torch.randn(2, 3)
        expected = net[2](torch.relu(net[0](X)))  # the judge's own layers compute it
        assert torch.equal(net(X), expected)
    """)


def test_torch_layers_come_back_as_the_judges_own_and_student_classes_stay_handles():
    passes("""
        def make_net():
            return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(x)
    """, """
        from nncourse.checks import count_params
        net = make_net()
        assert type(net) is nn.Sequential and type(net[0]) is nn.Conv2d
        assert net(torch.randn(5, 1, 4, 4)).shape == (5, 3)
        mine = Net()
        assert type(mine) is judge.Remote and isinstance(mine, nn.Module)
        assert isinstance(mine.fc, nn.Module) and mine.fc.out_features == 2
        assert count_params(mine) == 10
        W, b = mine.fc.weight, mine.fc.bias
        X = torch.randn(3, 4)
        assert torch.allclose(mine(X), X @ W.T + b)
    """.replace("judge.Remote", "__import__('autograders.judge').judge.Remote"))


def test_gradients_flow_both_ways():
    passes("""
        class Scale(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(n))

            def forward(self, x):
                return x * self.weight

        def my_loss(out, y):
            return ((out - y) ** 2).sum()
    """, """
        scale = Scale(3)
        X = torch.randn(4, 3)
        with torch.no_grad():
            scale.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        scale(X).sum().backward()
        assert torch.allclose(scale.weight.grad, X.sum(0))
        net = nn.Linear(3, 1)
        y = torch.randn(4, 1)
        my_loss(net(X), y).backward()  # the student's loss, the judge's graph
        expected = torch.autograd.grad(((net(X) - y) ** 2).sum(), net.weight)[0]
        assert torch.allclose(net.weight.grad, expected)
    """)


def test_the_tests_temporary_tensors_are_let_go_on_both_sides(monkeypatch):
    """A tensor the test holds no more is no longer kept in step with its twin (both sides
    compare every twin after every request): a check that calls the answer on 50 fresh
    inputs ends with as few twins as it began. A tensor in the test's graph stays (the
    gradient its twin gets flows back into that graph: the test above), and one made in a
    request stays until the kernel has been told that it is gone."""
    servers, mirrors = [], []

    class Recording(kernel_server.Server):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            servers.append(self)

    close = judge.Connection.close

    def recording_close(self):
        mirrors.append(len(self.mirrors))
        close(self)

    monkeypatch.setattr(kernel_server, "Server", Recording)
    monkeypatch.setattr(judge.Connection, "close", recording_close)
    passes("""
        def double(x):
            return 2 * x

        def build(make):
            return make()
    """, """
        # a tensor made by the test's own function, called back, that the student returns
        assert torch.equal(build(lambda: torch.ones(2)), torch.ones(2))
        kept = torch.ones(2)
        assert torch.equal(double(kept), 2 * kept)
        for _ in range(50):
            x = torch.randn(3)
            assert torch.equal(double(x), 2 * x)
        kept.add_(1)                       # still in step: the student sees the change
        assert torch.equal(double(kept), torch.full((2,), 4.0))
    """)
    assert mirrors and mirrors[0] <= 4, mirrors
    assert servers and len(servers[0].twins) <= 4, servers[0].twins


def test_an_exception_in_the_students_code_says_which_call_and_where():
    verdict = run("""
        def conv(x, weight):
            return x @ weight
    """, """
        conv(torch.randn(2, 3, 9, 11), torch.randn(4, 3, 3, 3))
    """)
    assert not verdict["passed"] and verdict["ename"] == "RuntimeError"
    assert verdict["evalue"].startswith(
        "conv(a tensor of shape (2, 3, 9, 11), a tensor of shape (4, 3, 3, 3)) raised "
        "RuntimeError")
    assert "return x @ weight" in verdict["evalue"]


def test_a_test_expecting_a_value_error_from_the_student_still_catches_it():
    passes("""
        def check(n):
            if n < 0:
                raise ValueError("negative")
            return n
    """, """
        try:
            check(-1)
            raised = False
        except ValueError:
            raised = True
        assert raised
    """)


def test_a_missing_name_is_told_plainly():
    verdict = run("x = 1\n", "TwoLayerNet(2, 3, 4)\n")
    assert verdict["ename"] == "NameError"
    assert "TwoLayerNet is not defined in your notebook" in verdict["evalue"]


def test_the_tests_own_functions_are_called_back_not_copied():
    passes("""
        def build_and_run(make_model, x):
            return make_model()(x)

        def peek(fn):
            try:
                return fn.__globals__
            except AttributeError:
                return "refused"
    """, """
        secret = "expected values of the hidden tests"
        def make_model():
            return nn.Linear(2, 1)
        assert build_and_run(make_model, torch.randn(3, 2)).shape == (3, 1)
        assert peek(make_model) == "refused"
    """)


def test_a_forbidden_call_fails_the_cell_and_is_flagged():
    verdict = run("""
        def softmax(x):
            return torch.softmax(x, dim=-1)
    """, """
        from nncourse.forbid import forbidden
        with forbidden("torch.softmax"):
            softmax(torch.randn(3))
    """)
    assert not verdict["passed"] and verdict["flagged"] == ["torch.softmax"]
    assert "torch.softmax is not allowed here" in verdict["evalue"]


def test_code_that_does_not_finish_runs_out_of_time():
    path, thread = _serving(_student("import time\ndef slow():\n    time.sleep(30)\n"))
    began = time.monotonic()
    verdict = judge.run_cell(SETUP, "slow()\n", "ex_test", path, 2)
    assert time.monotonic() - began < 10
    assert verdict["ename"] == "StudentTimeout" and "did not finish" in verdict["evalue"]


# ----------------------------------------------------------------------------------------
# A kernel that lies


def _fake_kernel(replies):
    """A socket that answers every request with the next of ``replies`` (raw bytes)."""
    path = tempfile.mktemp(prefix="nnjt-", dir="/tmp")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            for reply in replies:
                try:
                    wire.recv_bytes(conn, 1 << 30)
                    conn.sendall(reply)
                except OSError:
                    return
    threading.Thread(target=serve, daemon=True).start()
    return path


class Explode:
    def __reduce__(self):
        return (os.system, (f"touch {tempfile.gettempdir()}/nnjt-pwned",))


def test_a_kernel_that_sends_a_pickle_gets_nowhere():
    marker = os.path.join(tempfile.gettempdir(), "nnjt-pwned")
    if os.path.exists(marker):
        os.unlink(marker)
    payload = pickle.dumps({"value": Explode()})
    path = _fake_kernel([wire.HEADER.pack(len(payload)) + payload])
    verdict = judge.run_cell(SETUP, "assert f() == 1\n", "ex_test", path, 5)
    assert not verdict["passed"] and "unreadable" in verdict["evalue"]
    assert not os.path.exists(marker)


def test_a_reply_carries_tensors_as_data_with_their_strides():
    sent = [torch.randn(3, 4), torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last),
            torch.randn(4, 3).t(), torch.zeros(0, 3), torch.tensor(3.5),
            torch.tensor([True, False]), torch.randn(3, dtype=torch.complex64),
            torch.randn(2, 2).to(torch.bfloat16), torch.arange(6)]
    for t in sent:
        got = wire.load_reply(wire.dump_reply({"t": t, "size": t.shape, "dtype": t.dtype,
                                               "z": 1 + 2j, "device": t.device}))
        assert torch.equal(got["t"], t) and got["t"].stride() == t.stride()
        assert got["t"].dtype == t.dtype and type(got["size"]) is torch.Size
        assert got["dtype"] is t.dtype and got["z"] == 1 + 2j and got["device"] == t.device
        got["t"].resize_(0)  # a tensor of its own storage, not of the reply's bytes
    meta = wire.load_reply(wire.dump_reply(torch.empty(2, 5, device="meta")))
    assert meta.is_meta and meta.shape == (2, 5)
    with pytest.raises(pickle.PicklingError):  # the kernel's side sends data only
        wire.dump_reply({"value": kernel_server.Server({})})


@pytest.mark.parametrize("reference", [
    ("tensor", "float32", (2,), None, b"\0" * 7),        # bytes that do not fit the shape
    ("tensor", "Tensor", (1,), None, b"\0" * 4),         # a name of torch that is no dtype
    ("tensor", "float32", (-1,), None, b""),
    ("tensor", "float32", (2, 2), (0, 0), b"\0" * 16),   # no order of the dimensions
    ("tensor", "float32", (1,) * 65, None, b"\0" * 4),   # past the dimensions torch has
    ("size", (1, "2")), ("device", "cpu" * 20), ("dtype", "manual_seed"), ("module", "os"),
])
def test_a_malformed_reference_in_a_reply_is_unreadable(reference):
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return reference if obj == "here" else None
    buffer = io.BytesIO()
    Pickler(buffer, protocol=5).dump({"value": "here"})
    with pytest.raises(wire.WireError):
        wire.load_reply(buffer.getvalue())


def test_bool_values_from_a_kernel_are_bools():
    """A byte but 0 or 1 in a bool tensor's data would make a tensor that is neither."""
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("tensor", "bool", (3,), None, b"\0\x01\x07") if obj == "here" else None
    buffer = io.BytesIO()
    Pickler(buffer, protocol=5).dump("here")
    got = wire.load_reply(buffer.getvalue())
    assert got.tolist() == [False, True, True] and (got == True).sum() == 2  # noqa: E712


def test_a_kernel_that_sends_too_much_is_cut_off():
    path = _fake_kernel([wire.HEADER.pack(wire.MAX_REPLY_BYTES + 1)])
    verdict = judge.run_cell(SETUP, "f()\n", "ex_test", path, 5)
    assert not verdict["passed"] and "stopped answering" in verdict["evalue"]


def test_a_kernel_that_claims_a_right_answer_is_checked_like_any_answer():
    """A replaced server may answer anything; the judge compares it with its own
    expected value, so a made-up tensor fails like a wrong answer."""
    made_up = wire.dump_reply({"value": {wire.MARK: "tensor", "data": torch.zeros(5, 2),
                                         "rg": False, "param": False, "grad": None}})
    name = wire.dump_reply({"value": {wire.MARK: "remote", "id": 1, "mro": [],
                                      "type": "function"}})
    framed = [wire.HEADER.pack(len(r)) + r for r in (name, made_up)]
    verdict = judge.run_cell(SETUP, textwrap.dedent("""
        from nncourse.checks import check_close
        X, W, b = torch.randn(5, 3), torch.randn(2, 3), torch.randn(2)
        check_close(linear(X, W, b), F.linear(X, W, b), "linear")
    """), "ex_test", _fake_kernel(framed), 5)
    assert not verdict["passed"] and verdict["ename"] == "CheckFailure"


def test_the_kernels_side_never_needs_the_judges_modules():
    """What the student's kernel imports to serve: no judge, no checks' verdicts."""
    import subprocess
    code = ("import sys, autograders.kernel_server; "
            "print(sorted(m for m in sys.modules if m.startswith('autograders')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "autograders.judge" not in out
