# cnimatrix: Kubernetes networking conformance, compared across CNIs on kind clusters.
SHELL := /bin/bash
CNI ?= calico
# The CNI `make test` runs end to end: one whose images build on an air-gapped host. Its cold
# image build is the longest part of CI on a fresh machine, so only its images are built.
E2E_CNI ?= calico
KEEP ?=
# make matrix CLUSTERS=2: clusters at once (default: what the host has room for, see cnimatrix/run/room.py).
CLUSTERS ?=
# make conformance SUITES="service dns": only these suites (default: every suite but the opt-in
# perf suite, which SUITES=perf runs; `make matrix` runs every suite, perf included).
SUITES ?=
# The suites `make test` runs end to end: those with a recorded pass on E2E_CNI on a quiet machine.
# podnet, ingress and gateway join once they have one (they still run in `make conformance`).
E2E_SUITES ?= service dns netpol
# make conformance PROXY_MODE=nftables / IP_FAMILY=dual: the cluster's shape beside its CNI (default
# iptables, ipv4; each cnis/*.yaml `shapes:` says which it runs in; make matrix takes them too).
PROXY_MODE ?=
IP_FAMILY ?=
# Where nodes get images the node image lacks (cnimatrix/registry/): REGISTRY_MIRROR=host:port or
# registry=host[:port][/path],... pulls through your mirror; offline, IMAGES_VIA=import loads them
# into each node instead of the local registry. The runs read both from the environment.
REGISTRY_MIRROR ?=
IMAGES_VIA ?=
export REGISTRY_MIRROR IMAGES_VIA
SHAPE_ARGS = $(if $(IP_FAMILY),--ip-family $(IP_FAMILY)) $(if $(PROXY_MODE),--proxy-mode $(PROXY_MODE))
# make compare: the CNIs to line up, in column order (default: every reports/<cni>/summary.json).
CNIS ?=
PY := .venv/bin/python
# The machine image's Go lives here; make sure every recipe finds it even from a bare CI shell.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

.PHONY: registry kind-config help setup python-env images doctor conformance e2e matrix compare unit browser test lint nightly-matrix step-summary clean

help:
	@echo "make setup                    install Docker (+ runc wrapper), Go and the Python environment"
	@echo "make images [CNI=<name>|all]  build offline what a cluster with that CNI needs (no-op when registries are reachable)"
	@echo "make doctor                   host readiness: Docker, capabilities, cgroups, disk, kernel features"
	@echo "make conformance CNI=<name>   run the suites on a new kind cluster with that CNI (KEEP=1 keeps it; PROXY_MODE=nftables, IP_FAMILY=...)"
	@echo "make registry                 push every image built here to the local registry the offline nodes pull from"
	@echo "make kind-config REGISTRY_MIRROR=host:port  the kind config (and hosts.toml files) that pulls through your mirror"
	@echo "make matrix [CNIS=\"a b\"]      every CNI this host can run (or CNIS), one cluster at a time, then the comparison"
	@echo "make test                     unit tests, the report page in headless chromium, then an end-to-end run with CNI=$(E2E_CNI)"
	@echo "make compare [CNIS=\"a b\"]     compare reports/<cni>/summary.json files -> reports/comparison/"
	@echo "make lint                     actionlint over .github/workflows (built from its Go module) and ruff"
	@echo "make nightly-matrix           the CNIs the nightly CI runs (nightly: true in cnis/), as JSON"
	@echo "make clean                    delete cnimatrix kind clusters and reports"

setup:
	@bash cnimatrix/host/setup.sh

# Only the Python environment: for targets that need neither Docker nor Go images. Its progress
# goes to stderr so that `make nightly-matrix` prints nothing but the JSON.
python-env:
	@bash cnimatrix/host/setup.sh python >&2

images: setup
	@$(PY) -m cnimatrix.images --cni $(CNI) $(foreach s,$(SUITES),--suite $(s))

# Standard library only, so it also explains a host that `make setup` cannot fix.
doctor:
	@python3 -m cnimatrix.doctor

conformance: setup images
	@$(PY) -m cnimatrix run --cni $(CNI) $(foreach s,$(SUITES),--suite $(s)) $(SHAPE_ARGS) $(if $(KEEP),--keep)

# Every CNI's and add-on's image built here, pushed to the local registry (runs push what they need).
registry: setup
	@$(PY) -m cnimatrix.registry push

kind-config: python-env
	@$(PY) -m cnimatrix kind-config --cni $(CNI)

matrix: setup
	@$(PY) -m cnimatrix matrix $(foreach c,$(CNIS),--cni $(c)) $(SHAPE_ARGS) $(if $(KEEP),--keep) $(if $(CLUSTERS),--clusters $(CLUSTERS))

unit: setup
	@$(PY) -m pytest tests/unit -q

# The comparison page rendered by Debian's chromium, headless.
browser: setup
	@$(PY) -m pytest tests/browser -q

test: unit browser
	@$(MAKE) --no-print-directory e2e

# The one end-to-end run CI makes (.github/workflows/ci.yml and `make test`).
e2e:
	@$(MAKE) --no-print-directory conformance CNI=$(E2E_CNI) SUITES="$(E2E_SUITES)"

# Only reads reports/ and writes reports/comparison/: no Docker, so no `setup` prerequisite.
compare: python-env
	@$(PY) -m cnimatrix.compare $(CNIS)

# actionlint and ruff; builds actionlint on first use, never a cluster.
lint: python-env
	@$(PY) -m cnimatrix.ci lint

nightly-matrix: python-env
	@$(PY) -m cnimatrix.ci matrix

# The comparison as a CI job's summary page (GitHub sets GITHUB_STEP_SUMMARY; elsewhere: stdout).
step-summary:
	@test -f reports/comparison/comparison.md || { echo "make step-summary: no reports/comparison/comparison.md; run make compare" >&2; exit 2; }
	@cat reports/comparison/comparison.md >> "$${GITHUB_STEP_SUMMARY:-/dev/stdout}"

clean:
	@$(PY) -m cnimatrix clean
	@rm -rf reports/*/ .pytest-kind
