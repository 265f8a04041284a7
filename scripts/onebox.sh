# The onebox: a whole cluster on this machine, on loopback, in ./onebox
# (ONEBOX_DIR to change). Sourced by run.sh; docs/operations.md describes
# it. Every process is started in the background, its pid kept in its
# directory, and stopped by that pid.
#
# Layout:
#   onebox/bin/               the daemons and the shell, copied at start
#   onebox/meta1/             data/, log, pid, ready, cmd
#   onebox/replica<i>/        the same per replica server
#
# Ports: the meta server 34601 (HTTP 34611); replica server i 34800+i
# (HTTP 34900+i).

ONEBOX_DIR="${ONEBOX_DIR:-onebox}"
ONEBOX_META_PORT=34601
ONEBOX_META_HTTP_PORT=34611
ONEBOX_REPLICA_PORT_BASE=34800
ONEBOX_REPLICA_HTTP_PORT_BASE=34900

onebox_build() {
  ensure_packages
  bazel build "${BAZEL_FLAGS[@]}" -c opt //daemons:meta_server \
    //daemons:replica_server //daemons:pegasus_shell
  mkdir -p "${ONEBOX_DIR}/bin"
  local binary
  for binary in meta_server replica_server pegasus_shell; do
    # Copied, so a later build (of another configuration) does not swap a
    # running binary; from bazel-out, as bazel-bin follows the last build.
    install -m 755 "bazel-out/k8-opt/bin/daemons/${binary}" \
      "${ONEBOX_DIR}/bin/${binary}"
  done
}

# The pid of instance $1 (meta1, replica2, ...) if it runs, else nothing.
onebox_pid() {
  local pid_file="${ONEBOX_DIR}/$1/pid"
  [[ -f "${pid_file}" ]] || return 0
  local pid
  pid=$(cat "${pid_file}")
  if kill -0 "${pid}" 2>/dev/null; then echo "${pid}"; fi
}

# Starts instance $1 from the command line saved in its directory, and
# waits for it to serve.
onebox_start_instance() {
  local name="$1"
  local dir="${ONEBOX_DIR}/${name}"
  [[ -f "${dir}/cmd" ]] || die "no onebox instance ${name} (start_onebox first)"
  if [[ -n "$(onebox_pid "${name}")" ]]; then
    echo "${name} already runs (pid $(onebox_pid "${name}"))"
    return 0
  fi
  rm -f "${dir}/ready"
  local -a cmd
  mapfile -t cmd <"${dir}/cmd"
  nohup "${cmd[@]}" >>"${dir}/log" 2>&1 &
  echo $! >"${dir}/pid"
  local waited=0
  while [[ ! -f "${dir}/ready" ]]; do
    if ! kill -0 "$(cat "${dir}/pid")" 2>/dev/null; then
      tail -n 5 "${dir}/log" >&2
      die "${name} exited at start; see ${dir}/log"
    fi
    ((waited++ < 300)) || die "${name} did not start in 30 s; see ${dir}/log"
    sleep 0.1
  done
}

# Stops instance $1: SIGTERM (a clean stop) and up to 10 s, then SIGKILL;
# with "kill" as $2, SIGKILL at once.
onebox_stop_instance() {
  local name="$1"
  local pid
  pid=$(onebox_pid "${name}")
  if [[ -z "${pid}" ]]; then
    return 0
  fi
  if [[ "${2:-}" != "kill" ]]; then
    kill -TERM "${pid}" 2>/dev/null || true
    local waited=0
    while kill -0 "${pid}" 2>/dev/null && ((waited++ < 100)); do
      sleep 0.1
    done
  fi
  kill -KILL "${pid}" 2>/dev/null || true
  while kill -0 "${pid}" 2>/dev/null; do sleep 0.05; done
  rm -f "${ONEBOX_DIR}/${name}/pid"
}

# Saves instance $1's command line (one argument per line).
onebox_save_cmd() {
  local name="$1"
  shift
  mkdir -p "${ONEBOX_DIR}/${name}/data"
  printf '%s\n' "$@" >"${ONEBOX_DIR}/${name}/cmd"
}

onebox_shell() {
  "${ONEBOX_DIR}/bin/pegasus_shell" --meta="127.0.0.1:${ONEBOX_META_PORT}" "$@"
}

onebox_instances() {
  local dir
  for dir in "${ONEBOX_DIR}"/meta* "${ONEBOX_DIR}"/replica*; do
    [[ -f "${dir}/cmd" ]] && basename "${dir}"
  done
  return 0
}

