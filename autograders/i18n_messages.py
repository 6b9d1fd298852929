"""The translations of what checks, diagnostics and the grader say (``nncourse.messages``).

Every message is written once, in English, as the first argument of ``say(...)``:

    say("{name}: expected shape {want}, got {got}", name=name, want=want, got=got)

One gettext catalogue per place that says things holds their translations:

    i18n/zh_CN/messages/nncourse.checks.po       the module nncourse/checks.py
    i18n/zh_CN/messages/ch02_convolution.po      the code cells of an exercise master

The ``msgid`` is the English template and the ``msgstr`` its translation, with the same
``{fields}``. ``python -m autograders i18n extract`` brings the catalogues up to date with
the code (a new template is added untranslated, a removed one dropped), ``build`` writes
them into the one file the package reads (``nncourse/locale/<language>.json``), and
``status`` lists what is missing, names the file and line.

A message that does not go through ``say`` cannot be translated: ``unwrapped`` finds the
English prose in code outside ``say`` (docstrings and comments aside).
"""
import ast
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograders import ROOT, SOURCE, assignments

CATALOGUES = ROOT / "i18n"
# Strings in the code that read like English but are data, not messages (one per line).
NOT_MESSAGES = CATALOGUES / "not-messages.txt"
LOCALE = ROOT / "nncourse" / "locale"
# The modules whose text a student or an instructor reads in feedback and reports.
MODULES = ["nncourse/checks.py", "nncourse/convpool.py", "nncourse/diagnose_activations.py",
           "nncourse/diagnose_linear.py", "nncourse/diagnose_losses.py",
           "nncourse/diagnose_normalization.py", "nncourse/diagnose_training.py",
           "nncourse/forbid.py", "nncourse/models.py", "nncourse/pretrained.py",
           "nncourse/saving.py", "autograders/judge.py", "autograders/worker.py",
           "autograders/report.py", "autograders/result.py"]
# The functions that translate, and where their template is among their arguments
# (``plot_say`` and the like, partials of ``say_in``, take it first as ``say`` does).
SAYERS = {"say": 0, "say_in": 1}
TAG = re.compile(r"<[^>]*(>|$)")
# Help texts of settings and command-line options: for the instructor at a terminal, English.
HELP_KEYWORDS = ("help", "description")
# Two words of English in a row: prose a reader sees, unless it is a docstring.
PROSE = re.compile(r"\b[A-Za-z]{2,}'?[a-z]* +[A-Za-z]{2,}\b")


@dataclass
class Message:
    """One template said in one place."""
    template: str
    origin: str     # the catalogue's name: nncourse.checks, ch02_convolution
    where: str      # file:line, for the author
    source: str     # the file or the cell: the catalogue's comment, which moving code
                    # within a file must not change

    def fields(self):
        return fields_of(self.template)


def fields_of(template):
    """The sorted ``(name, format spec)`` of a template's ``{fields}``; a template that
    str.format cannot read gives ``[("!", why)]``."""
    try:
        return sorted((name, spec or "") for _, name, spec, _ in
                      string.Formatter().parse(template) if name is not None)
    except ValueError as err:
        return [("!", str(err))]


def _template_of(node):
    """The template argument of a ``say(template, ...)`` or ``say_in(language, template,
    ...)`` call; False when ``node`` is no such call."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else None
    if name is None or not (name in SAYERS or name.endswith("_say")):
        return False
    at = SAYERS.get(name, 0)
    return node.args[at] if len(node.args) > at else None


def is_prose(text):
    """Two English words in a row, outside HTML tags."""
    return bool(PROSE.search(TAG.sub(" ", text)))


def _docstrings(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def not_messages():
    if not NOT_MESSAGES.exists():
        return set()
    return {line for line in NOT_MESSAGES.read_text().splitlines()
            if line and not line.startswith("#")}


def scan(code):
    """``(templates, unwrapped)`` of a piece of Python: the ``(line, template)`` of every
    ``say`` call, and the ``(line, text)`` of English prose said outside ``say`` (a
    ``say`` whose template is not one plain string counts as unwrapped too)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return [], [(err.lineno or 0, f"cannot read this code: {err.msg}")]
    skip = _docstrings(tree)
    data = not_messages()
    skip_fstrings = set()
    templates, unwrapped = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in HELP_KEYWORDS:
            skip.update(id(n) for n in ast.walk(node.value))
        first = _template_of(node) if isinstance(node, ast.Call) else False
        if first is not False:
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                templates.append((node.lineno, first.value))
                skip.add(id(first))
            else:
                unwrapped.append((node.lineno, "say() needs one plain string template"))
                skip_fstrings.add(id(first))
        elif isinstance(node, ast.JoinedStr) and id(node) not in skip_fstrings:
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if is_prose(text) and text not in data:
                unwrapped.append((node.lineno, text))
            skip.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in skip and is_prose(node.value) and \
                node.value not in data:
            unwrapped.append((node.lineno, node.value))
    return sorted(templates), sorted(unwrapped)


