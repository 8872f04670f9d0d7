# cnimatrix: Kubernetes networking conformance, compared across CNIs on kind clusters.
SHELL := /bin/bash
CNI ?= calico
# The CNI `make test` runs end to end: one whose images build on an air-gapped host. Its cold
# image build is the longest part of CI on a fresh machine, so only its images are built.
E2E_CNI ?= calico
KEEP ?=
# make compare: the CNIs to line up, in column order (default: every reports/<cni>/summary.json).
CNIS ?=
PY := .venv/bin/python
# The machine image's Go lives here; make sure every recipe finds it even from a bare CI shell.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

.PHONY: help setup images doctor conformance matrix compare unit browser test clean

help:
	@echo "make setup                    install Docker (+ runc wrapper), Go and the Python environment"
	@echo "make images [CNI=<name>|all]  build offline what a cluster with that CNI needs (no-op when registries are reachable)"
	@echo "make doctor                   host readiness: Docker, capabilities, cgroups, disk, kernel features"
	@echo "make conformance CNI=<name>   run the suites on a new kind cluster with that CNI (KEEP=1 keeps it)"
	@echo "make matrix [CNIS=\"a b\"]      every CNI this host can run (or CNIS), one cluster at a time, then the comparison"
	@echo "make test                     unit tests, the report page in headless chromium, then an end-to-end run with CNI=$(E2E_CNI)"
	@echo "make compare [CNIS=\"a b\"]     compare reports/<cni>/summary.json files -> reports/comparison/"
	@echo "make clean                    delete cnimatrix kind clusters and reports"

setup:
	@bash cnimatrix/host/setup.sh

images: setup
	@$(PY) -m cnimatrix.images --cni $(CNI)

# Standard library only, so it also explains a host that `make setup` cannot fix.
doctor:
	@python3 -m cnimatrix.doctor

conformance: setup images
	@$(PY) -m cnimatrix run --cni $(CNI) $(if $(KEEP),--keep)

matrix: setup
	@$(PY) -m cnimatrix matrix $(foreach c,$(CNIS),--cni $(c)) $(if $(KEEP),--keep)

unit: setup
	@$(PY) -m pytest tests/unit -q

# The comparison page rendered by Debian's chromium, headless.
browser: setup
	@$(PY) -m pytest tests/browser -q

test: unit browser
	@$(MAKE) --no-print-directory conformance CNI=$(E2E_CNI)

# Only reads reports/ and writes reports/comparison/: no Docker, so no `setup` prerequisite.
compare:
	@test -x $(PY) || { echo "make compare: $(PY) is missing; run 'make setup' first" >&2; exit 2; }
	@$(PY) -m cnimatrix.compare $(CNIS)

clean:
	@$(PY) -m cnimatrix clean
	@rm -rf reports/*/ .pytest-kind
