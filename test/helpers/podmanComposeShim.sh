#!/usr/bin/env bash
# The `podman` that test/deploy.compose.test.ts hands to podman-compose (--podman-path): this
# sandbox runs containers only with runc, cgroupfs and explicit ulimits (test/helpers/podman.ts),
# and podman-compose 1.0.3 (Debian bookworm) adds the project network, its alias and the ports to
# every container, even to one with `network_mode: host`, which podman refuses ("cannot set
# multiple networks without bridge network mode"). The test's override file puts the bastion
# containers on the host network (so they reach the loopback sshd); for those this drops the
# project network, the alias and the port mappings, as docker compose does for network_mode: host.
set -euo pipefail

cmd=${1:-}
case "$cmd" in
  run|create) ;;
  *) exec podman --runtime runc --cgroup-manager=cgroupfs "$@" ;;
esac
shift

host=0
prev=
for a in "$@"; do
  if { [ "$prev" = --network ] && [ "$a" = host ]; } || [ "$a" = --network=host ]; then host=1; fi
  prev=$a
done

out=()
skip=0
for a in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  if [ "$host" = 1 ]; then
    case "$a" in
      --net|--network-alias|-p) skip=1; continue ;;
    esac
  fi
  out+=("$a")
done

exec podman --runtime runc --cgroup-manager=cgroupfs "$cmd" --ulimit nofile=10000:10000 --ulimit nproc=5000:5000 "${out[@]}"
