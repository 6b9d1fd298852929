"""JupyterLab in a real browser, the way a student and an instructor use it.

Debian's Chromium (`/usr/bin/chromium`, which `.ci/run` installs with apt-get) is driven by
Playwright's Python package; no browser is downloaded. The test starts `jupyter lab` on a
free loopback port with a token in a copy of the course, then:

1. opens the student copy of chapter 1, writes one answer in the editor and runs all cells:
   the visible test of that answer prints its ticks, the next (still blank) exercise shows
   its NotImplementedError;
2. presses nbgrader's Validate button and reads the verdict (the blank exercises fail, the
   answered one is not among them);
3. opens formgrader and finds every assignment of the course.

A browser that cannot start is a failure, never a skip: CI must not turn green without it.
Screenshots of each step are left in the test's temporary folder.
"""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograders import ROOT, assignments
from autograders.bundle import STUDENT_DATA_FILES
from autograders.sample import reference_answer
from lab_ui import code_cell, replace_source, save_notebook

CHROMIUM = Path(os.environ.get("NNCOURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NOTEBOOK = "release/ch01_module/ch01_module.ipynb"
# The student's answer to exercise 1, typed into its answer cell.
ANSWER = reference_answer("ch01_module", "ex1_two_layer")
# Lab settings of the test only: every cell in the DOM (no virtual scrolling) so that its
# outputs can be read. The news pop-up is off through the course's own settings
# (jupyter/overrides.d), which the test checks rather than sets.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none"},
}
NEWS_QUESTION = "notified about official Jupyter news"
SERVER_START_S = 60
RUN_ALL_S = 90
VALIDATE_S = 120
FORMGRADER_S = 90


def _course_copy(folder):
    """The parts of the course that JupyterLab and nbgrader need, in a scratch folder."""
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", folder / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(ROOT / "release", folder / "release",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return folder


def _jupyter_env(home):
    """A private Jupyter config, data and runtime folder; the venv's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
        env[var] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    env["PYTHONWARNINGS"] = "ignore"
    env.pop("JUPYTER_PORT", None)
    # nbgrader's exchange (release/collect between accounts) defaults to a system folder
    # that formgrader fails on when it is missing: give it a private one.
    (home / "exchange").mkdir(exist_ok=True)
    (home / "config" / "nbgrader_config.py").write_text(
        f"c.Exchange.root = {str(home / 'exchange')!r}\n")
    settings = home / "config" / "lab" / "user-settings"
    for rel, values in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


def _wait_for_server(proc, runtime, token, log):
    """Wait for the server's runtime file, then for its API to answer; return its URL."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        infos = list(runtime.glob("jpserver-*.json"))
        if infos:
            url = f"http://127.0.0.1:{json.loads(infos[0].read_text())['port']}"
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    return url
            except OSError:
                pass
        time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n"
                f"{log.read_text()[-3000:]}")


def _student_prefix(prefix):
    """The Jupyter settings where the bundle's `pip install .` puts them in a prefix."""
    for target, sources in STUDENT_DATA_FILES.items():
        (prefix / target).mkdir(parents=True, exist_ok=True)
        for rel in sources:
            shutil.copy(ROOT / rel, prefix / target / Path(rel).name)
    return prefix


def _start_lab(tmp_path, extra_args=(), student=False, language=None):
    (tmp_path / "course").mkdir()
    course = _course_copy(tmp_path / "course")
    env = _jupyter_env(tmp_path / "jupyter")
    extra = list(extra_args)
    if language:
        # what `make lab LANG=zh_CN` does: the translated course, JupyterLab's locale
        shutil.copytree(ROOT / "translated" / language / "release",
                        course / "translated" / language / "release")
        settings = tmp_path / "jupyter" / "config" / "lab" / "user-settings"
        shutil.copytree(ROOT / "jupyter" / language / "user-settings", settings,
                        dirs_exist_ok=True)
    if student:
        # the student's environment: its etc/jupyter comes first, its lab settings folder
        # is the one JupyterLab reads overrides from
        prefix = _student_prefix(tmp_path / "student-prefix")
        env["JUPYTER_CONFIG_PATH"] = str(prefix / "etc" / "jupyter")
        extra.append(f"--LabApp.app_settings_dir={prefix / 'share/jupyter/lab/settings'}")
    token = secrets.token_hex(16)
    log = tmp_path / "jupyter-lab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.port=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={course}", "--ServerApp.open_browser=False",
           "--ServerApp.allow_root=True", *extra]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc, course, token, log


