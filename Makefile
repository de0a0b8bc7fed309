# `make demo` and `make test` set up .venv on first use (PyPI only), then run.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,lite]'
	touch $@

demo: setup
	$(VENV)/bin/imclass demo --out demo-output

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests bench

bench: setup
	$(PY) bench/accuracy.py ../shared/data
	$(PY) bench/train_speed.py ../shared/data/hymenoptera
	$(PY) bench/dedup_speed.py ../shared/data/hymenoptera
	$(PY) bench/predict_speed.py ../shared/data/hymenoptera
	$(PY) bench/multilabel.py ../shared/data/fridgeObjects
