#!/usr/bin/env bash
# Runs the cluster example twice on one directory: the second run finds the
# first one's data.
set -euo pipefail
example="$(dirname "$0")/in_process_cluster"
dir="${TEST_TMPDIR}/cluster"
first=$("${example}" "${dir}")
echo "${first}"
grep -q '^run 1 on this directory$' <<<"${first}"
grep -q '^get user:1/name = Ann (after the loss)$' <<<"${first}"
grep -q 'every partition is healthy$' <<<"${first}"
second=$("${example}" "${dir}")
echo "${second}"
grep -q '^run 2 on this directory$' <<<"${second}"