cmd_start_onebox() {
  local metas=1 replicas=3 partitions=8 app=temp
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -m | --meta_count) metas="$2"; shift 2 ;;
      -r | --replica_count) replicas="$2"; shift 2 ;;
      -p | --partition_count) partitions="$2"; shift 2 ;;
      -a | --app_name) app="$2"; shift 2 ;;
      *) die "start_onebox: unknown option $1 (-m, -r, -p, -a)" ;;
    esac
  done
  [[ "${metas}" == 1 ]] || die "start_onebox: one meta server is supported (-m 1)"
  ((replicas >= 1 && replicas <= 99)) || die "start_onebox: -r is 1..99"
  if [[ -n "$(onebox_instances)" ]]; then
    local running=0 name
    for name in $(onebox_instances); do
      [[ -n "$(onebox_pid "${name}")" ]] && running=1
    done
    ((running == 0)) || die "a onebox runs already (stop_onebox, or clear_onebox to start afresh)"
  fi
  onebox_build
  local bin
  bin="$(cd "${ONEBOX_DIR}/bin" && pwd)"
  local root
  root="$(cd "${ONEBOX_DIR}" && pwd)"
  local replica_count=$((replicas < 3 ? replicas : 3))
  # The replica servers split the machine's cores: on a small box a server
  # with more worker threads than its share spends its time switching.
  local threads=$(($(nproc) / replicas))
  ((threads >= 1)) || threads=1
  onebox_save_cmd meta1 "${bin}/meta_server" \
    "--listen=127.0.0.1:${ONEBOX_META_PORT}" \
    "--http_port=${ONEBOX_META_HTTP_PORT}" \
    "--data_dir=${root}/meta1/data" \
    "--min_live_nodes=${replica_count}" \
    "--ready_file=${root}/meta1/ready"
  onebox_start_instance meta1
  local i
  for ((i = 1; i <= replicas; i++)); do
    onebox_save_cmd "replica${i}" "${bin}/replica_server" \
      "--listen=127.0.0.1:$((ONEBOX_REPLICA_PORT_BASE + i))" \
      "--http_port=$((ONEBOX_REPLICA_HTTP_PORT_BASE + i))" \
      "--meta=127.0.0.1:${ONEBOX_META_PORT}" \
      "--data_dir=${root}/replica${i}/data" \
      "--threads=${threads}" \
      "--ready_file=${root}/replica${i}/ready"
    onebox_start_instance "replica${i}"
  done
  onebox_shell -e "create ${app} -p ${partitions} -r ${replica_count} --success_if_exist; wait_healthy --timeout_s 60" ||
    die "the onebox did not become healthy; see ${ONEBOX_DIR}/*/log"
  cmd_list_onebox
  cat <<EOF

Table '${app}': ${partitions} partitions, ${replica_count} replicas.
Open the shell:     ./run.sh shell       (then: use ${app})
Metrics:            curl http://127.0.0.1:${ONEBOX_META_HTTP_PORT}/metrics
Logs and data:      ${root}/<instance>/log, ${root}/<instance>/data
Stop:               ./run.sh stop_onebox   (clear_onebox also deletes the data)
EOF
}

cmd_stop_onebox() {
  local name
  # Replica servers first, so the meta server does not move their
  # partitions about as they go.
  for name in $(onebox_instances | sort -r); do
    onebox_stop_instance "${name}"
  done
  echo "onebox stopped"
}

cmd_clear_onebox() {
  cmd_stop_onebox
  rm -rf "${ONEBOX_DIR}"
  echo "onebox cleared"
}

cmd_list_onebox() {
  local name
  printf '%-10s %-8s %-17s %-32s %s\n' instance pid grpc metrics data
  for name in $(onebox_instances); do
    local pid address="-" http="-"
    pid=$(onebox_pid "${name}")
    if [[ -f "${ONEBOX_DIR}/${name}/ready" ]]; then
      read -r address http <"${ONEBOX_DIR}/${name}/ready"
      http="http://127.0.0.1:${http}/metrics"
    fi
    printf '%-10s %-8s %-17s %-32s %s\n' "${name}" "${pid:-stopped}" \
      "${address}" "${http}" "${ONEBOX_DIR}/${name}/data"
  done
}

# -m 1 or -r N: the instance's name.
onebox_instance_name() {
  case "${1:-}" in
    -m) echo "meta${2:?-m takes an index}" ;;
    -r) echo "replica${2:?-r takes an index}" ;;
    *) die "name the instance: -m 1 or -r N" ;;
  esac
}

cmd_start_onebox_instance() {
  onebox_start_instance "$(onebox_instance_name "$@")"
}

# -m 1 | -r N [--kill]: --kill stops it with SIGKILL, as a crash.
cmd_stop_onebox_instance() {
  local name
  name=$(onebox_instance_name "$@")
  onebox_stop_instance "${name}" "$([[ "${3:-}" == "--kill" ]] && echo kill)"
}

cmd_shell() {
  if [[ ! -x "${ONEBOX_DIR}/bin/pegasus_shell" ]]; then
    onebox_build
  fi
  onebox_shell "$@"
}
