# Two commands matter: `make demo` and `make test` (see README).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP_RUNTIME := $(VENV)/.runtime-installed
STAMP_DEV     := $(VENV)/.dev-installed

.PHONY: demo test install dev system-deps train-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml $(STAMP_RUNTIME)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(STAMP_RUNTIME)
dev: $(STAMP_DEV)

# ffmpeg, the GStreamer RTSP server and Chromium: real peers for the tests.
system-deps:
	bash scripts/install-system-deps.sh

demo: $(STAMP_RUNTIME)
	$(BIN)/pinewatch demo

test: $(STAMP_DEV) system-deps
	$(BIN)/python -m pytest -q

# Training and export only: torch from this machine's disk, never the CUDA build from the index.
train-deps: $(STAMP_RUNTIME)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[train]'

clean:
	rm -rf $(VENV) var runs data/yolo
