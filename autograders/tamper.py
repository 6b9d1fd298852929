"""Tamper awareness: student code that changes what the tests rely on.

Two complementary looks, both reported in the ``flags`` column of grades.csv:

- ``scan(sources)`` reads the student's cells without running them (``ast``): assignments,
  ``setattr``/``delattr`` and deletions that reach into torch, numpy, builtins or the
  course's checks (``nncourse``), shadowing a builtin or a module name that the tests use,
  and any mention of the instructor's files (``source/``, the gradebook, ``autograders``,
  ``nbgrader``);
- ``snapshot()``, ``guard()`` and ``changed()`` run inside the grading kernel: the grader
  notes which object every name of those modules (and of torch's classes) points to
  before the student's code runs; before every test cell ``guard()`` notes and puts back
  whatever was rebound since (and the ``torch``, ``nn``, ``F``, ``np`` globals of the
  setup cell); after the last cell ``changed()`` says what was rebound, which also
  catches patches made through ``exec`` or ``getattr`` tricks.

This is detection, for a human to look at: the verdict does not depend on it, since the
tests run in the judge (``autograders.judge``), out of the student's code's reach.

Flags: ``tamper:torch``, ``tamper:numpy``, ``tamper:builtins``, ``tamper:checks``,
``tamper:modules`` (``sys.modules`` changed), ``tamper:source``.
"""
import ast
import re
from itertools import repeat

from autograders import PROOF_FILES

FAMILIES = {
    "torch": "torch", "torchvision": "torch", "numpy": "numpy", "builtins": "builtins",
    "nncourse": "checks", "math": "builtins",
}
# Names that the locked setup cell binds (and the tests use) and what they are.
SETUP_NAMES = {"torch": "torch", "nn": "torch", "F": "torch", "np": "numpy",
               "nncourse": "checks"}
SOURCE_WORDS = re.compile(
    r"(^|[/\\])(source|autograded|release)([/\\]|$)|gradebook|nbgrader_config|"
    + "|".join(re.escape(name) for name in PROOF_FILES), re.IGNORECASE)
FORBIDDEN_IMPORTS = ("autograders", "nbgrader")
# Builtins that tests call: a student's global of that name would change what tests see.
BUILTIN_NAMES = {"len", "sum", "isinstance", "issubclass", "all", "any", "abs", "max", "min",
                 "round", "float", "int", "bool", "list", "tuple", "dict", "set", "range",
                 "zip", "enumerate", "sorted", "print", "getattr", "hasattr", "type", "id",
                 "repr", "str", "iter", "next", "callable", "map", "filter", "AssertionError",
                 "Exception", "object", "super", "vars"}


