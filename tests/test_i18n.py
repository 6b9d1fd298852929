"""The Chinese course is kept in step with the English one (autograders.i18n).

- every markdown cell of every lesson and exercise has a translation made from its
  current English (a missing or stale one fails, naming the notebook and cell), which
  keeps the English's inline code, maths and link targets;
- the glossary's terms are used wherever their English appears;
- the translated notebooks in translated/ are what `i18n build` writes now;
- their code cells are the English ones, byte for byte, and a lesson's stored outputs the
  English ones with the checks' messages retold in Chinese (strict nbval of the Chinese
  lessons, in `make test`, proves that they print exactly that);
- the Chinese student copies hold no solution and no hidden test.
"""
import json
import re

import nbformat
import pytest
import torch

from autograders import i18n_messages
from autograders import NOTEBOOKS, RELEASE, SOURCE, assignments
from autograders.i18n import (TRANSLATED, build, catalogue_path, check_entry,
                              english_notebooks, glossary, kept_parts, language_of,
                              load_catalogue, localise_feedback, markdown_cells,
                              out_of_date, retell_output, status)
from autograders.leaks import telling_lines
from nncourse import messages

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
def test_a_chinese_lesson_has_the_english_code_and_outputs_retold(path):
    english = nbformat.read(path, as_version=4)
    chinese = nbformat.read(ROOT_ZH / "notebooks" / path.name, as_version=4)
    assert language_of(chinese) == LANGUAGE and language_of(english) == "en"
    assert [c.id for c in chinese.cells] == [c.id for c in english.cells]
    said = json.loads(i18n_messages.locale_text(LANGUAGE))
    for en, zh in zip(english.cells, chinese.cells):
        assert en.cell_type == zh.cell_type
        if en.cell_type == "code":
            assert en.source == zh.source, en.id
            for output in en.outputs:
                retell_output(output, said)
            assert en.outputs == zh.outputs, en.id
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
    secret = telling_lines(master)
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


# ----------------------------------------------------------------------------------------
# Messages: what the checks, the diagnostics and the grader say (nncourse.messages)


def test_every_message_is_said_through_say_and_translated():
    """No English prose outside say() in the modules and test cells that speak to a
    student or an instructor; every template has a translation with the same fields."""
    problems = i18n_messages.problems(LANGUAGE)
    assert not problems, (f"{len(problems)} messages need work "
                          "(`python -m autograders i18n status`):\n"
                          + "\n".join(problems[:40]))


def test_the_message_catalogues_and_the_package_catalogue_are_up_to_date():
    said, _ = i18n_messages.messages()
    assert len(said) > 300
    for origin in i18n_messages.origins():
        path = i18n_messages.catalogue_path(LANGUAGE, origin)
        assert path.exists() and path.read_text() == i18n_messages.catalogue_text(
            LANGUAGE, origin, said), f"run `python -m autograders i18n extract`: {path}"
    locale = messages.LOCALE / f"{LANGUAGE}.json"
    assert locale.read_text(encoding="utf-8") == i18n_messages.locale_text(LANGUAGE), \
        "run `python -m autograders i18n build` and commit nncourse/locale"


def test_the_finder_sees_prose_outside_say():
    code = '''
def f(x):
    """Docstrings are for authors: not messages."""
    name = "the output"                       # prose: flagged
    hint = say("did you mean {k}?", k=x)      # a template
    bad = say(f"got {x} instead")             # not one plain string
    parser.add_argument("--n", help="how many of them")   # help text: English
    return f"{x} is not right", "NCHW", "ok"  # the f-string is flagged
'''
    templates, loose = i18n_messages.scan(code)
    assert templates == [(5, "did you mean {k}?")]
    assert [line for line, _ in loose] == [4, 6, 8]
    assert i18n_messages.fields_of("{a:.2f} and {b!r} {{literal}}") == [("a", ".2f"),
                                                                          ("b", "")]


