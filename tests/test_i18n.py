"""The Chinese course is kept in step with the English one (autograders.i18n).

- every markdown cell of every lesson and exercise has a translation made from its
  current English (a missing or stale one fails, naming the notebook and cell), which
  keeps the English's inline code, maths and link targets;
- the glossary's terms are used wherever their English appears;
- the translated notebooks in translated/ are what `i18n build` writes now;
- their code cells (and the lessons' stored outputs) are the English ones, byte for byte,
  so the Chinese lessons pass strict nbval exactly when the English ones do;
- the Chinese student copies hold no solution and no hidden test.
"""
import re

import nbformat
import pytest

from autograders import NOTEBOOKS, RELEASE, SOURCE, assignments
from autograders.i18n import (TRANSLATED, build, catalogue_path, check_entry,
                              english_notebooks, glossary, kept_parts, language_of,
                              load_catalogue, localise_feedback, markdown_cells,
                              out_of_date, status)
from autograders.leaks import public_lines, secret_lines

LANGUAGE = "zh_CN"
ROOT_ZH = TRANSLATED / LANGUAGE
CODE = re.compile(r"```.*?```|`[^`]*`|\$[^$\n]+\$|<[^>\n]+>|\]\([^)]*\)", re.S)


def test_every_cell_is_translated_from_its_current_english():
    problems = status(LANGUAGE)
    assert not problems, (f"{len(problems)} cells need translating "
                          "(`python -m autograders i18n status`):\n"
                          + "\n".join(map(str, problems[:40])))


def test_the_catalogues_are_extracted_from_the_current_notebooks():
    stale = out_of_date(LANGUAGE)
    assert not stale, f"run `python -m autograders i18n extract` and commit: {stale}"


def test_a_stale_or_mangled_translation_is_caught():
    po = load_catalogue(catalogue_path(LANGUAGE, "lessons", "03_pooling"))
    entry = next(e for e in po if "`" in e.msgid)
    assert check_entry(entry, entry.msgid) is None
    assert check_entry(entry, entry.msgid + " More.")[0] == "stale"
    entry.msgstr = entry.msgstr.replace("`", "", 2)
    assert check_entry(entry, entry.msgid)[0] == "changed-code"
    entry.msgstr = ""
    assert check_entry(entry, entry.msgid)[0] == "missing"


def _prose(text):
    return CODE.sub(" ", text)


def test_the_glossary_is_used_by_every_chapter():
    terms = glossary()
    assert len(terms) >= 30
    wrong = []
    for kind, stem, _ in english_notebooks():
        for entry in load_catalogue(catalogue_path(LANGUAGE, kind, stem)):
            english, chinese = _prose(entry.msgid).lower(), entry.msgstr
            for term, zh in terms.items():
                if re.search(rf"\b{re.escape(term.lower())}(s|es)?\b", english) \
                        and zh not in chinese:
                    wrong.append(f"{kind}/{stem} cell {entry.msgctxt}: '{term}' is "
                                 f"not translated as {zh}")
    assert not wrong, "\n".join(wrong[:40])


def test_translated_notebooks_are_built_from_the_catalogues(tmp_path, monkeypatch):
    import autograders.i18n as i18n
    monkeypatch.setattr(i18n, "TRANSLATED", tmp_path)
    build(LANGUAGE, release_copies=False)
    for kind, stem, path in english_notebooks():
        rel = (f"notebooks/{path.name}" if kind == "lessons"
               else f"source/{stem}/{path.name}")
        assert (ROOT_ZH / rel).read_text() == (tmp_path / LANGUAGE / rel).read_text(), (
            f"translated/{LANGUAGE}/{rel} is out of date: run "
            "`python -m autograders i18n build` and commit it")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_a_chinese_lesson_has_the_english_code_and_outputs(path):
    english = nbformat.read(path, as_version=4)
    chinese = nbformat.read(ROOT_ZH / "notebooks" / path.name, as_version=4)
    assert language_of(chinese) == LANGUAGE and language_of(english) == "en"
    assert [c.id for c in chinese.cells] == [c.id for c in english.cells]
    for en, zh in zip(english.cells, chinese.cells):
        assert en.cell_type == zh.cell_type
        if en.cell_type == "code":
            assert (en.source, en.outputs) == (zh.source, zh.outputs), en.id
    prose = [c.source for c in markdown_cells(chinese)]
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", p)) for p in prose) == len(prose)


@pytest.mark.parametrize("aid", assignments())
def test_a_chinese_exercise_has_the_english_code_and_no_leak(aid):
    english = nbformat.read(SOURCE / aid / f"{aid}.ipynb", as_version=4)
    master = nbformat.read(ROOT_ZH / "source" / aid / f"{aid}.ipynb", as_version=4)
    for en, zh in zip(english.cells, master.cells):
        assert (en.id, en.cell_type, en.metadata.get("nbgrader")) == \
            (zh.id, zh.cell_type, zh.metadata.get("nbgrader"))
        if en.cell_type == "code":
            assert en.source == zh.source, en.id
    released = (ROOT_ZH / "release" / aid / f"{aid}.ipynb").read_text()
    english_release = (RELEASE / aid / f"{aid}.ipynb").read_text()
    public = "\n".join(public_lines(master))
    secret = {line for line in secret_lines(master) if line not in public}
    assert secret
    text = "\n".join(c.source for c in nbformat.reads(released, as_version=4).cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in released
    assert not [line for line in secret if line in text]
    # the student copies of both languages have the same code cells
    code = [c.source for c in nbformat.reads(released, as_version=4).cells
            if c.cell_type == "code"]
    assert code == [c.source for c in nbformat.reads(english_release, as_version=4).cells
                    if c.cell_type == "code"]


def test_kept_parts_are_code_maths_and_links():
    text = ("Use `nn.Conv2d(1, 2,\n3)` with $k = 3$, see [docs](https://pytorch.org).\n"
            "```python\nnet = `x`\n```\nand `F.relu`.")
    assert kept_parts(text) == [["```python\nnet = `x`\n```"],
                                ["`F.relu`", "`nn.Conv2d(1, 2,\n3)`"], ["$k = 3$"],
                                ["https://pytorch.org"]]


def test_feedback_labels_are_those_nbgrader_renders():
    """The labels that localise_feedback translates are in nbgrader's feedback template
    (a new nbgrader that renames one fails here, not silently in English)."""
    from pathlib import Path

    import nbgrader
    template = (Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" /
                "templates" / "feedback" / "index.html.j2").read_text()
    for label in ("(Score: ", "Test cell</a>", "Comment</a>", "Student's answer</span>",
                  "(Top)</a>", "<b>Comments:</b>", "Late submission penalty",
                  "Grade cell: <code>"):
        assert label in template, label
    html = ('<li><a href="#ex1">Test cell</a> (Score: 2.0 / 2.0)</li>'
            '<span class="nbgrader-label">Student\'s answer</span>'
            'Score: 0.0 / 2.0 <a href="#top">(Top)</a>')
    assert localise_feedback(html, "zh_CN") == (
        '<li><a href="#ex1">测试单元格</a> （得分：2.0 / 2.0）</li>'
        '<span class="nbgrader-label">学生的答案</span>'
        '得分：0.0 / 2.0 <a href="#top">（回到顶部）</a>')
    assert localise_feedback(html, "en") == html
