"""What the checks say, in the student's language.

Every message a check or a diagnostic can show is written once, in English, as a template:

    say("{name}: expected shape {want}, got {got}", name=name, want=want, got=got)

``say`` looks the template up in the catalogue of the current language
(``nncourse/locale/<language>.json``, built from ``i18n/<language>/messages/*.po`` by
``python -m autograders i18n build``) and fills in the fields with ``str.format``. A
template with no translation is shown in English, so a message is never lost.

The language is, first found:

1. the one the grader set for the notebook it grades (``set_language``);
2. ``NNCOURSE_LANG`` (``zh_CN``, ``zh``, ``en``);
3. the language of the notebook this kernel runs: JupyterLab names it in
   ``JPY_SESSION_NAME``; ``nbgrader validate`` runs the kernel in the notebook's folder,
   where every course notebook must say the same language;
4. English.
"""
import json
import os
from functools import lru_cache
from pathlib import Path

ENGLISH = "en"
LANGUAGES = (ENGLISH, "zh_CN")
LOCALE = Path(__file__).parent / "locale"
_chosen = {"language": None}


def normalise(name):
    """``zh``, ``zh-CN``, ``zh_CN.UTF-8`` -> ``zh_CN``; anything unknown -> None."""
    if not name:
        return None
    base = str(name).split(".")[0].replace("-", "_").lower()
    for language in LANGUAGES:
        if base == language.lower():
            return language
    for language in LANGUAGES:
        if base.split("_")[0] == language.split("_")[0].lower():
            return language
    return None


def set_language(language):
    """Speak ``language`` from now on (None: find it again, as the module docstring says).
    The grader calls it with the language of the notebook it grades."""
    _chosen["language"] = normalise(language)


@lru_cache(maxsize=64)
def notebook_language(path, mtime):
    """The language in a notebook's metadata (``nncourse.language``), else None."""
    try:
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return None
    return normalise(metadata.get("nncourse", {}).get("language", ENGLISH))


def _language_of_file(path):
    try:
        return notebook_language(str(path), os.stat(path).st_mtime_ns)
    except OSError:
        return None


def kernel_notebook_language():
    """The language of the notebook this kernel runs, when it can be told, else None."""
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        for path in (Path(session), Path.cwd() / Path(session).name):
            if path.suffix == ".ipynb" and path.is_file():
                return _language_of_file(path)
    try:
        here = sorted(Path.cwd().glob("*.ipynb"))
    except OSError:
        return None
    found = {_language_of_file(p) for p in here[:50]}
    return found.pop() if len(found) == 1 else None


def language():
    """The language messages are shown in now."""
    return (_chosen["language"] or normalise(os.environ.get("NNCOURSE_LANG"))
            or kernel_notebook_language() or ENGLISH)


@lru_cache(maxsize=None)
def catalogue(language):
    """``{English template: translated template}`` of ``language`` (empty for English)."""
    path = LOCALE / f"{language}.json"
    if language == ENGLISH or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def say(template, **fields):
    """``template`` in the current language, its ``{fields}`` filled in."""
    return say_in(language(), template, **fields)


def say_in(language, template, **fields):
    """``template`` in ``language``, its ``{fields}`` filled in: for the grader, which
    speaks the language of each notebook it grades."""
    text = catalogue(normalise(language) or ENGLISH).get(template) or template
    return text.format(**fields)
