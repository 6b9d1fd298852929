"""Regenerate release/ (the student copies) from source/ with nbgrader.

The student copies are generated in a scratch course folder and then copied over
release/<assignment>/, so the repository never receives a gradebook and a file deleted
from a source disappears from the release too. Running it twice changes nothing.
"""
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograders import RELEASE, SOURCE, assignments
from autograders.nbgrader_cli import nbgrader, scratch_course


def generate(assignment_id, course):
    """Generate the student copy of one assignment inside the course folder ``course``."""
    nbgrader(["generate_assignment", assignment_id, "--force", "--no-db"], cwd=course)
    return Path(course) / "release" / assignment_id


def release(assignment_ids=None, target=RELEASE, workers=2, source=SOURCE):
    """Write release/<id>/ for every assignment (or the given ones) into ``target``, from
    the masters in ``source``."""
    ids = list(assignment_ids or assignments())
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="nncourse-release-") as tmp:
        course = scratch_course(tmp, ids, source)
        with ThreadPoolExecutor(workers) as pool:
            built = list(pool.map(lambda a: generate(a, course), ids))
        for aid, folder in zip(ids, built):
            shutil.rmtree(target / aid, ignore_errors=True)
            shutil.copytree(folder, target / aid)
    return [target / aid for aid in ids]
