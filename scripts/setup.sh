#!/usr/bin/env bash
# Installs what recstream needs on a fresh Debian/Ubuntu machine with Node.js:
# a Redis server (started if none answers on 127.0.0.1:6379), PyTorch for the
# training engine (Debian's python3-torch, with the threaded OpenBLAS it
# needs to be fast, pytest for the engine's tests, and Optuna for its settings
# search) unless a python3 that imports torch is there already, then the npm packages, which also builds
# the TypeScript (npm's `prepare`). With --tests (the README's test command,
# .ci/run) also what only the tests use: Chromium for the operator console's
# browser test, promtool, docker-compose and kubectl for the deploy files' tests.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    *) echo "setup: unknown option $arg (only --tests)" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "setup: installing redis-server"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "setup: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

has_torch() {
  for python in ${RECSTREAM_PYTHON:-} python3 /usr/bin/python3; do
    "$python" -c 'import torch, numpy, pytest' >/dev/null 2>&1 && return 0
  done
  return 1
}
if ! has_torch; then
  echo "setup: installing python3-torch, libopenblas0-pthread and python3-pytest (the training engine)"
  apt_install python3-torch libopenblas0-pthread python3-pytest
elif [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 \
  && ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  # Without it Debian's torch runs its matmuls on the reference BLAS, several times slower.
  apt_install libopenblas0-pthread
fi
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 \
  && ! /usr/bin/python3 -c 'import optuna' >/dev/null 2>&1; then
  echo "setup: installing python3-optuna (the engine's settings search, tune_trials)"
  apt_install python3-optuna
fi

if [ "$tests" -eq 1 ]; then
  if ! command -v chromium >/dev/null; then
    echo "setup: installing chromium (headless, for the operator console's browser test)"
    apt_install chromium
  fi

  # promtool and docker-compose: deploy/deploy.test.ts checks the alert rules and
  # docker-compose.yml with them. Debian's prometheus package ships promtool (on a
  # machine with systemd it also starts a Prometheus server on :9090).
  if ! command -v promtool >/dev/null; then
    echo "setup: installing prometheus (promtool, for the alert-rule tests)"
    apt_install --no-install-recommends prometheus
  fi
  if ! command -v docker-compose >/dev/null && ! docker compose version >/dev/null 2>&1; then
    echo "setup: installing docker-compose (validates docker-compose.yml in the tests)"
    apt_install --no-install-recommends docker-compose
  fi
  if ! command -v kubectl >/dev/null; then
    echo "setup: installing kubernetes-client (kubectl kustomize builds deploy/k8s in the tests)"
    apt_install --no-install-recommends kubernetes-client
  fi
  # The engine's Python is checked by the tests with Debian's pyflakes and mypy, under Debian's python3.
  if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import pyflakes, mypy' >/dev/null 2>&1; then
    echo "setup: installing python3-pyflakes and mypy (the tests check the engine's Python)"
    apt_install --no-install-recommends python3-pyflakes mypy
  fi
fi

# `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional
# binaries (biome, go-mokapi) out of the lock file, which `npm ci` then refuses.
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's install script would
# download CUDA binaries from outside the npm registry; the CPU build ships
# inside the package.
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund
