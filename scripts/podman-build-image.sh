#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman as localhost/bastion:test, on the local base
# image (scripts/podman-base-image.sh), for test/deploy.image.test.ts. scripts/test.sh runs it
# before that suite, outside the per-file test timeout: a cold build (base file system, npm ci
# with native modules) takes minutes; a warm one reuses podman's layer cache and the host's
# npm cache (lent to the build's RUN steps), so only what changed is redone.
#
#   scripts/podman-build-image.sh [tag]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tag=${1:-localhost/bastion:test}
podman_() { podman --runtime runc --cgroup-manager=cgroupfs "$@"; }

start=$(date +%s)
base=$(bash scripts/podman-base-image.sh | tail -n 1)
based=$(date +%s)
npm_cache=${npm_config_cache:-${HOME:-/root}/.npm}
volume=()
if [ -d "$npm_cache" ]; then volume=(--volume "$npm_cache:/root/.npm"); fi
log=$(mktemp)
if ! podman_ build --format docker --network host --build-arg "BASE_IMAGE=$base" "${volume[@]}" -t "$tag" . >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  rm -f "$log"
  echo "podman-build-image: the image build failed" >&2
  exit 1
fi
rm -f "$log"
built=$(date +%s)
# Each build whose sources changed leaves the previous image's layers untagged: those older than
# two days go, so a machine that runs the suite often does not fill its disk. Newer ones stay as
# the layer cache of the next build.
podman_ image prune -f --filter until=48h >/dev/null 2>&1 || true
size=$(podman_ image inspect --format '{{.Size}}' "$tag")
echo "podman-build-image: $tag on $base: base image $((based - start)) s, build $((built - based)) s, size $((size / 1000000)) MB"
