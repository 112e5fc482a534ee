# One image for every recstream role (process, materialize, train, index, serve).
#
#   docker build -t recstream:0.1.0 .                      # CPU training: Debian's python3-torch
#   docker build --target cuda -t recstream:0.1.0-cuda .   # CUDA training: PyTorch's cu124 wheels
#
# docker-compose.yml and deploy/k8s/ use these two tags; the tag is the
# package.json version.
ARG NODE_IMAGE=node:20.19.4-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# rocksdb ships a prebuilt binary for linux-x64 only: elsewhere (arm64) npm compiles it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# onnxruntime-node's install script would download CUDA binaries; its CPU build ships inside the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# Scripts wait for the sources: the root package's `prepare` builds them.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm rebuild --no-audit --no-fund \
  && npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && node dist/cli/main.js --help >/dev/null

FROM ${NODE_IMAGE} AS base
# tini: PID 1 that forwards SIGTERM (every role drains and commits on it) and reaps the engine's children.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 python3-numpy tini ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN ln -s /app/dist/cli/main.js /usr/local/bin/recstream \
  && mkdir -p /var/lib/recstream/artifacts \
  && chown -R node:node /var/lib/recstream
ENV NODE_ENV=production \
  RECSTREAM_DATA_DIR=/var/lib/recstream
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["recstream", "--help"]

# The GPU trainer: PyTorch with CUDA 12.4 from PyTorch's wheel index, in a venv that still
# sees Debian's numpy. The host needs the NVIDIA driver and container toolkit, nothing else.
FROM base AS cuda
USER root
ARG TORCH_VERSION=2.5.1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu124
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3-venv \
  && rm -rf /var/lib/apt/lists/* \
  && python3 -m venv --system-site-packages /opt/torch \
  && /opt/torch/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"
ENV RECSTREAM_PYTHON=/opt/torch/bin/python3
USER node

# The default image: CPU training with Debian's PyTorch and the threaded OpenBLAS it needs to be fast.
FROM base AS cpu
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread python3-optuna \
  && rm -rf /var/lib/apt/lists/*
USER node
