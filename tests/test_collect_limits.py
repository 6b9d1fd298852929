"""Reading what students hand in: archives inside archives, encodings, clashing names.

Units, no kernel: what ``python -m autograders grade`` does before grading must never lose
a row or let one archive's size budget start again at each level of nesting.
"""
import io
import zipfile

import nbformat
import pytest

from autograders import RELEASE
from autograders import collect
from autograders.collect import ArchiveTooBig, StudentIds, from_loose_files, unzip
from autograders.repair import decode, read_notebook

AID = "ch01_module"
NB = f"{AID}.ipynb"


def _zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_nested_archives_share_one_size_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "MAX_UNZIPPED", 3000)
    inner = _zip({"a.txt": b"x" * 1000, "b.txt": b"x" * 1000})
    outer = tmp_path / "outer.zip"
    # each level alone fits in 3000 bytes; together they do not
    outer.write_bytes(_zip({"one.zip": inner, "two.zip": inner, "c.txt": b"x" * 500}))
    with pytest.raises(ArchiveTooBig):
        unzip(outer, tmp_path / "out")


def test_nesting_stops_at_the_depth_limit(tmp_path):
    data = _zip({"deepest.txt": b"found"})
    for level in range(collect.MAX_DEPTH + 2):
        data = _zip({f"level{level}.zip": data})
    archive = tmp_path / "nested.zip"
    archive.write_bytes(data)
    unzip(archive, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("deepest.txt"))
    assert list((tmp_path / "out").rglob("*.zip")), "the last level stays a zip"


def test_a_broken_inner_archive_keeps_every_student(tmp_path):
    good = nbformat.writes(nbformat.read(RELEASE / AID / NB, as_version=4))
    archive = tmp_path / "lms.zip"
    archive.write_bytes(_zip({
        f"doejane_1001_5001_{NB}": good,
        "roejohn/broken.zip": b"PK\x03\x04 not really a zip",
        f"roejohn/{NB}": good,
        "odd\\name/../..//evil.txt": b"kept inside",
        f"kim/{NB}": good,
    }))
    unzip(archive, tmp_path / "unzipped")
    entries = from_loose_files(tmp_path / "unzipped", tmp_path / "staged", AID)
    students = {e.student for e in entries}
    assert {"doejane", "roejohn", "kim"} <= students
    assert not (tmp_path / "evil.txt").exists()


def test_student_ids_that_clash_both_get_rows():
    ids = StudentIds()
    first, second, again = ids("a lice"), ids("a_lice"), ids("a lice")
    assert first == again == "a_lice" and second == "a_lice-2"
    assert set(ids.clashes) == {"a_lice", "a_lice-2"}


@pytest.mark.parametrize("extra", ["", " "])   # even and odd lengths read alike
def test_encodings(extra):
    text = nbformat.writes(nbformat.read(RELEASE / AID / NB, as_version=4)) + extra
    accented = text.replace("Exercise 1", "Exerc\u00eece 1")
    assert decode(accented.encode("utf-8")) == (accented, set())
    assert decode(accented.encode("latin-1")) == (accented, {"latin-1"})
    assert decode(b"\xff\xfe" + accented.encode("utf-16-le")) == (accented, set())
    # UTF-16 without its byte-order mark is not guessed: it reads as latin-1 (and fails)
    assert decode(accented.encode("utf-16-le"))[1] == {"latin-1"}
    nb, flags = read_notebook(accented.encode("latin-1"))
    assert "latin-1" in flags and any("Exerc\u00eece 1" in c.source for c in nb.cells)


def test_lone_surrogates_are_replaced_and_flagged():
    nb = nbformat.read(RELEASE / AID / NB, as_version=4)
    raw = nbformat.writes(nb).replace("Exercise 1", "Exercise \\ud800 1")
    fixed, flags = read_notebook(raw.encode())
    assert "invalid-unicode" in flags
    assert nbformat.writes(fixed).encode("utf-8")   # writable again
