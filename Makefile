# quadshare — the obvious targets.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2

.PHONY: run test test-short lint bench fuzz build demo

build:
	$(GO) build -o bin/quadshare ./cmd/quadshare

run:
	$(GO) run ./cmd/quadshare serve

test:
	$(GO) test -race ./...

test-short:
	$(GO) test -short ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./...
	$(GO) run ./cmd/quadshare bench ingest -n 200000

# Each fuzz target for FUZZTIME (default 2m).
FUZZTIME ?= 2m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/stix/pattern/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/stix/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/stix/

# Four national nodes (AU, IN, JP, US) on 127.0.0.1 sharing a sample report.
demo:
	$(GO) run ./cmd/quadshare demo
