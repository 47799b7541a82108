#!/usr/bin/env bash
# npm test: installs/checks system packages, then runs the node:test suites.
#   npm test                          every test/**/*.test.ts
#   npm test -- test/infra.test.ts    selected files
#   npm test -- --test-name-pattern=sshd test/infra.test.ts
#   BASTION_TEST_CONCURRENCY=1 npm test   one file at a time (default: two)
# Arguments starting with '-' are passed to node; the rest are test files.
set -euo pipefail
shopt -s globstar nullglob

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Two files at a time overlap the files' waits (sshd, Chromium, a product's start): on the 2-core
# CI host the whole suite took 1016-1292 s that way against 1560 s one at a time. The browser
# helpers act again when a loaded host makes Chromium miss a click or key (test/helpers/browser.ts).
concurrency="${BASTION_TEST_CONCURRENCY:-2}"
if ! [[ "$concurrency" =~ ^[1-9][0-9]*$ ]]; then
  echo "test.sh: BASTION_TEST_CONCURRENCY must be a whole number of files, 1 or more (got '$concurrency')" >&2
  exit 2
fi

bash scripts/ensure-system-deps.sh

node_opts=()
files=()
for arg in "$@"; do
  case "$arg" in
    -*) node_opts+=("$arg") ;;
    *) files+=("$arg") ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then
  files=(test/**/*.test.ts)
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "test.sh: no test files found under test/" >&2
  exit 1
fi

# Spawned products (test/helpers/productCommand.ts) run the compiled build, as `npm start` does;
# tests that import modules in-process keep running the sources through tsx.
node scripts/build-server.mjs --if-stale

mkdir -p test-output
tap=test-output/tap.txt
skips=test-output/skips.txt
rm -f "$tap" "$skips"
# The skip guard (scripts/skipGuard.mjs) checks that every file asked for ran its tests.
BASTION_TEST_FILES="$(printf '%s\n' "${files[@]}")"
export BASTION_TEST_FILES

status=0
# The container suites need their images built first, outside the per-file test timeout: the
# bastion image for both, the PostgreSQL and S3 stand-ins for the compose one.
if printf '%s\n' "${files[@]}" | grep -qE 'deploy\.(image|compose)\.test\.ts$' && command -v podman >/dev/null 2>&1; then
  bash scripts/podman-build-image.sh || status=$?
  if [ "$status" -ne 0 ]; then
    echo "test.sh: the container image could not be built; the deploy suites would test a stale image" >&2
    exit "$status"
  fi
fi
if printf '%s\n' "${files[@]}" | grep -q 'deploy\.compose\.test\.ts$' && command -v podman >/dev/null 2>&1; then
  bash scripts/podman-service-images.sh || status=$?
  if [ "$status" -ne 0 ]; then
    echo "test.sh: the PostgreSQL or S3 image could not be built for test/deploy.compose.test.ts" >&2
    exit "$status"
  fi
fi
# Four reporters pass node 20's default of 10 'end' listeners on the test stream: not a leak.
# A file still running 20 s before its timeout prints what it waits on (test/helpers/hangReport.ts).
BASTION_TEST_HANG_REPORT_MS=280000 node --import tsx --import ./test/helpers/hangReport.ts --disable-warning=MaxListenersExceededWarning --test \
  --test-concurrency="$concurrency" \
  --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  --test-reporter=./scripts/skipGuard.mjs --test-reporter-destination="$skips" \
  --test-reporter=./scripts/fileTimes.mjs --test-reporter-destination=test-output/file-times.txt \
  "${node_opts[@]}" "${files[@]}" || status=$?

echo
echo "---- summary (${#files[@]} file(s), TAP in $tap) ----"
if [ -f "$tap" ]; then
  grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tap" || true
  fails=$(grep -E '^# (fail|cancelled) ' "$tap" | awk '{ s += $3 } END { print s + 0 }')
  if [ "$fails" -gt 0 ] && [ "$status" -eq 0 ]; then
    status=1
  fi
else
  echo "no TAP output was written"
  [ "$status" -ne 0 ] || status=1
fi
[ -f test-output/file-times.txt ] && head -n 11 test-output/file-times.txt
# Skipped tests fail the run (they tested nothing), unless BASTION_TEST_ALLOW_SKIP=1.
if [ -f "$skips" ]; then
  cat "$skips"
  if grep -q '^FAIL ' "$skips" && [ "$status" -eq 0 ]; then
    status=1
  fi
else
  echo "the skip guard wrote no report"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