def _stop_lab(proc):
    """Stop the server, its kernels and anything they started: one process group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@pytest.fixture
def lab(tmp_path):
    """`jupyter lab` on a free loopback port, with a token, in a copy of the course."""
    proc, course, token, log = _start_lab(tmp_path)
    try:
        url = _wait_for_server(proc, tmp_path / "jupyter" / "runtime", token, log)
        yield {"url": url, "token": token, "course": course, "log": log}
    finally:
        _stop_lab(proc)


@pytest.fixture
def student_lab(tmp_path):
    """The same, set up as the student bundle installs JupyterLab."""
    proc, course, token, log = _start_lab(tmp_path, student=True)
    try:
        url = _wait_for_server(proc, tmp_path / "jupyter" / "runtime", token, log)
        yield {"url": url, "token": token, "course": course, "log": log}
    finally:
        _stop_lab(proc)


@pytest.fixture
def chinese_lab(tmp_path):
    """The same, in Chinese: JupyterLab's locale zh_CN and the Chinese exercises."""
    proc, course, token, log = _start_lab(tmp_path, language="zh_CN")
    try:
        url = _wait_for_server(proc, tmp_path / "jupyter" / "runtime", token, log)
        yield {"url": url, "token": token, "course": course, "log": log}
    finally:
        _stop_lab(proc)


