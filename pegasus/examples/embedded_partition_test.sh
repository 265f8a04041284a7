#!/usr/bin/env bash
# Runs the example twice on one directory: the second run must find the
# first run's flushed decree and data.
set -euo pipefail
example="$(dirname "$0")/embedded_partition"
dir="${TEST_TMPDIR}/partition"
first=$("${example}" "${dir}")
echo "${first}"
grep -q '^opened .* at decree 0$' <<<"${first}"
grep -q '^get user:1/name = Ann$' <<<"${first}"
grep -q 'user:1/verified = yes' <<<"${first}"
grep -q '^reopened at decree 3; user:1/visits = 1$' <<<"${first}"
second=$("${example}" "${dir}")
echo "${second}"
grep -q '^opened .* at decree 3$' <<<"${second}"
grep -q '^reopened at decree 6; user:1/visits = 2$' <<<"${second}"
