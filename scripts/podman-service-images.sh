#!/usr/bin/env bash
# Builds the local stand-ins for the upstream images compose.yaml and compose.scale.yaml name,
# where no container registry is reachable, for test/deploy.compose.test.ts:
#   localhost/bastion-postgres:test   PostgreSQL 15 from Debian, the official image's entrypoint contract
#   localhost/bastion-s3:test         s3rver behind `minio server` and `mc` (scripts/images/s3)
# Both on the local Node base image (scripts/podman-base-image.sh). scripts/test.sh runs this
# before that suite, outside the per-file test timeout. Cached by tag: an image is rebuilt only
# when its build directory (scripts/images/<name>) or the base image changed (a label holds the
# digest of both).
#
#   scripts/podman-service-images.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

podman_() { podman --runtime runc --cgroup-manager=cgroupfs "$@"; }

base=$(bash scripts/podman-base-image.sh | tail -n 1)
base_id=$(podman_ image inspect --format '{{.Id}}' "$base")
npm_cache=${npm_config_cache:-${HOME:-/root}/.npm}
volume=()
if [ -d "$npm_cache" ]; then volume=(--volume "$npm_cache:/root/.npm"); fi

build() {
  local name=$1 tag=$2 dir="scripts/images/$1"
  local digest
  digest=$( (echo "$base_id"; cd "$dir" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
  if [ "$(podman_ image inspect --format '{{index .Labels "bastion.digest"}}' "$tag" 2>/dev/null)" = "$digest" ]; then
    echo "podman-service-images: $tag is up to date"
    return
  fi
  local start log
  start=$(date +%s)
  log=$(mktemp)
  if ! podman_ build --format docker --network host --build-arg "BASE_IMAGE=$base" --label "bastion.digest=$digest" \
      "${volume[@]}" -f "$dir/Containerfile" -t "$tag" "$dir" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "podman-service-images: building $tag failed" >&2
    exit 1
  fi
  rm -f "$log"
  local size
  size=$(podman_ image inspect --format '{{.Size}}' "$tag")
  echo "podman-service-images: $tag built in $(( $(date +%s) - start )) s, size $((size / 1000000)) MB"
}

build postgres localhost/bastion-postgres:test
build s3 localhost/bastion-s3:test
