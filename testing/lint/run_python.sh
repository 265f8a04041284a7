#!/usr/bin/env bash
# Runs a Python 3 script (stdlib only) from the workspace root of a test's
# runfiles: run_python.sh SCRIPT ARGS...
set -euo pipefail
if [[ -n "${TEST_SRCDIR:-}" ]]; then
  cd "${TEST_SRCDIR}/${TEST_WORKSPACE:-pegasus}"
fi
# Debian's interpreter when there is one: it needs no per-user setup.
python=/usr/bin/python3
[[ -x "${python}" ]] || python=python3
exec "${python}" "$@"
