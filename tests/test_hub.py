"""A class on JupyterHub through nbgrader's exchange, end to end in a real browser.

The test starts the course's hub (``autograders.hub``, what ``make hub`` runs) on a free
loopback port with accounts of its own (one instructor, two students), and drives the
whole loop through Debian's Chromium with Playwright:

1. the instructor releases chapter 1 (``nbgrader release_assignment``, as in a terminal of
   their JupyterLab);
2. student 1 logs in, fetches it from the Assignment List, submits it blank, answers
   exercise 1, presses Validate and submits again (the resubmission must replace the
   first);
3. the due date passes; student 2 fetches, answers exercise 2 and submits (late);
4. the instructor collects, grades the collected folder with
   ``python -m autograders grade`` (sandboxed) and returns the feedback
   (``nbgrader release_feedback``);
5. each student fetches their feedback in the browser and sees their own score and
   messages; neither can reach the other's server, submission or feedback.

At the end the hub and every process it started (the proxy, each JupyterLab and its
kernels) must be gone, pass or fail, and the accounts are deleted. Screenshots of each
step are left in the test's temporary folder.
"""
import csv
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from autograders import ROOT
from autograders.hub import (HubSettings, free_port, hub_command, prepare, remove_accounts,
                             run_as)
from autograders.sample import reference_answer
from lab_ui import code_cell, replace_source, save_notebook

