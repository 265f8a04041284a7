#!/usr/bin/env bash
# The one entry point: build, test and benchmark the project.
#
#   ./run.sh test                 install what is missing, build, run every test
#   ./run.sh build                build everything
#   ./run.sh bench storage        storage engine against raw RocksDB
#   ./run.sh example              run the embedded-partition example
#   ./run.sh help
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

# Debian packages the build, the tests and the benchmarks need.
PACKAGES=(
  bazel-bootstrap
  g++
  pkg-config
  python3
  libabsl-dev
  librocksdb-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libgrpc++-dev
  libprotobuf-dev
  protobuf-compiler
  protobuf-compiler-grpc
)

BAZEL_FLAGS=(--jobs=2)

die() {
  echo "run.sh: $*" >&2
  exit 1
}

# Installs whatever in PACKAGES is missing; silent when nothing is.
ensure_packages() {
  local missing=()
  local package
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null |
      grep -q 'install ok installed'; then
      missing+=("${package}")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  echo "Installing missing packages: ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install failed for: ${missing[*]}"
}

cmd_build() {
  ensure_packages
  bazel build "${BAZEL_FLAGS[@]}" //... "$@"
}

cmd_test() {
  ensure_packages
  local events
  events=$(mktemp)
  local status=0
  # Tests always run: a result cached from another run proves nothing here.
  bazel test "${BAZEL_FLAGS[@]}" --nocache_test_results --keep_going \
    --build_event_json_file="${events}" //... "$@" ||
    status=$?
  local summary_status=0
  python3 testing/tools/test_summary.py "${events}" "${status}" || summary_status=$?
  rm -f "${events}"
  return "${summary_status}"
}

cmd_bench() {
  ensure_packages
  local suite="${1:-storage}"
  shift || true
  case "${suite}" in
    storage)
      bazel build "${BAZEL_FLAGS[@]}" -c opt //benchmarks:storage_benchmark
      # Console output for the reader, JSON for the ratios.
      local out
      out=$(mktemp)
      ./bazel-bin/benchmarks/storage_benchmark --benchmark_out="${out}" \
        --benchmark_out_format=json "$@"
      python3 benchmarks/ratios.py "${out}"
      rm -f "${out}"
      ;;
    *)
      die "unknown benchmark suite '${suite}' (known: storage)"
      ;;
  esac
}

cmd_example() {
  ensure_packages
  bazel run "${BAZEL_FLAGS[@]}" //pegasus/examples:embedded_partition -- "$@"
}

cmd_help() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

command="${1:-help}"
shift || true
case "${command}" in
  build) cmd_build "$@" ;;
  test) cmd_test "$@" ;;
  bench) cmd_bench "$@" ;;
  example) cmd_example "$@" ;;
  help | -h | --help) cmd_help ;;
  *)
    cmd_help >&2
    die "unknown command '${command}'"
    ;;
esac
