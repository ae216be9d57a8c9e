# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test lint chromium postgres bench screenshots clean

run: $(VENV)/.runtime
	$(PY) app.py $(ARGS)

test: $(VENV)/.dev chromium postgres lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy studio app.py
	$(VENV)/bin/lint-imports --no-cache

chromium:
	@sh scripts/ensure-chromium.sh

postgres:
	@sh scripts/ensure-postgres.sh

bench: $(VENV)/.dev
	HF_HUB_OFFLINE=1 $(PY) bench/overhead.py

screenshots: $(VENV)/.dev chromium
	HF_HUB_OFFLINE=1 $(PY) scripts/screenshots.py --out docs/screenshots
	HF_HUB_OFFLINE=1 $(PY) scripts/screenshot_image_to_video.py --out docs/screenshots

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Wan Studio needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Wan Studio's requirements into $(VENV) (the first time takes a few minutes)…"
	$(PY) -m pip install --progress-bar on -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --progress-bar on -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