CHROMIUM = Path(os.environ.get("NNCOURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AID = "ch01_module"
NOTEBOOK = f"nn-course/{AID}/{AID}.ipynb"      # where the exchange puts a fetched copy
# the test's own accounts: never those of a demo hub running on the same machine
PREFIX = "nnct-"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? UTC$")
HUB_START_S = 60
SPAWN_S = 180
VALIDATE_S = 240
STOP_S = 60
ANSWERS = {  # student -> (the cell to type into, the answer, the exercise it answers)
    1: ("class TwoLayerNet", reference_answer(AID, "ex1_two_layer"),
        "ex1_two_layer_test"),
    2: ("def count_parameters", reference_answer(AID, "ex2_count"), "ex2_count_test"),
}


def _processes_of(uids, session):
    """Pids of processes owned by ``uids`` or in the session ``session``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines()
                       if line.startswith("Uid:")).split()[1])
        sid = int(stat.rsplit(")", 1)[1].split()[4])
        if uid in uids or sid == session:
            found.append(int(entry.name))
    return found


class Hub:
    def __init__(self, settings, passwords, course, proc, log):
        self.settings, self.passwords, self.course = settings, passwords, course
        self.proc, self.log = proc, log
        self.url = f"http://127.0.0.1:{settings.port}"
        self.students = settings.student_names

    def instructor(self, *command, timeout=600):
        """A command of the instructor, in their course folder; fails on an error."""
        result = run_as(self.settings, self.settings.instructor, list(command),
                        cwd=self.course, timeout=timeout)
        assert result.returncode == 0, (command, result.stdout[-3000:],
                                        result.stderr[-3000:])
        return result

    def as_user(self, user, *command):
        return run_as(self.settings, user, list(command), timeout=120)


def _wait_for_hub(hub):
    deadline = time.monotonic() + HUB_START_S
    while time.monotonic() < deadline:
        if hub.proc.poll() is not None:
            pytest.fail(f"the hub exited with {hub.proc.returncode}:\n"
                        f"{hub.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the hub did not answer within {HUB_START_S} s:\n"
                f"{hub.log.read_text()[-3000:]}")


def _stop(hub, uids):
    """Stop the hub; then whatever is left of it or its users is killed and reported."""
    if hub.proc.poll() is None:
        hub.proc.send_signal(signal.SIGTERM)
        try:
            hub.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + 10
    left = _processes_of(uids, hub.proc.pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = _processes_of(uids, hub.proc.pid)
    described = []
    for pid in left:
        try:
            described.append(Path(f"/proc/{pid}/cmdline").read_bytes()
                             .replace(b"\0", b" ").decode()[:200])
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if hub.proc.poll() is None:
        hub.proc.kill()
    hub.proc.wait()
    return described


@pytest.fixture
def hub(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the hub test makes Unix accounts: run it as root (CI does)")
    # the users' homes and the exchange live here: a folder other users can reach
    state = Path(tempfile.mkdtemp(prefix="nncourse-hub-", dir="/tmp"))
    os.chmod(state, 0o755)
    settings = HubSettings(state=str(state), port=free_port(), prefix=PREFIX, students=2)
    passwords, course, config = prepare(settings, say=lambda *_: None)
    import pwd
    uids = {pwd.getpwnam(name).pw_uid for name in settings.users}
    log = tmp_path / "jupyterhub.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(hub_command(settings, config), cwd=state, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    running = Hub(settings, passwords, course, proc, log)
    try:
        _wait_for_hub(running)
        yield running
    finally:
        left = _stop(running, uids)
        remove_accounts(settings)
        subprocess.run(["rm", "-rf", str(state)], check=False)
        assert not left, f"processes outlived the hub: {left}"


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium "
                    "(`apt-get install chromium`, as `make test` does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


class Student:
    """One person's browser session on the hub (a context of its own: its own cookies)."""

    def __init__(self, browser, hub, name, shots):
        self.hub, self.name, self.shots = hub, name, shots
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(90_000)
        self.lab = f"{hub.url}/user/{name}"

    def shot(self, step):
        self.page.screenshot(path=str(self.shots / f"{self.name}-{step}.png"))

    def login(self):
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.name)
        page.fill("#password_input", self.hub.passwords[self.name])
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{self.name}/lab**", timeout=SPAWN_S * 1000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for()

    def menu(self):
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        items = self.page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel")
        items.first.wait_for()
        texts = items.all_inner_texts()
        self.page.keyboard.press("Escape")
        return texts

    def assignment_list(self):
        self.page.goto(f"{self.lab}/lab")
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        self.page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel",
                          has_text="Assignment List").first.click()
        self.page.locator("#assignments").wait_for()
        return self.page

    def fetch(self):
        page = self.assignment_list()
        page.locator("#released_assignments_list .list_item", has_text=AID) \
            .locator("button", has_text="Fetch").click()
        page.locator("#fetched_assignments_list .list_item",
                     has_text=AID).first.wait_for()
        self.shot("1-fetched")

    def submit(self, count):
        page = self.assignment_list()
        page.locator("#fetched_assignments_list .list_item", has_text=AID).first \
            .locator("button", has_text="Submit").click()
        # every submission is listed with its timestamp, under the assignment's row
        stamps = page.locator("#submitted_assignments_list").get_by_text(STAMP)
        stamps.nth(count - 1).wait_for()
        assert stamps.count() == count, stamps.all_inner_texts()
        self.shot(f"3-submitted-{count}")

    def answer_and_validate(self, marker, answer):
        page = self.page
        page.goto(f"{self.lab}/lab/tree/{NOTEBOOK}")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
        replace_source(page, code_cell(page, marker), answer)
        save_notebook(page)
        page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=VALIDATE_S * 1000)
        self.shot("2-validated")
        text = dialog.inner_text()
        assert dialog.locator("#validation-message").count() == 1, text[:2000]
        page.locator(".jp-Dialog .jp-mod-accept").click()
        return text

    def fetch_feedback(self):
        """Fetch Feedback in the Assignment List; return the feedback pages' text."""
        page = self.assignment_list()
        page.locator("#submitted_assignments_list .list_item", has_text=AID).first \
            .locator("button", has_text="Fetch Feedback").click()
        folder = f"nn-course/{AID}/feedback"
        deadline = time.monotonic() + 60
        while True:
            listing = page.request.get(f"{self.lab}/api/contents/{folder}")
            if listing.ok or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert listing.ok, (listing.status, listing.text()[:500])
        texts = []
        for stamp in listing.json()["content"]:
            inner = page.request.get(f"{self.lab}/api/contents/{stamp['path']}").json()
            for item in inner["content"]:
                if item["name"].endswith(".html"):
                    page.goto(f"{self.lab}/files/{item['path']}")
                    texts.append(page.locator("body").inner_text())
                    self.shot("4-feedback")
        return texts


def _answer_line(number):
    """A line of a student's answer that the released notebook does not hold."""
    released = (ROOT / "release" / AID / f"{AID}.ipynb").read_text()
    return next(line.strip() for line in ANSWERS[number][1].splitlines()
                if len(line.strip()) > 12
                and json.dumps(line.strip())[1:-1] not in released)