@pytest.fixture
def clean_language(monkeypatch, tmp_path):
    monkeypatch.delenv("NNCOURSE_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    messages.set_language(None)
    yield tmp_path
    messages.set_language(None)


def _notebook(path, language=None):
    nb = nbformat.v4.new_notebook()
    if language:
        nb.metadata["nncourse"] = {"language": language}
    nbformat.write(nb, path)
    return path


def test_the_language_is_the_graders_then_the_environments_then_the_notebooks(
        clean_language, monkeypatch):
    folder = clean_language
    assert messages.language() == "en"
    zh = _notebook(folder / "zh.ipynb", LANGUAGE)
    assert messages.language() == LANGUAGE             # validate: the notebook's folder
    _notebook(folder / "en.ipynb")
    assert messages.language() == "en"                 # two languages here: not told
    monkeypatch.setenv("JPY_SESSION_NAME", str(zh))    # JupyterLab names the notebook
    assert messages.language() == LANGUAGE
    monkeypatch.setenv("JPY_SESSION_NAME", "some/folder/zh.ipynb")   # an API path
    assert messages.language() == LANGUAGE
    monkeypatch.setenv("NNCOURSE_LANG", "en_US.UTF-8")
    assert messages.language() == "en"
    monkeypatch.setenv("NNCOURSE_LANG", "zh")
    assert messages.language() == LANGUAGE
    messages.set_language("en")                        # the grader's word is final
    assert messages.language() == "en"


def test_a_check_fails_and_passes_in_chinese(clean_language, capsys):
    from nncourse.checks import CheckFailure, check_close, check_shape
    messages.set_language(LANGUAGE)
    with pytest.raises(CheckFailure) as err:
        check_shape(torch.zeros(2, 3), (2, 4), name="net(x)")
    text = str(err.value)
    assert "net(x)" in text and "(2, 4)" in text and "(2, 3)" in text
    assert re.search(r"[\u4e00-\u9fff]", text) and "expected" not in text
    check_close(torch.ones(2), torch.ones(2), name="loss")
    assert re.search(r"\u2713 loss.*[\u4e00-\u9fff]", capsys.readouterr().out)
    messages.set_language("en")
    with pytest.raises(CheckFailure, match=r"net\(x\): expected shape \(2, 4\), got"):
        check_shape(torch.zeros(2, 3), (2, 4), name="net(x)")


def test_retell_says_a_checks_english_output_as_the_check_says_it_in_chinese(
        clean_language):
    """What a lesson stored in English, retold, is what the same calls print in Chinese:
    nested messages, fields kept as printed, the more particular of two templates."""
    from nncourse.checks import CheckFailure, check_close, with_hint
    said = json.loads(i18n_messages.locale_text(LANGUAGE))

    def printed(language):
        messages.set_language(language)
        with pytest.raises(CheckFailure) as err:
            check_close(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 2.5]]),
                        name="class probabilities")
        hint = messages.say("bias=False: this layer has no bias")
        return f"CheckFailure: {err.value}\n" + with_hint("net(x) is wrong", hint) + "\n"

    english, chinese = printed("en"), printed(LANGUAGE)
    assert english != chinese and "class probabilities" in chinese
    assert messages.retell(english, said) == chinese
    # The lesson's own words stay, even where a short template (a label) would fit them.
    own = "parameters: 204 = 204\nhidden.weight: no bias\nRuntimeError, tensors on two devices\n"
    assert messages.retell(own, said) == own


def test_a_template_without_translation_is_said_in_english(clean_language):
    assert messages.say_in(LANGUAGE, "no such template {n}", n=3) == "no such template 3"
    assert messages.say_in("fr", "a {n}", n=1) == "a 1"


def test_the_report_speaks_the_instructors_language(tmp_path):
    from autograders.report import write_report
    rows = [{"student_id": "s1", "assignment": "ch01_module", "score": "2.0",
             "max_score": "12.0", "status": "ok", "flags": "", "cells": {}}]
    state = {"rows": {}, "last_run": {"sandbox": True}}
    write_report(tmp_path / "zh.html", rows, {}, state, LANGUAGE)
    write_report(tmp_path / "en.html", rows, {}, state)
    zh, en = (tmp_path / "zh.html").read_text(), (tmp_path / "en.html").read_text()
    assert "<title>评分报告</title>" in zh and "lang='zh-CN'" in zh and "已评分；没有异常" in zh
    assert "<title>Grading report</title>" in en and not re.search(r"[\u4e00-\u9fff]", en)
