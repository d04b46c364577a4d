# Segscope — the two quick-start commands and a few helpers. See README.md.
SWIFT ?= swift
BIN := .build/release/segscope

.PHONY: demo test deps build clean

## Install what is missing, build in release mode, and open Segscope on the demo dataset.
demo: build
	$(BIN)

## The whole test suite (release mode: numeric tests are 10-50x slower in debug).
## One build: `swift test` also builds the segscope binary the CLI tests run.
test: deps
	$(SWIFT) test --manifest-cache none -c release -Xswiftc -enable-testing

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

clean:
	rm -rf .build
