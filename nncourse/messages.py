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
import re
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


# A template's {field}, with its conversion and format spec if any ({got!r}, {acc:.3f}).
FIELD = re.compile(r"\{(\w*)(![rsa])?(:[^{}]*)?\}")
# Which templates are looked for in free text: a message with fields and at least
# FIELDED_WORDS words, or a sentence of at least SENTENCE_WORDS words. A shorter one (a
# plot's label, a name such as "running statistics") is the lesson's own text as often as
# a check's, so it is retold only where it is surely a check's: as the whole of another
# message's field, or around a field that holds a message ("{what}:\n{problems}").
FIELDED_WORDS = 3
SENTENCE_WORDS = 6
# What a translated template holds besides its text: a field, or an escaped brace.
SLOT = re.compile(r"\{(\w*)(?:![rsa])?(?::[^{}]*)?\}|\{\{|\}\}")


@lru_cache(maxsize=None)
def _template_pattern(template):
    """A regex that matches what ``say(template, ...)`` printed, one group per field.

    A field matches within a line. One that begins the template takes as much of its
    line as lets the rest match, one that ends it runs to the end of its line, and the
    others take as little as lets the words after them match."""
    parts, names, end = [], [], 0
    fields = list(FIELD.finditer(template))
    for i, field in enumerate(fields):
        parts.append(re.escape(_unescape(template[end:field.start()])))
        name = field.group(1)
        if name in names:
            parts.append(f"(?P=f_{name})")
        else:
            names.append(name)
            edge = field.start() == 0 or field.end() == len(template)
            parts.append(f"(?P<f_{name}>[^\\n]*)" if edge else f"(?P<f_{name}>[^\\n]*?)")
        end = field.end()
    parts.append(re.escape(_unescape(template[end:])))
    # A template that begins or ends with a word matches whole words only.
    start = r"\b" if re.match(r"\w", template) else ""
    stop = r"\b" if re.search(r"\w$", template) else ""
    return re.compile(start + "".join(parts) + stop)


def fields_of_match(match):
    """``{field: the text it matched}`` of a template's match."""
    return {name[2:]: value for name, value in match.groupdict().items()}


def _unescape(literal):
    return literal.replace("{{", "{").replace("}}", "}")


def _words(template):
    return re.findall(r"[A-Za-z]{2,}", FIELD.sub(" ", template))


def _anywhere(template):
    """Whether ``template`` is surely a check's wherever it is found."""
    words = len(_words(template))
    return words >= SENTENCE_WORDS or (words >= FIELDED_WORDS and bool(FIELD.search(template)))


def retell(text, translations):
    """``text``, in which checks said things in English, as they say them translated:
    ``translations`` is a language's catalogue, ``{English template: translated}``.

    The lessons are run in English; their Chinese copies store the same outputs retold,
    which are what the checks print when the Chinese lesson runs (strict nbval proves it).
    Printed values stay as they are: a field is filled in with the text it matched, itself
    retold. Where two messages overlap, the one that starts first and runs longest is
    the outer one (``"{message}\\nHint: {hint}"`` around the hint's own message)."""
    if not text:
        return text
    # Where two templates fit the same text, the one of more words is the more particular.
    known = sorted((t for t in translations if FIELD.search(t) or _anywhere(t)),
                   key=lambda t: (-len(_words(t)), t))

    @lru_cache(maxsize=None)
    def retold(value):
        if value in translations:
            return translations[value]
        return retold_free(value)

    def accepted(template, match):
        return _anywhere(template) or any(
            retold_free(value) != value for value in fields_of_match(match).values())

    def first_message(text):
        """The message found first in ``text`` (the widest, where two start together)."""
        best = None
        for template in known:
            for match in _template_pattern(template).finditer(text):
                if best is not None and (match.start(), -match.end()) >= best[0]:
                    break
                if accepted(template, match):
                    best = ((match.start(), -match.end()), template, match)
                    break
        return best

    @lru_cache(maxsize=None)
    def retold_free(text):
        """``text`` with the messages found in it retold, the text between them kept."""
        found = first_message(text)
        if found is None:
            return text
        _, template, match = found
        values = {name: retold(value) for name, value in fields_of_match(match).items()}
        said = SLOT.sub(lambda slot: values.get(slot.group(1), slot.group(0))
                        if slot.group(1) is not None else slot.group(0)[0],
                        translations[template])
        return retold_free(text[:match.start()]) + said + retold_free(text[match.end():])

    return retold_free(text)