@pytest.fixture
def browser_page(tmp_path):
    """A page of a fresh headless Chromium; fails (not skips) when it cannot start."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium "
                    "(`apt-get install chromium`, as .ci/run does)")
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as pw:
        try:
            context = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
                headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000},
                timeout=60_000)
        except Error as err:
            pytest.fail(f"Chromium ({CHROMIUM}) did not start: {err}")
        page = context.pages[0] if context.pages else context.new_page()
        # generous: on a busy 2-core CI machine the first page load alone can take 20 s
        page.set_default_timeout(60_000)
        page.set_default_navigation_timeout(60_000)
        try:
            yield page
        finally:
            context.close()


def test_nbgrader_labextension_is_enabled(tmp_path):
    result = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                            env=_jupyter_env(tmp_path), capture_output=True, text=True,
                            timeout=120)
    listing = result.stdout + result.stderr
    line = next((ln for ln in listing.splitlines() if "@jupyter/nbgrader" in ln), "")
    assert "enabled" in line and "OK" in line, listing


def _shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=False)


def test_student_and_instructor_in_jupyterlab(browser_page, lab, tmp_path):
    page, url, token = browser_page, lab["url"], lab["token"]
    start = time.monotonic()
    # --- the student opens chapter 1 -----------------------------------------------------
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    validate = page.locator(".jp-NotebookPanel-toolbar .validate-button")
    validate.wait_for()
    _shot(page, tmp_path, "01-opened")

    # --- writes the answer of exercise 1 in the editor --------------------------------------
    answer = code_cell(page, "class TwoLayerNet")
    replace_source(page, answer, ANSWER)
    assert "self.fc1 = nn.Linear" in answer.locator(".cm-content").inner_text()

    # --- runs all cells and waits for the outputs -------------------------------------------
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel",
                 has_text="Run All Cells").first.click()
    test1 = code_cell(page, "TwoLayerNet(20, 16, 4)")
    test2 = code_cell(page, "count_parameters(nn.Linear(20, 4))")
    try:
        test2.locator(".jp-OutputArea-output", has_text="NotImplementedError").wait_for(
            timeout=RUN_ALL_S * 1000)
    except Exception:
        _shot(page, tmp_path, "02-run-all-timed-out")
        prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        raise AssertionError(
            f"exercise 2's check did not print NotImplementedError in {RUN_ALL_S} s; "
            f"prompts {prompts}; exercise 1's check printed "
            f"{test1.locator('.jp-OutputArea').inner_text()!r}") from None
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
        ".some(p => p.textContent.includes('*'))", timeout=RUN_ALL_S * 1000)
    test2.scroll_into_view_if_needed()
    _shot(page, tmp_path, "02-ran-all")
    # the answered exercise: every visible check printed its tick, nothing failed
    lines = [line for line in test1.locator(".jp-OutputArea").inner_text().splitlines()
             if line.strip()]
    assert len(lines) >= 3 and all(line.startswith("\u2713") for line in lines), lines

    # --- validates with nbgrader --------------------------------------------------------------
    validate.click()
    verdict = page.locator("#validation-message")
    verdict.wait_for(timeout=VALIDATE_S * 1000)
    _shot(page, tmp_path, "03-validated")
    assert "validation-failed" in verdict.get_attribute("class")
    text = verdict.inner_text()
    assert "The following cell failed" in text
    assert "count_parameters(nn.Linear(20, 4))" in text       # exercise 2 is still blank
    assert "NotImplementedError" in text
    assert "TwoLayerNet(20, 16, 4)" not in text                # exercise 1 passes
    page.locator(".jp-Dialog .jp-mod-accept").click()

    # --- the instructor opens formgrader -----------------------------------------------------
    page.goto(f"{url}/formgrader?token={token}")
    page.locator("h1", has_text="Manage Assignments").wait_for()
    rows = page.locator("#main-table tr")
    # the first visit creates the gradebook, which takes a while on a busy machine
    rows.filter(has=page.locator("a", has_text=assignments()[0])).wait_for(
        timeout=FORMGRADER_S * 1000)
    listed = {name.strip() for name in rows.locator("td:first-child a").all_inner_texts()}
    assert set(assignments()) <= listed, listed
    _shot(page, tmp_path, "04-formgrader")
    print(f"browser session: {time.monotonic() - start:.1f} s")


def _no_news_question(page):
    """JupyterLab asks about news a moment after it loads: wait, then look for it."""
    page.wait_for_timeout(3000)
    toasts = " ".join(page.locator(".Toastify, .jp-Notification-Toast").all_inner_texts())
    assert NEWS_QUESTION not in toasts and NEWS_QUESTION not in page.content()


def test_student_lab_has_validate_and_assignments_but_no_instructor_tools(
        browser_page, student_lab, tmp_path):
    page, url, token = browser_page, student_lab["url"], student_lab["token"]
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-NotebookPanel-toolbar .validate-button").wait_for()
    _no_news_question(page)
    # nbgrader's menu keeps the Assignment List and drops the instructor's entries
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel").all_inner_texts()
    _shot(page, tmp_path, "05-student-menu")
    assert "Assignment List" in items, items
    assert not {"Formgrader", "Course List"} & set(items), items
    page.keyboard.press("Escape")
    # the Create Assignment sidebar is not there, and neither are the instructor's pages
    assert page.locator("#create_assignment, .nbgrader-CreateAssignmentWidget").count() == 0
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
    for path in ("formgrader", "formgrader/api/assignments"):
        response = page.request.get(f"{url}/{path}?token={token}")
        assert response.status == 404, (path, response.status)
    # the Assignment List opens in its own tab
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel",
                 has_text="Assignment List").first.click()
    page.locator(".lm-TabBar-tabLabel", has_text="Assignments").first.wait_for()
    _shot(page, tmp_path, "06-student-assignment-list")


def test_instructor_lab_has_formgrader_and_no_news_question(browser_page, lab):
    page, url, token = browser_page, lab["url"], lab["token"]
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    _no_news_question(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel").all_inner_texts()
    assert {"Formgrader", "Assignment List", "Course List"} <= set(items), items


def test_a_chinese_exercise_in_a_chinese_jupyterlab(browser_page, chinese_lab, tmp_path):
    page, url, token = browser_page, chinese_lab["url"], chinese_lab["token"]
    page.goto(f"{url}/lab/tree/translated/zh_CN/{NOTEBOOK}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    # the language pack: JupyterLab's own menus in Chinese
    page.locator(".lm-MenuBar-itemLabel", has_text="\u6587\u4ef6").first.wait_for()  # 文件
    # the exercise's text in Chinese, its code as in English
    page.locator(".jp-MarkdownOutput h2", has_text="\u7ec3\u4e60 1").first.wait_for()  # 练习 1
    # a wrong answer first: run it, and the check says what is wrong, in Chinese
    answer = code_cell(page, "class TwoLayerNet")
    wrong = ANSWER.replace("nn.Linear(hidden, out_features)", "nn.Linear(hidden, hidden)")
    assert wrong != ANSWER
    replace_source(page, answer, wrong)
    page.locator(".lm-MenuBar-itemLabel", has_text="\u8fd0\u884c").first.click()  # 运行
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel",
                 has_text="\u8fd0\u884c\u6240\u6709\u5355\u5143\u683c").first.click()
    failure = code_cell(page, "TwoLayerNet(20, 16, 4)").locator(
        ".jp-OutputArea-output", has_text="CheckFailure")
    failure.wait_for(timeout=RUN_ALL_S * 1000)
    failure.scroll_into_view_if_needed()
    _shot(page, tmp_path, "07-chinese-check-message")
    said = failure.inner_text().strip().splitlines()[-1]      # the error, after its traceback
    assert re.search(r"[\u4e00-\u9fff]", said) and "expected" not in said, said
    assert "(128, 4)" in said and "(128, 16)" in said, said
    # then the right answer, saved and validated
    replace_source(page, answer, ANSWER)
    save_notebook(page)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    verdict = page.locator("#validation-message")
    verdict.wait_for(timeout=VALIDATE_S * 1000)
    _shot(page, tmp_path, "08-chinese-validated")
    text = verdict.inner_text()
    assert "count_parameters(nn.Linear(20, 4))" in text       # exercise 2 is still blank
    assert "TwoLayerNet(20, 16, 4)" not in text                # exercise 1 passes
