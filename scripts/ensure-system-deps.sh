#!/usr/bin/env bash
# Makes sure the Debian packages the test suite drives are installed.
# Quiet when everything is present. As root, installs what is missing with
# apt-get; otherwise prints the command to run and exits 1.
set -euo pipefail

missing=()

need() { # need <package> <check...>: adds <package> unless every check passes
  local pkg=$1 check
  shift
  for check in "$@"; do
    if ! eval "$check" >/dev/null 2>&1; then
      case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
      return
    fi
  done
}

has_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

need openssh-server '[ -x /usr/sbin/sshd ]'
need openssh-client 'command -v ssh' 'command -v scp' 'command -v sftp' 'command -v ssh-keygen'
need sshpass 'command -v sshpass'
need ansible 'command -v ansible-playbook'
need chromium '[ -x /usr/bin/chromium ]'
need postgresql has_initdb
need asciinema 'command -v asciinema'
# The operators' own tools the client suites drive (test/gateway.clients.test.ts, bench clients).
need putty-tools 'command -v plink' 'command -v pscp' 'command -v psftp'
need python3-paramiko '/usr/bin/python3 -c "import paramiko"'
need rsync 'command -v rsync'
need git 'command -v git'
# The container image suites (test/deploy.image.test.ts, test/deploy.compose.test.ts) build the
# Dockerfile with podman (runc, on a base image made by mmdebstrap); podman-compose runs
# compose.yaml and compose.scale.yaml.
need podman 'command -v podman'
need runc '[ -x /usr/sbin/runc ]'
need mmdebstrap 'command -v mmdebstrap'
need podman-compose 'command -v podman-compose'
# test/jobs.kill.test.ts builds a tiny LD_PRELOAD library for its backend sshd (test/helpers/setsidGate.ts).
need gcc 'command -v cc'
need libc6-dev '[ -f /usr/include/dlfcn.h ]'
# visudo validates the sudo rules that pushing a system user writes on the (loopback) target.
need sudo '[ -x /usr/sbin/visudo ]'

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

install_cmd="apt-get install -y ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-system-deps: missing Debian packages: ${missing[*]}" >&2
  echo "ensure-system-deps: install them as root with:" >&2
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive $install_cmd" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-deps: missing packages (${missing[*]}) and no apt-get on this machine" >&2
  exit 1
fi

echo "ensure-system-deps: installing ${missing[*]}" >&2

# Keep maintainer scripts from starting sshd/postgresql services during the
# install (the tests start their own); only if no policy is already in place.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
remove_policy() { if [ "$own_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap remove_policy EXIT

apt-get update
DEBIAN_FRONTEND=noninteractive $install_cmd