def _cell_code(cell):
    """A code cell as Python (IPython's magics and shell lines blanked)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.source.splitlines())


def is_test_code(cell):
    """A cell whose text the student reads when it runs: a locked or graded code cell
    that is not a solution."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and not meta.get("solution") and (
        meta.get("locked") or meta.get("grade"))


def sources():
    """``(origin, file, [(line offset, code)])`` of every place that says things."""
    found = []
    for rel in MODULES:
        path = ROOT / rel
        found.append((rel[:-3].replace("/", "."), rel, [(0, path.read_text())]))
    for aid in assignments():
        path = SOURCE / aid / f"{aid}.ipynb"
        nb = nbformat.read(path, as_version=4)
        codes = [(f"cell {cell.metadata.get('nbgrader', {}).get('grade_id', i)}",
                  _cell_code(cell)) for i, cell in enumerate(nb.cells) if is_test_code(cell)]
        found.append((aid, str(path.relative_to(ROOT)), codes))
    return found


def messages():
    """``(every Message, every unwrapped (where, text))`` of the course."""
    said, unwrapped = [], []
    for origin, rel, codes in sources():
        for offset, code in codes:
            templates, loose = scan(code)
            source = rel if offset == 0 else f"{rel} {offset}"
            place = (lambda line: f"{rel}:{line}") if offset == 0 else \
                (lambda line, c=offset: f"{rel} {c} line {line}")
            said += [Message(text, origin, place(line), source)
                     for line, text in templates]
            unwrapped += [(place(line), text) for line, text in loose]
    return said, unwrapped


def catalogue_path(language, origin):
    return CATALOGUES / language / "messages" / f"{origin}.po"


def catalogue_text(language, origin, said):
    """The catalogue of one origin as ``extract`` writes it."""
    import polib
    path = catalogue_path(language, origin)
    old = polib.pofile(str(path), wrapwidth=0) if path.exists() else []
    before = {e.msgid: e for e in old}
    po = polib.POFile(wrapwidth=0)
    po.metadata = {"Project-Id-Version": "nn-course", "Language": language,
                   "MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
                   "Content-Transfer-Encoding": "8bit"}
    places = {}
    for message in said:
        if message.origin == origin:
            where = places.setdefault(message.template, [])
            if message.source not in where:
                where.append(message.source)
    for template, where in sorted(places.items()):
        entry = polib.POEntry(msgid=template, msgstr="", comment="; ".join(where[:3]))
        if "{" in template:
            entry.flags = ["python-brace-format"]
        if template in before:
            entry.msgstr = before[template].msgstr
        po.append(entry)
    return str(po) + "\n"


def origins():
    return [origin for origin, _, _ in sources()]


def extract(language):
    """Bring every message catalogue of ``language`` up to date with the code."""
    said, _ = messages()
    written = []
    for origin in origins():
        target = catalogue_path(language, origin)
        text = catalogue_text(language, origin, said)
        if not target.exists() or target.read_text() != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            written.append(target)
    return written


def translations(language):
    """``{template: translation}`` of every catalogue of ``language``."""
    import polib
    merged = {}
    for origin in origins():
        path = catalogue_path(language, origin)
        if path.exists():
            for entry in polib.pofile(str(path), wrapwidth=0):
                if entry.msgstr and "fuzzy" not in entry.flags:
                    merged.setdefault(entry.msgid, entry.msgstr)
    return merged


def problems(language):
    """What is wrong, said for the author: a message with no translation, a translation
    whose fields differ from its template's, prose outside ``say``."""
    said, unwrapped = messages()
    known = translations(language)
    found = [f"{where}: English outside say(): {text!r}" for where, text in unwrapped]
    for message in said:
        if message.template not in known:
            found.append(f"{message.where}: no {language} translation of "
                         f"{message.template!r}")
        elif fields_of(known[message.template]) != message.fields():
            found.append(f"{message.where}: the {language} translation of "
                         f"{message.template!r} has fields "
                         f"{fields_of(known[message.template])}, not {message.fields()}")
    return found


def locale_text(language):
    """The package's catalogue of ``language`` as ``build`` writes it."""
    said, _ = messages()
    known = translations(language)
    used = {m.template: known[m.template] for m in said if m.template in known
            and fields_of(known[m.template]) == m.fields()}
    return json.dumps(dict(sorted(used.items())), ensure_ascii=False, indent=0) + "\n"


def build(language):
    """Write ``nncourse/locale/<language>.json``; return its path."""
    target = Path(LOCALE) / f"{language}.json"
    text = locale_text(language)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target
