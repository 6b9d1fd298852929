"""The course in other languages, from one source: the English notebooks.

A catalogue per notebook and language (gettext ``.po``, read and written with polib)
holds the translation of each markdown cell:

    i18n/zh_CN/lessons/01_module.po         notebooks/01_module.ipynb
    i18n/zh_CN/exercises/ch01_module.po     source/ch01_module/ch01_module.ipynb

An entry's context (``msgctxt``) is the cell's id, its ``msgid`` the English text, and a
comment the English text's hash. Code cells are never translated: they, and the lessons'
stored outputs, are the same in every language, except that what the checks printed in
those outputs is retold in the language (``nncourse.messages.retell``): it is what they
print when the translated lesson runs, which strict nbval proves.

``python -m autograders i18n status`` lists what needs translating: cells with no
translation (``missing``) and cells whose English changed since they were translated
(``stale``: the entry is marked fuzzy and keeps its previous English, so a translator sees
what changed). ``i18n extract`` brings the catalogues up to date with the English
notebooks; ``i18n build`` writes the translated notebooks:

    translated/zh_CN/notebooks/01_module.ipynb          the lesson, its outputs retold
    translated/zh_CN/source/ch01_module/...             the exercise master (solutions)
    translated/zh_CN/release/ch01_module/...            the student copy (nbgrader)

Every translated notebook says its language in its metadata (``nncourse.language``).
"""
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograders import NOTEBOOKS, ROOT, SOURCE, assignments, extra_files
from nncourse.messages import retell

LANGUAGES = ("zh_CN",)
CATALOGUES = ROOT / "i18n"
TRANSLATED = ROOT / "translated"
GLOSSARY = CATALOGUES / "glossary.tsv"
# What a translation must carry over unchanged: fenced code blocks, inline code (a span
# may run over a line break), maths, links' targets.
FENCE = re.compile(r"```.*?```", re.S)
KEPT = [re.compile(r"`[^`]+`"), re.compile(r"\$[^$\n]+\$"),
        re.compile(r"\]\(([^)\s]+)\)")]


def kept_parts(text):
    """The parts of a markdown text that its translation keeps, as sorted lists."""
    rest = FENCE.sub(" ", text)
    return [sorted(FENCE.findall(text))] + [sorted(p.findall(rest)) for p in KEPT]


@dataclass
class Problem:
    """A cell whose translation is not usable, said for the author."""
    notebook: str
    cell: str
    kind: str      # missing, stale, changed-code, no-catalogue, not-built
    detail: str = ""

    def __str__(self):
        return f"{self.notebook} cell {self.cell}: {self.kind}" + \
            (f" ({self.detail})" if self.detail else "")


def english_notebooks():
    """``(kind, stem, path)`` of every English notebook that is translated."""
    found = [("lessons", p.stem, p) for p in sorted(NOTEBOOKS.glob("*.ipynb"))]
    found += [("exercises", aid, SOURCE / aid / f"{aid}.ipynb") for aid in assignments()]
    return found


def catalogue_path(language, kind, stem):
    return CATALOGUES / language / kind / f"{stem}.po"


def text_hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def markdown_cells(nb):
    return [c for c in nb.cells if c.cell_type == "markdown" and c.source.strip()]


def _relative(path):
    return str(Path(path).resolve().relative_to(ROOT))


def load_catalogue(path):
    import polib
    return polib.pofile(str(path), wrapwidth=0) if Path(path).exists() else None


def catalogue_text(language, kind, stem, path):
    """The catalogue of one English notebook as ``extract`` writes it: new cells added
    untranslated, changed cells marked fuzzy (their previous English kept), removed cells
    dropped."""
    import polib
    nb = nbformat.read(path, as_version=4)
    old = load_catalogue(catalogue_path(language, kind, stem))
    by_cell = {e.msgctxt: e for e in old} if old else {}
    po = polib.POFile(wrapwidth=0)
    po.metadata = {"Project-Id-Version": "nn-course", "Language": language,
                   "MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
                   "Content-Transfer-Encoding": "8bit"}
    for cell in markdown_cells(nb):
        entry = polib.POEntry(msgctxt=cell.id, msgid=cell.source, msgstr="",
                              occurrences=[(_relative(path), "")],
                              comment=f"en {text_hash(cell.source)}")
        before = by_cell.get(cell.id)
        if before is not None and before.msgstr:
            entry.msgstr = before.msgstr
            if before.msgid != cell.source or "fuzzy" in before.flags:
                entry.flags = ["fuzzy"]
                entry.previous_msgid = (before.previous_msgid or before.msgid
                                        if before.msgid != cell.source
                                        else before.previous_msgid)
        po.append(entry)
    return str(po) + "\n"


def out_of_date(language):
    """The catalogues that ``extract`` would change."""
    return [catalogue_path(language, kind, stem)
            for kind, stem, path in english_notebooks()
            if not catalogue_path(language, kind, stem).exists()
            or catalogue_path(language, kind, stem).read_text()
            != catalogue_text(language, kind, stem, path)]


def extract(language):
    """Bring every catalogue of ``language`` up to date with the English notebooks."""
    written = []
    for kind, stem, path in english_notebooks():
        target = catalogue_path(language, kind, stem)
        text = catalogue_text(language, kind, stem, path)
        if not target.exists() or target.read_text() != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            written.append(target)
    return written


def check_entry(entry, english):
    """What is wrong with one entry's translation of ``english``, or None."""
    if not entry.msgstr.strip():
        return "missing", ""
    if entry.msgid != english or "fuzzy" in entry.flags:
        return "stale", "the English changed since it was translated"
    for wanted, got in zip(kept_parts(english), kept_parts(entry.msgstr)):
        if wanted != got:
            lost = sorted(set(wanted) - set(got))[:3]
            extra = sorted(set(got) - set(wanted))[:3]
            return "changed-code", f"kept unchanged: lost {lost}, added {extra}"
    return None


