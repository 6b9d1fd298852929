# nn-course: `make lab` and `make test` set everything up on a fresh machine (Python 3.11).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# nbgrader shells out to alembic: the venv's bin/ must be on PATH for every tool below.
export PATH := $(CURDIR)/$(BIN):$(PATH)
STAMP  := $(VENV)/.installed
LAB_ARGS ?=
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# DEVICE=cuda|mps|cpu forces every notebook onto that device (fails when it is absent).
ifdef DEVICE
export NNCOURSE_DEVICE := $(DEVICE)
endif

.PHONY: setup lab hub test test-lessons test-sources test-unit release prove grade bundle \
        benchmark-grading \
        benchmark execute clean check-device browser browser-any

setup: $(STAMP)

# The venv is (re)built when missing, when its interpreter no longer runs, or when
# pyproject.toml changed since the last install.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d

$(STAMP): pyproject.toml jupyter/overrides.d/nn-course.json
	@if ! $(BIN)/python -c "import sys" >/dev/null 2>&1; then \
	  echo "creating $(VENV) with $(PYTHON)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install --quiet -e '.[cluster,hub]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import torch, torchvision, nbgrader, nbval, nncourse, autograders, distributed, jupyterhub"
	@# an editable install copies no data files: JupyterLab's course settings go in by hand
	mkdir -p $(LAB_OVERRIDES) && cp jupyter/overrides.d/nn-course.json $(LAB_OVERRIDES)/
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told (containers, CI images run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The browser: Debian's Chromium for the browser tests, any browser for the lab. Installed
# with apt-get as root or with sudo; otherwise make stops and prints the command to run.
browser:
	@scripts/ensure-browser

browser-any:
	@scripts/ensure-browser --any

# `make lab LANG=zh_CN` (or any zh_CN locale): JupyterLab's menus in Chinese, opened on the
# Chinese lessons and exercises (translated/zh_CN). Its settings live in the venv.
LAB_LANG := $(if $(filter zh_CN%,$(LANG)),zh_CN,)
LAB_SETTINGS := $(VENV)/lab-user-settings-$(LAB_LANG)
lab: browser-any $(STAMP)
ifdef LAB_LANG
	mkdir -p $(LAB_SETTINGS) && cp -rn jupyter/$(LAB_LANG)/user-settings/. $(LAB_SETTINGS)/
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)/translated/$(LAB_LANG) \
	  --LabApp.user_settings_dir=$(CURDIR)/$(LAB_SETTINGS) $(ALLOW_ROOT) $(LAB_ARGS)
else
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(ALLOW_ROOT) $(LAB_ARGS)
endif

# A JupyterHub for the class on this machine (as root): an instructor, students, nbgrader's
# exchange; the accounts and passwords are printed. See docs/hub.md.
HUB_ARGS ?=
hub: $(STAMP)
	$(BIN)/python -m autograders hub $(HUB_ARGS)

# The lessons in every language: a Chinese lesson stores its checks' messages in Chinese
# (autograders.i18n build), which strict nbval proves they print there.
LESSONS := notebooks translated/zh_CN/notebooks

# A device forced with DEVICE= must exist: checked before the first test, not after an hour.
check-device: $(STAMP)
	@$(BIN)/python -c "import sys, nncourse.device as d; sys.exit(d.main())"

test: browser $(STAMP) check-device
	$(PYTEST) -n $(WORKERS) --dist loadfile --nbval \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(LESSONS)
	$(PYTEST) -n $(WORKERS) --dist loadscope --nbval-lax tests source
	@# the attacks again with the grader as an unprivileged user (a laptop's case)
	tests/run_unprivileged.sh

test-lessons: $(STAMP) check-device
	$(PYTEST) -n $(WORKERS) --dist loadfile --nbval \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(LESSONS)

release: $(STAMP)
	$(BIN)/python -m autograders release

prove: $(STAMP)
	$(BIN)/python -m autograders prove --workers $(WORKERS)

# The student zip, dist/nn-course-student.zip: release/, lessons, nncourse, a student README.
bundle: $(STAMP)
	$(BIN)/python -m autograders bundle

# Grade a class: make grade SUBMISSIONS=folder-or-lms.zip [ASSIGNMENT=ch01_module] [OUT=grades]
# (without SUBMISSIONS, the bundled sample class). See README.md, "Grading a class".
SUBMISSIONS ?=
ASSIGNMENT ?=
OUT ?= grades
GRADE_ARGS ?=
grade: $(STAMP)
	$(BIN)/python -m autograders grade $(SUBMISSIONS) --out $(OUT) \
	  $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(GRADE_ARGS)

# Re-run the lessons so that their stored outputs are current (after editing one).
execute: $(STAMP)
	$(BIN)/python -m autograders execute

benchmark: $(STAMP)
	$(BIN)/python benchmarks/notebooks.py

# Stock `nbgrader autograde` against `python -m autograders grade` on the same class.
benchmark-grading: $(STAMP)
	$(BIN)/python benchmarks/grading.py

clean:
	rm -rf $(VENV) .pytest_cache