def _grades(course):
    with open(course / "grades.csv", newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


@pytest.fixture
def people(browser, hub, tmp_path):
    """Browser sessions on the hub; each one's last page is photographed at the end."""
    sessions = []

    def open_session(name):
        sessions.append(Student(browser, hub, name, tmp_path))
        return sessions[-1]
    yield open_session
    for session in sessions:
        try:
            session.shot("last")
        except Exception:
            pass


def test_a_class_on_jupyterhub(hub, people, tmp_path):
    start = time.monotonic()
    s1_name, s2_name = hub.students
    # 1. the instructor has formgrader and the course tools, and releases chapter 1
    teacher = people(hub.settings.instructor)
    teacher.login()
    menu = teacher.menu()
    assert {"Formgrader", "Course List", "Assignment List"} <= set(menu), menu
    assert teacher.page.request.get(f"{teacher.lab}/formgrader").ok
    hub.instructor("nbgrader", "release_assignment", AID)

    # 2. student 1: fetch, a first (blank) submission, answer, Validate, resubmit
    s1 = people(s1_name)
    s1.login()
    menu = s1.menu()
    assert "Assignment List" in menu and not {"Formgrader", "Course List"} & set(menu), menu
    assert s1.page.request.get(f"{s1.lab}/formgrader").status == 404
    s1.fetch()
    s1.submit(1)
    marker, answer, _ = ANSWERS[1]
    verdict = s1.answer_and_validate(marker, answer)
    assert "count_parameters(nn.Linear(20, 4))" in verdict     # exercise 2 is still blank
    assert "TwoLayerNet(20, 16, 4)" not in verdict              # exercise 1 passes
    s1.submit(2)

    # 3. the due date passes; student 2 submits late
    time.sleep(1)       # the due date falls strictly between the two students' submissions
    due = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    hub.instructor("nbgrader", "db", "assignment", "add", AID, f"--duedate={due}")
    s2 = people(s2_name)
    s2.login()
    s2.fetch()
    marker, answer, _ = ANSWERS[2]
    s2.answer_and_validate(marker, answer)
    s2.submit(1)

    # 4. the instructor collects, grades in the sandbox and returns the feedback
    hub.instructor("nbgrader", "collect", AID)
    graded = hub.instructor(sys.executable, "-m", "autograders", "grade", "submitted",
                            "--out", ".", "--assignment", AID, "--workers", "2")
    assert json.loads((hub.course / "grading.json").read_text())["last_run"]["sandbox"], \
        graded.stdout[-2000:]
    grades = _grades(hub.course)
    assert set(grades) == {s1_name, s2_name}, grades
    for number, name in ((1, s1_name), (2, s2_name)):
        row, answered = grades[name], ANSWERS[number][2]
        assert float(row[answered]) == 2, row          # their exercise, full marks
        assert float(row["score"]) == 2, row                    # and nothing else
        assert row["status"] == "ok", row
    assert "late" not in grades[s1_name]["flags"].split(";"), grades[s1_name]
    assert "late" in grades[s2_name]["flags"].split(";"), grades[s2_name]
    hub.instructor("nbgrader", "release_feedback", AID)

    # 5. each student fetches their own feedback, and only theirs
    for student, number in ((s1, 1), (s2, 2)):
        pages = student.fetch_feedback()
        assert len(pages) == 1, pages
        text = pages[0]
        max_score = float(grades[student.name]["max_score"])
        assert f"Score: 2.0 / {max_score:.1f}" in text, text[:600]
        assert _answer_line(number) in text                     # their own answer
        assert _answer_line(3 - number) not in text             # not the other's
        assert "BEGIN HIDDEN TESTS" not in text

    # nobody reaches another's server, submission, feedback or home
    response = s2.page.request.get(f"{s1.lab}/api/contents/nn-course", max_redirects=0)
    assert response.status in (302, 403, 404), response.status
    for path in (hub.settings.exchange / "nn-course" / "inbound",
                 hub.settings.exchange / "nn-course" / "feedback",
                 hub.settings.home(s1_name), hub.course):
        result = hub.as_user(s2_name, "ls", str(path))
        assert result.returncode != 0 and "Permission denied" in result.stderr, \
            (path, result)
    print(f"hub session: {time.monotonic() - start:.1f} s")
