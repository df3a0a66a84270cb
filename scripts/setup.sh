#!/usr/bin/env bash
# Installs everything trickle-rt needs on a fresh Debian/Ubuntu machine with Node >= 20, then builds
# it: system packages (when run as root; otherwise it lists what to install), npm packages, the
# native addon (CUDA kernels included when nvcc is on PATH) and the TypeScript.
#
#   ./scripts/setup.sh            # everything
#   TRICKLE_CUDA=OFF ./scripts/setup.sh   # force a build without CUDA kernels
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node >= 20 is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Build tools, FFmpeg development libraries (linked by the addon), ffnvcodec headers (NVDEC/NVENC
# loader) and the ffmpeg/ffprobe CLI, which tests and benchmarks use as an independent oracle only.
APT_PACKAGES=(cmake ninja-build g++ pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libffmpeg-nvenc-dev ffmpeg xz-utils)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "       run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

say "installing npm packages"
if [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

say "building the native addon (TRICKLE_CUDA=${TRICKLE_CUDA:-AUTO})"
npx --no-install cmake-js compile --log-level error -p "$(nproc)" >/dev/null

say "compiling TypeScript"
npm run --silent build:ts

say "done: $(node -p 'require("./dist/index.js").capabilities().ffmpeg.version') FFmpeg, CUDA kernels: $(node -p 'require("./dist/index.js").capabilities().cuda.compiled')"