def status(language):
    """Every problem of ``language``'s catalogues against the English notebooks."""
    problems = []
    for kind, stem, path in english_notebooks():
        nb = nbformat.read(path, as_version=4)
        name = _relative(path)
        po = load_catalogue(catalogue_path(language, kind, stem))
        if po is None:
            problems.append(Problem(name, "-", "no-catalogue",
                                    "run `python -m autograders i18n extract`"))
            continue
        by_cell = {e.msgctxt: e for e in po}
        for cell in markdown_cells(nb):
            entry = by_cell.get(cell.id)
            if entry is None:
                problems.append(Problem(name, cell.id, "missing", "not in the catalogue"))
                continue
            found = check_entry(entry, cell.source)
            if found:
                problems.append(Problem(name, cell.id, *found))
    return problems


def translate_notebook(nb, po, language, messages=None):
    """A copy of ``nb`` with its markdown cells in ``language`` (untranslated cells stay
    English), what the checks printed in its outputs retold with ``messages`` (the
    language's message catalogue) and the language in its metadata."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    by_cell = {e.msgctxt: e for e in po} if po else {}
    for cell in markdown_cells(nb):
        entry = by_cell.get(cell.id)
        if entry is not None and check_entry(entry, cell.source) is None:
            cell.source = entry.msgstr
    if messages:
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                retell_output(output, messages)
    nb.metadata.setdefault("nncourse", {})["language"] = language
    return nb


def retell_output(output, messages):
    """Retell, in place, the text of one stored output (a stream, an error, a result)."""
    for key in ("text", "evalue"):
        if key in output:
            output[key] = retell("".join(output[key]), messages)
    if "traceback" in output:
        output["traceback"] = [retell(line, messages) for line in output["traceback"]]
    for kind in ("text/plain", "text/markdown", "text/html"):
        if kind in output.get("data", {}):
            output["data"][kind] = retell("".join(output["data"][kind]), messages)


# nbgrader's feedback page (its template's labels, as they render), per language.
FEEDBACK_LABELS = {
    "zh_CN": [
        (r"\(Score: (-?[\d.]+(?: / [\d.]+)?)\)", r"（得分：\1）"),
        (r"Score: ([\d.]+ / [\d.]+)", r"得分：\1"),
        (r">\(Top\)</a>", ">（回到顶部）</a>"),
        (r">Test cell</a>", ">测试单元格</a>"),
        (r">Coding free-response</a>", ">编程作答</a>"),
        (r">Written response</a>", ">书面作答</a>"),
        (r">Task</a>", ">任务</a>"),
        (r">Comment</a>", ">评语</a>"),
        (r"Late submission penalty", "迟交扣分"),
        (r">Student's answer</span>", ">学生的答案</span>"),
        (r">Student's task</span>", ">学生的任务</span>"),
        (r">Grade cell: <code>", ">评分单元格：<code>"),
        (r">Task: <code>", ">任务：<code>"),
        (r"<b>Comments:</b>", "<b>评语：</b>"),
        (r'<html lang="en">', '<html lang="zh-CN">'),
    ],
}


def localise_feedback(html, language):
    """nbgrader's feedback page with its own labels in ``language`` (the notebook's text is
    already in it)."""
    for pattern, replacement in FEEDBACK_LABELS.get(language, []):
        html = re.sub(pattern, replacement, html)
    return html


def language_of(nb):
    """The language a notebook is in: its metadata, else English."""
    return nb.get("metadata", {}).get("nncourse", {}).get("language", "en")


def build(language, release_copies=True):
    """Write the translated lessons, exercise masters and (by nbgrader) student copies."""
    from autograders.i18n_messages import locale_text
    from autograders.release import release
    root = TRANSLATED / language
    messages = json.loads(locale_text(language))
    built = []
    for kind, stem, path in english_notebooks():
        nb = nbformat.read(path, as_version=4)
        po = load_catalogue(catalogue_path(language, kind, stem))
        out = translate_notebook(nb, po, language, messages)
        if kind == "lessons":
            target = root / "notebooks" / path.name
        else:
            target = root / "source" / stem / path.name
            for extra in extra_files(path.parent):
                dest = root / "source" / stem / extra.relative_to(path.parent)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(extra, dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(out) + "\n"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        built.append(target)
    if release_copies:
        release(assignments(), target=root / "release", source=root / "source")
    return built


def glossary():
    """``{english term: chinese term}`` of the course's glossary."""
    terms = {}
    for line in GLOSSARY.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            english, chinese = line.split("\t")[:2]
            terms[english.strip()] = chinese.strip()
    return terms


def main(action, language="zh_CN"):
    if language not in LANGUAGES:
        print(f"unknown language {language!r}: one of {', '.join(LANGUAGES)}")
        return 2
    from autograders import i18n_messages
    if action == "extract":
        for path in extract(language) + i18n_messages.extract(language):
            print(f"updated {_relative(path)}")
        return 0
    if action == "build":
        extract(language)
        i18n_messages.extract(language)
        for path in build(language) + [i18n_messages.build(language)]:
            print(f"built {_relative(path)}")
        problems = status(language)
        messages = i18n_messages.problems(language)
        if problems or messages:
            print(f"{len(problems)} cells and {len(messages)} messages are still in "
                  "English: `python -m autograders i18n status` lists them")
        return 0
    problems = status(language)
    messages = i18n_messages.problems(language)
    for problem in problems + messages:
        print(problem)
    print(f"{language}: {len(problems)} cells and {len(messages)} messages need "
          "translating" if problems or messages
          else f"{language}: every cell and every message is translated")
    return 1 if problems or messages else 0

