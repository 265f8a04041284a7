#!/usr/bin/env bash
# The one entry point: build, test and benchmark the project.
#
#   ./run.sh test                 install what is missing, build, run every test
#   ./run.sh build                build everything
#   ./run.sh bench storage        storage engine against raw RocksDB
#   ./run.sh bench sim            simulator speed (simulated s per wall s)
#   ./run.sh bench planted        seeds the checkers need per planted bug
#   ./run.sh bench compare        the onebox against a 3-member etcd: puts, gets
#   ./run.sh bench failover       how long writes stop after kill -9 of a primary
#   ./run.sh soak [flags]         simulated seeds until stopped; failures saved
#   ./run.sh example [DIR]        run the embedded-partition example
#   ./run.sh example cluster [DIR]  run a whole cluster inside one process
#   ./run.sh start_onebox [-r 3] [-p 8] [-a temp]
#                                 a cluster on this machine: 1 meta server and
#                                 N replica servers on loopback, a table, healthy
#   ./run.sh stop_onebox | clear_onebox | list_onebox
#   ./run.sh start_onebox_instance -m 1 | -r N
#   ./run.sh stop_onebox_instance -m 1 | -r N [--kill]
#   ./run.sh shell [-e "commands"]  the Pegasus shell, on the onebox
#   ./run.sh kill_test [--duration_s=60]  kill and restart servers under load
#   ./run.sh help
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/onebox.sh
source scripts/onebox.sh

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
  libfmt-dev
  libspdlog-dev
  nlohmann-json3-dev
  libedit-dev
  prometheus
  etcd-server
  etcd-client
  libcpp-httplib-dev
  prometheus-cpp-dev
  grpc-proto
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
    sim)
      # Simulated seconds per wall second of the default world (5 servers,
      # 16 clients), without faults and with swarm faults.
      bazel build "${BAZEL_FLAGS[@]}" -c opt //testing/sim:simulate
      echo "== no faults"
      ./bazel-bin/testing/sim/simulate --seeds=1..20 --duration_s=30 \
        --faults=none --quiet "$@"
      echo "== swarm faults"
      ./bazel-bin/testing/sim/simulate --seeds=1..20 --duration_s=30 \
        --quiet "$@"
      ;;
    planted)
      # How many seeds the checkers need to catch each planted bug.
      bazel build "${BAZEL_FLAGS[@]}" -c opt //testing/sim:simulate
      python3 benchmarks/planted_bugs.py ./bazel-bin/testing/sim/simulate \
        --jobs="$(nproc)" "$@"
      ;;
    compare)
      # Pegasus's onebox against a 3-member etcd, puts then linearizable
      # gets, at 1 and 64 clients (benchmarks/compare.py).
      bazel build "${BAZEL_FLAGS[@]}" -c opt //benchmarks:pegasus_bench \
        //daemons:meta_server //daemons:replica_server //daemons:pegasus_shell
      python3 benchmarks/compare.py \
        --bench=bazel-out/k8-opt/bin/benchmarks/pegasus_bench \
        --onebox_bin=bazel-out/k8-opt/bin/daemons "$@"
      ;;
    failover)
      # The unavailability window after kill -9 of a primary's server.
      bazel build "${BAZEL_FLAGS[@]}" -c opt //benchmarks:failover_probe \
        //daemons:meta_server //daemons:replica_server //daemons:pegasus_shell
      python3 benchmarks/failover.py --bin=bazel-out/k8-opt/bin/daemons \
        --probe=bazel-out/k8-opt/bin/benchmarks/failover_probe "$@"
      ;;
    *)
      die "unknown benchmark suite '${suite}' (known: storage, sim, planted, compare, failover)"
      ;;
  esac
}

# A long randomized run, until stopped (Ctrl-C): batches of 1,000 seeds of
# 60 simulated seconds from a random start, on every core. Each failing
# seed's line and its replay command are appended to soak/failures.txt
# (SOAK_DIR to change); soak/log.txt has every batch's summary. With
# --seeds=A..B it runs just those seeds once. Other flags go to simulate.
cmd_soak() {
  ensure_packages
  bazel build "${BAZEL_FLAGS[@]}" -c opt //testing/sim:simulate
  local arg
  for arg in "$@"; do
    if [[ ${arg} == --seeds=* ]]; then
      ./bazel-bin/testing/sim/simulate --duration_s=60 --quiet \
        --jobs="$(nproc)" "$@"
      return
    fi
  done
  local dir="${SOAK_DIR:-soak}"
  mkdir -p "${dir}"
  local start=$(( $(od -An -N4 -tu4 /dev/urandom) ))
  echo "Soaking from seed ${start}, 1,000 seeds a batch; failures go to ${dir}/failures.txt. Ctrl-C stops."
  while true; do
    ./bazel-bin/testing/sim/simulate --seeds="${start}..$((start + 999))" \
      --duration_s=60 --quiet --jobs="$(nproc)" "$@" >"${dir}/batch.txt" || true
    grep -E '^FAIL|replay:' "${dir}/batch.txt" >>"${dir}/failures.txt" || true
    tail -n 1 "${dir}/batch.txt" | tee -a "${dir}/log.txt"
    start=$((start + 1000))
  done
}

# Random meta and replica servers killed and restarted under writers and
# readers; no acknowledged write may be lost (benchmarks/kill_test.py).
cmd_kill_test() {
  ensure_packages
  bazel build "${BAZEL_FLAGS[@]}" -c opt //benchmarks:kill_test_client \
    //testing/checkers:check_history //daemons:meta_server \
    //daemons:replica_server //daemons:pegasus_shell
  python3 benchmarks/kill_test.py --bin=bazel-out/k8-opt/bin/daemons \
    --client=bazel-out/k8-opt/bin/benchmarks/kill_test_client \
    --checker=bazel-out/k8-opt/bin/testing/checkers/check_history "$@"
}

cmd_example() {
  ensure_packages
  if [[ "${1:-}" == "cluster" ]]; then
    shift
    bazel run "${BAZEL_FLAGS[@]}" //pegasus/examples:in_process_cluster -- "$@"
    return
  fi
  bazel run "${BAZEL_FLAGS[@]}" //pegasus/examples:embedded_partition -- "$@"
}

cmd_help() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

command="${1:-help}"
shift || true
case "${command}" in
  build) cmd_build "$@" ;;
  test) cmd_test "$@" ;;
  bench) cmd_bench "$@" ;;
  soak) cmd_soak "$@" ;;
  example) cmd_example "$@" ;;
  start_onebox) cmd_start_onebox "$@" ;;
  stop_onebox) cmd_stop_onebox "$@" ;;
  clear_onebox) cmd_clear_onebox "$@" ;;
  list_onebox) cmd_list_onebox "$@" ;;
  start_onebox_instance) cmd_start_onebox_instance "$@" ;;
  stop_onebox_instance) cmd_stop_onebox_instance "$@" ;;
  shell) cmd_shell "$@" ;;
  kill_test) cmd_kill_test "$@" ;;
  help | -h | --help) cmd_help ;;
  *)
    cmd_help >&2
    die "unknown command '${command}'"
    ;;
esac
