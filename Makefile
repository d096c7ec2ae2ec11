# Two commands matter: `make run` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FLAGSHIP := Stage 4 dermatofibrosarcoma protuberans (DFSP): what is the prognosis, and how is it treated?

APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: install run test bench eval lint clean chromium wrk postgresql pdf-libs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) pdf-libs

# WeasyPrint (the handout's PDF) draws text with Pango and the system's fonts; no font is fetched at run time.
PDF_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation fonts-dejavu-core
pdf-libs:
	@dpkg -s $(PDF_DEBS) >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq $(PDF_DEBS) >/dev/null; }

# Debian's Chromium drives the browser tests; wrk loads the server in the web benchmark.
chromium:
	@command -v chromium >/dev/null || { $(APT) update -qq && $(APT) install -y -qq chromium >/dev/null; }

# The site-database tests start a throwaway PostgreSQL cluster from the server binaries.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq postgresql >/dev/null; }

wrk:
	@command -v wrk >/dev/null || { $(APT) update -qq && $(APT) install -y -qq wrk >/dev/null; }

run: install
	$(BIN)/oncoguide build
	$(BIN)/oncoguide serve --host 127.0.0.1 --port 8000 --workers 2

# two pytest workers (pytest-xdist), one a core of the 2-core machine CI runs on: 6 minutes instead of 11;
# each worker has its own knowledge base, site databases, PostgreSQL cluster and servers (session fixtures)
TEST_WORKERS ?= 2
test: install chromium postgresql
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# bench/lighthouse.py installs lighthouse@12.2.3 from npm into .venv/lighthouse on first use
bench: install wrk chromium
	$(BIN)/python bench/run.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/lighthouse.py
	$(BIN)/python bench/cds.py
	$(BIN)/python bench/community.py
	$(BIN)/python bench/library_quality.py
	$(BIN)/python bench/library_scale.py

# Answer quality on the team's development question bank (bench/bank): facts found, scope accuracy, misses.
eval: install
	$(BIN)/python bench/eval.py

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