def _strip_magics(source):
    """IPython lines (``%time``, ``!pip``) would stop ``ast``: blank them out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!", "?")) else line
                     for line in source.splitlines())


class _Scanner(ast.NodeVisitor):
    def __init__(self):
        self.aliases = dict(SETUP_NAMES)  # name -> family
        self.flags = set()
        self.depth = 0  # inside a function or class body

    # -- what a name or attribute chain refers to
    def family(self, node):
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.value if not isinstance(node, ast.Call) else node.func
        if isinstance(node, ast.Name):
            if node.id == "__builtins__":
                return "builtins"
            return self.aliases.get(node.id)
        return None

    def _import_family(self, module):
        top = (module or "").split(".")[0]
        if top in FORBIDDEN_IMPORTS:
            self.flags.add("tamper:source")
        return FAMILIES.get(top)

    def visit_Import(self, node):
        for alias in node.names:
            fam = self._import_family(alias.name)
            bound = alias.asname or alias.name.split(".")[0]
            if fam:
                self.aliases[bound] = fam
            elif bound in SETUP_NAMES and self.depth == 0:
                self.flags.add(f"tamper:{SETUP_NAMES[bound]}")  # import numpy as torch...
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        fam = self._import_family(node.module)
        for alias in node.names:
            bound = alias.asname or alias.name
            if fam:
                self.aliases[bound] = fam
            if bound in BUILTIN_NAMES and self.depth == 0 and fam != "builtins":
                self.flags.add("tamper:builtins")
        self.generic_visit(node)

    # -- writes
    def _target(self, target):
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._target(elt)
            return
        if isinstance(target, ast.Starred):
            self._target(target.value)
            return
        if isinstance(target, ast.Subscript) and _is_sys_modules(target.value):
            self.flags.add("tamper:modules")
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            fam = self.family(target)
            if fam:
                self.flags.add(f"tamper:{fam}")
            # vars(torch)["x"] = ..., torch.__dict__["x"] = ...
            base = target.value
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and \
                    base.func.id in ("vars", "globals") and base.args:
                fam = self.family(base.args[0])
                if fam:
                    self.flags.add(f"tamper:{fam}")
        elif isinstance(target, ast.Name) and self.depth == 0:
            if target.id in SETUP_NAMES:
                self.flags.add(f"tamper:{SETUP_NAMES[target.id]}")
            elif target.id in BUILTIN_NAMES:
                self.flags.add("tamper:builtins")

    def visit_Assign(self, node):
        for target in node.targets:
            # nn = torch.nn is harmless: the name keeps pointing into the same family
            if isinstance(target, ast.Name) and target.id in SETUP_NAMES and \
                    isinstance(node.value, (ast.Name, ast.Attribute)) and \
                    self.family(node.value) == SETUP_NAMES[target.id]:
                continue
            self._target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def _scope(self, node, name=None):
        if name and self.depth == 0:
            if name in BUILTIN_NAMES:
                self.flags.add("tamper:builtins")
            elif name in SETUP_NAMES:
                self.flags.add(f"tamper:{SETUP_NAMES[name]}")
        for deco in getattr(node, "decorator_list", []):
            self.visit(deco)
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1

    def visit_FunctionDef(self, node):
        self._scope(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for base in node.bases:
            self.visit(base)
        self._scope(node, node.name)

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else None)
        if name in ("setattr", "delattr", "__setattr__", "__delattr__") and node.args:
            fam = self.family(node.args[0])
            if fam:
                self.flags.add(f"tamper:{fam}")
        if isinstance(func, ast.Attribute) and _is_sys_modules(func.value) and name in (
                "update", "setdefault", "pop", "popitem", "__setitem__", "__delitem__",
                "clear"):
            self.flags.add("tamper:modules")
        if isinstance(func, ast.Attribute) and name in ("update", "setdefault", "pop",
                                                        "__setitem__", "clear"):
            target = func.value  # vars(torch).update(...), torch.__dict__.update(...)
            if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and \
                    target.func.id == "vars" and target.args:
                fam = self.family(target.args[0])
            elif isinstance(target, ast.Attribute) and target.attr == "__dict__":
                fam = self.family(target.value)
            else:
                fam = None
            if fam:
                self.flags.add(f"tamper:{fam}")
        if name in ("import_module", "__import__") and node.args and \
                isinstance(node.args[0], ast.Constant) and \
                str(node.args[0].value).split(".")[0] in FORBIDDEN_IMPORTS:
            self.flags.add("tamper:source")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and SOURCE_WORDS.search(node.value):
            self.flags.add("tamper:source")


def _is_sys_modules(node):
    """``sys.modules`` (or ``__import__("sys").modules``)."""
    return isinstance(node, ast.Attribute) and node.attr == "modules" and (
        (isinstance(node.value, ast.Name) and node.value.id == "sys") or
        (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and
         node.value.func.id == "__import__"))


def scan(sources):
    """Tamper flags for a list of student cell sources (sorted list of strings)."""
    scanner = _Scanner()
    for source in sources:
        text = _strip_magics(source)
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            # unparsable code cannot run either; still look for the plainest patterns
            if re.search(r"\b(torch|nn|F)\.[\w.]+\s*=[^=]", text):
                scanner.flags.add("tamper:torch")
            if re.search(r"\b(np|numpy)\.[\w.]+\s*=[^=]", text):
                scanner.flags.add("tamper:numpy")
            if SOURCE_WORDS.search(text):
                scanner.flags.add("tamper:source")
            continue
        scanner.visit(tree)
        if re.search(r"\bsys\.modules\s*\[[^\]]*\]\s*=[^=]", text):
            scanner.flags.add("tamper:checks" if "nncourse" in text else "tamper:torch")
    return sorted(scanner.flags)


# ----------------------------------------------------------------------------------------
# Inside the kernel: which names now point to other objects? Put them back.

_SNAPSHOT = {}   # (where, name) -> (family, id, object)
_BY_OWNER = {}   # where -> ([name, ...], [id, ...]): the same, in the order noted
_CLASS_NAMES = {}  # where -> names a watched class defined itself when noted
_FOUND = {}      # family -> names found rebound (and put back) so far
_MISSING = object()
# Names that the kernel itself (IPython, ipykernel) rebinds while running cells.
_VOLATILE = {("builtins", n) for n in ("_", "__", "___", "input", "display", "get_ipython",
                                        "exit", "quit", "open", "print", "__IPYTHON__")}
# What Python itself adds to classes as it goes (copyreg caches slot names on pickling).
_CACHES = {"__slotnames__"}
# Globals that the locked setup cell binds and the tests use: name -> module.
_SETUP_GLOBALS = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional",
                  "np": "numpy"}


def _watched():
    """``[(family, where, owner)]``: the modules and classes whose names are watched."""
    import sys
    names = {"torch": "torch", "torch.nn": "torch", "torch.nn.functional": "torch",
             "torch.nn.init": "torch", "torch.linalg": "torch", "torch.optim": "torch",
             "numpy": "numpy", "builtins": "builtins", "math": "builtins",
             "nncourse": "checks", "nncourse.checks": "checks"}
    owners = []
    for mod_name, family in names.items():
        module = sys.modules.get(mod_name)
        if module is not None:
            owners.append((family, mod_name, module))
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "nn"):
        classes = [torch.Tensor, torch.nn.Module, torch.nn.Parameter]
        classes += [v for v in vars(torch.nn).values()
                    if isinstance(v, type) and v.__module__.startswith("torch.nn")]
        for cls in classes:
            owners.append(("torch", f"{cls.__module__}.{cls.__qualname__}", cls))
    return owners


def snapshot():
    """Note what every watched name points to (before any student code runs).

    Called again after the locked setup cell: modules imported since are added (the
    names already noted keep their first object).
    """
    for family, where, owner in _watched():
        names, ids = _BY_OWNER.setdefault(where, ([], []))
        for name, value in list(vars(owner).items()):
            if (where, name) not in _VOLATILE and (where, name) not in _SNAPSHOT:
                _SNAPSHOT[(where, name)] = (family, id(value), value)
                names.append(name)
                ids.append(id(value))
        if isinstance(owner, type) and where not in _CLASS_NAMES:
            _CLASS_NAMES[where] = set(vars(owner))
    return len(_SNAPSHOT)


def _rebound(where, owner):
    """The noted names of ``owner`` that now point elsewhere (or nowhere). The ids are
    compared as lists first, in C: a guard runs before every test cell."""
    names, ids = _BY_OWNER.get(where, ((), ()))
    now = vars(owner)
    if list(map(id, map(now.get, names, repeat(_MISSING)))) == ids:
        return []
    return [name for name, ident in zip(names, ids)
            if id(now.get(name, _MISSING)) != ident]


def _shadowing(where, owner):
    """Names added to a watched class that hide what a base class defines
    (``torch.Tensor.__eq__ = ...`` lands in Tensor, hiding the C implementation)."""
    known = _CLASS_NAMES.get(where)
    if known is None or not isinstance(owner, type) or vars(owner).keys() <= known:
        return []
    return [name for name in set(vars(owner)) - known - _CACHES
            if any(name in vars(base) for base in owner.__mro__[1:])]


def _user_namespace():
    try:
        from IPython import get_ipython
        shell = get_ipython()
        return shell.user_ns if shell is not None else None
    except Exception:
        return None


def guard():
    """Before a test cell: put back every watched name (and setup global) rebound since.

    What was put back is remembered for ``changed()``. Returns how many names.
    """
    import sys
    restored = 0
    watched = _watched()
    for family, where, owner in watched:
        for name in _rebound(where, owner):
            family, _, value = _SNAPSHOT[(where, name)]
            _FOUND.setdefault(family, set()).add(f"{where}.{name}")
            try:
                setattr(owner, name, value)
                restored += 1
            except (AttributeError, TypeError):
                pass
    for family, where, owner in watched:
        for name in _shadowing(where, owner):
            _FOUND.setdefault(family, set()).add(f"{where}.{name}")
            try:
                delattr(owner, name)
                restored += 1
            except (AttributeError, TypeError):
                pass
    namespace = _user_namespace()
    if namespace is not None:
        for name, module_name in _SETUP_GLOBALS.items():
            module = sys.modules.get(module_name)
            if module is not None and name in namespace and namespace[name] is not module:
                _FOUND.setdefault("numpy" if name == "np" else "torch", set()).add(
                    f"global {name}")
                namespace[name] = module
                restored += 1
    return restored


def changed():
    """``{family: [where.name, ...]}``: watched names rebound or deleted, now or earlier."""
    found = {family: set(names) for family, names in _FOUND.items()}
    watched = _watched()
    for _, where, owner in watched:
        for name in _rebound(where, owner):
            found.setdefault(_SNAPSHOT[(where, name)][0], set()).add(f"{where}.{name}")
    for family, where, owner in watched:
        for name in _shadowing(where, owner):
            found.setdefault(family, set()).add(f"{where}.{name}")
    return {family: sorted(names) for family, names in found.items()}
