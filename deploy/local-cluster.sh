#!/usr/bin/env bash
# Run a klaxon cluster on the loopback interface, all of it in one
# directory: certificates in DIR/tls, and per node DIR/node<i>/ with
# klaxond.yaml, data/, klaxond.log, pid (while it runs) and exit-status (the
# last exit status of klaxond, written when it exits). DIR/env holds the
# client environment (`source DIR/env`, then use klaxonctl).
#
# Ports: node i listens for Raft on 127.0.0.1:(P+i-1), for clients on
# 127.0.0.1:(P+100+i-1) and for HTTPS on 127.0.0.1:(P+200+i-1), P being
# --base-port (default 7001).
#
# Exit status: 0 on success, 1 on failure, 2 on a usage error, 3 when a port
# the cluster needs is already in use.
#
# With LOCAL_CLUSTER_OWNER_PID=PID in the environment, nodes started by
# this invocation stop themselves (SIGTERM) once process PID is gone, so
# that a test program that dies does not leave its cluster running.
#
# Run with --help for usage.
set -euo pipefail

PROG=local-cluster.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname "$SCRIPT_DIR")
GEN_CERTS=$SCRIPT_DIR/gen-certs.sh

MAX_NODES=9          # klaxond allows up to 9 cluster members
DEFAULT_BASE_PORT=7001
API_OFFSET=100
HTTP_OFFSET=200
READY_TIMEOUT=30   # seconds for a start to answer a linearizable read
STOP_TIMEOUT=15    # seconds a node gets to exit after SIGTERM
MARKER=.klaxon-local-cluster

usage() {
    cat <<EOF
usage: $PROG COMMAND [OPTIONS]

Run a klaxon cluster on 127.0.0.1, everything kept in one directory.

Commands:
  start     create (or reuse) a cluster in DIR, start its nodes and wait
            until it answers
  run       start, follow the node logs until Ctrl-C, then stop
  stop      stop every node of the cluster in DIR
  kill      SIGKILL one node
  restart   start one stopped node again
  status    show the nodes and ask the cluster for its status

Run '$PROG COMMAND --help' for the options of a command.

Binaries: \$KLAXOND and \$KLAXONCTL if set, else \$BUILD/klaxond and
\$BUILD/klaxonctl, \$BUILD defaulting to 'build' in the repository
($ROOT).
EOF
}

usage_start() {
    cat <<EOF
usage: $PROG $1 --nodes N --dir DIR [--base-port P] [--fast]
       [--snapshot-threshold N] [--snapshot-trailing N]
       [--state-mapped-mb N] [--fresh]

EOF
    if [[ $1 == run ]]; then
        cat <<EOF
Start the cluster like 'start', print how to reach it, then follow every
node's log (each line prefixed with the node name) until Ctrl-C or
SIGTERM, and stop the cluster.

EOF
    else
        cat <<EOF
Create the cluster in DIR if needed (certificates in DIR/tls: the nodes',
and client-{admin,responder,sender}.pem, one per role; one
DIR/node<i>/klaxond.yaml per node), start every node that is not running
in the background and wait up to ${READY_TIMEOUT}s until the cluster serves a
linearizable read. Writes DIR/env for the client tools (as admin).

EOF
    fi
    cat <<EOF
Options:
  --nodes N               number of nodes, 1..$MAX_NODES (must match an existing
                          cluster in DIR)
  --dir DIR               cluster directory (created if missing)
  --base-port P           Raft port of node 1 (default $DEFAULT_BASE_PORT); node i
                          uses P+i-1 for Raft, P+$API_OFFSET+i-1 for clients and
                          P+$HTTP_OFFSET+i-1 for HTTPS
  --fast                  heartbeat_timeout 100ms, election_timeout 1s
                          (default 500ms, 3s)
  --snapshot-threshold N  raft.snapshot_threshold, 16..10000000 (default 8192)
  --snapshot-trailing N   raft.snapshot_trailing, 0..10000000 (default 8192)
  --state-mapped-mb N     limits.state_mapped_mb, 0..65536 (default: klaxond's)
  --fresh                 stop and wipe an existing cluster in DIR first
  --pages HTTP:SMTP       run only: also run deploy/page-receiver.py on
                          127.0.0.1 with these ports and show every page it
                          receives (make run: 9099:2525, the ports of
                          deploy/examples/oncall.yaml)
  -h, --help              this text

An existing cluster in DIR keeps its data and ports; its configs are
rewritten with the timeouts and snapshot settings given here (nodes that
already run pick them up at their next start).
EOF
}

usage_stop() {
    cat <<EOF
usage: $PROG stop --dir DIR

Send SIGTERM to every running node of the cluster in DIR, wait up to
${STOP_TIMEOUT}s for each to exit and SIGKILL the ones that do not. Stopping a
stopped cluster does nothing.
EOF
}

usage_kill() {
    cat <<EOF
usage: $PROG kill --dir DIR --node I

SIGKILL node I (1-based) and wait until it is gone.
EOF
}

usage_restart() {
    cat <<EOF
usage: $PROG restart --dir DIR --node I

Start node I again with its existing config and data, unless it is running,
and wait until its process is up and its client port listens.
EOF
}

usage_status() {
    cat <<EOF
usage: $PROG status --dir DIR

Show every node's pid and whether it runs, then run 'klaxonctl status'
against the cluster.
EOF
}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

usage_error() {
    echo "$PROG: $*" >&2
    echo "run '$PROG ${COMMAND:+$COMMAND }--help' for usage" >&2
    exit 2
}

info() {
    echo "$*" >&2
}

warn() {
    echo "$PROG: warning: $*" >&2
}

# --- options ----------------------------------------------------------------

COMMAND=
DIR=
NODES=
NODE=
BASE_PORT=
FAST=0
SNAP_THRESHOLD=8192
SNAP_TRAILING=8192
STATE_MAPPED=
FRESH=0

is_uint() {
    [[ $1 =~ ^[0-9]+$ ]] && ((${#1} <= 9))
}

# in_range VALUE MIN MAX: VALUE is a number in MIN..MAX.
in_range() {
    is_uint "$1" && ((10#$1 >= $2 && 10#$1 <= $3))
}

# parse_options ALLOWED ARGS...: ALLOWED is a space-separated list of the
# option names the command accepts.
parse_options() {
    local allowed=" $1 " opt val
    shift
    while (($# > 0)); do
        opt=$1
        val=
        case $opt in
        -h | --help)
            case $COMMAND in
            start | run) usage_start "$COMMAND" ;;
            *) "usage_$COMMAND" ;;
            esac
            exit 0
            ;;
        --*=*)
            val=${opt#*=}
            opt=${opt%%=*}
            ;;
        --fast | --fresh) ;;
        --*)
            if [[ $allowed == *" ${opt#--} "* ]]; then
                (($# >= 2)) || usage_error "option $opt needs a value"
                val=$2
                shift
            fi
            ;;
        esac
        [[ $opt == --* && $allowed == *" ${opt#--} "* ]] ||
            usage_error "$COMMAND: unknown argument '$1'"
        case $opt in
        --dir) DIR=$val ;;
        --nodes) NODES=$val ;;
        --node) NODE=$val ;;
        --base-port) BASE_PORT=$val ;;
        --snapshot-threshold) SNAP_THRESHOLD=$val ;;
        --snapshot-trailing) SNAP_TRAILING=$val ;;
        --state-mapped-mb) STATE_MAPPED=$val ;;
        --fast) FAST=1 ;;
        --fresh) FRESH=1 ;;
        --pages) PAGES=$val ;;
        esac
        shift
    done
    [[ -n $DIR ]] || usage_error "$COMMAND: --dir is required"
    # Absolute from here on: configs, pid checks and DIR/env rely on it.
    DIR=$(realpath -m -- "$DIR")
}

check_start_options() {
    [[ -n $NODES ]] || usage_error "$COMMAND: --nodes is required"
    in_range "$NODES" 1 "$MAX_NODES" ||
        usage_error "--nodes must be 1..$MAX_NODES, got '$NODES'"
    NODES=$((10#$NODES))
    if [[ -n $BASE_PORT ]]; then
        in_range "$BASE_PORT" 1024 $((65535 - HTTP_OFFSET - NODES + 1)) ||
            usage_error "--base-port must be 1024..$((65535 - HTTP_OFFSET - NODES + 1)), got '$BASE_PORT'"
        BASE_PORT=$((10#$BASE_PORT))
    fi
    # The ranges klaxond accepts.
    in_range "$SNAP_THRESHOLD" 16 10000000 ||
        usage_error "--snapshot-threshold must be 16..10000000, got '$SNAP_THRESHOLD'"
    in_range "$SNAP_TRAILING" 0 10000000 ||
        usage_error "--snapshot-trailing must be 0..10000000, got '$SNAP_TRAILING'"
    SNAP_THRESHOLD=$((10#$SNAP_THRESHOLD))
    SNAP_TRAILING=$((10#$SNAP_TRAILING))
    if [[ -n $STATE_MAPPED ]]; then
        in_range "$STATE_MAPPED" 0 65536 ||
            usage_error "--state-mapped-mb must be 0..65536, got '$STATE_MAPPED'"
        STATE_MAPPED=$((10#$STATE_MAPPED))
    fi
}

check_node_option() {
    [[ -n $NODE ]] || usage_error "$COMMAND: --node is required"
    in_range "$NODE" 1 999999999 ||
        usage_error "--node must be a node number, got '$NODE'"
    NODE=$((10#$NODE))
    ((NODE <= NODES)) ||
        die "node $NODE does not exist: the cluster in $DIR has $NODES node(s)"
}

# --- binaries ---------------------------------------------------------------

BUILD_DIR=
find_binaries() {
    local build=${BUILD:-build}
    [[ $build == /* ]] || build=$ROOT/$build
    KLAXOND=${KLAXOND:-$build/klaxond}
    KLAXONCTL=${KLAXONCTL:-$build/klaxonctl}
    KLAXOND=$(realpath -m -- "$KLAXOND")
    KLAXONCTL=$(realpath -m -- "$KLAXONCTL")
    BUILD_DIR=$(dirname "$KLAXONCTL")
}

require_binary() {
    [[ -x $1 && -f $1 ]] ||
        die "$1 not found or not executable: run make first (or set \$${2})"
}

# --- layout -----------------------------------------------------------------

node_dir() { echo "$DIR/node$1"; }
node_cfg() { echo "$DIR/node$1/klaxond.yaml"; }
node_log() { echo "$DIR/node$1/klaxond.log"; }
node_pidfile() { echo "$DIR/node$1/pid"; }
node_exitfile() { echo "$DIR/node$1/exit-status"; }
raft_port() { echo $((BASE_PORT + $1 - 1)); }
api_port() { echo $((BASE_PORT + API_OFFSET + $1 - 1)); }
http_port() { echo $((BASE_PORT + HTTP_OFFSET + $1 - 1)); }
raft_addr() { echo "127.0.0.1:$(raft_port "$1")"; }
api_addr() { echo "127.0.0.1:$(api_port "$1")"; }

endpoints() {
    local i list=
    for ((i = 1; i <= NODES; i++)); do
        list+=${list:+,}$(api_addr "$i")
    done
    echo "$list"
}

# Number of nodes of the cluster in DIR (configs node1..nodeN), 0 if none.
existing_nodes() {
    local n=0
    while [[ -f $DIR/node$((n + 1))/klaxond.yaml ]]; do
        n=$((n + 1))
    done
    echo "$n"
}

# Raft port of node 1 as written in its config.
existing_base_port() {
    local addr
    addr=$(awk '/^node:/ { n = 1; next } /^[^ #]/ { n = 0 }
                n && $1 == "raft_address:" { print $2; exit }' \
        "$(node_cfg 1)")
    [[ $addr =~ :([0-9]+)$ ]] ||
        die "cannot read node.raft_address from $(node_cfg 1)"
    echo "${BASH_REMATCH[1]}"
}

# Load NODES and BASE_PORT of the cluster in DIR for the commands that
# work on an existing cluster. Returns 1 when DIR holds none.
load_cluster() {
    NODES=$(existing_nodes)
    ((NODES > 0)) || return 1
    BASE_PORT=$(existing_base_port)
}

# --- processes --------------------------------------------------------------

# Pid of node I's klaxond if it runs: the pid file names a live process
# whose command line holds this node's config (so a recycled pid is not
# mistaken for the node).
node_pid() {
    local pidfile pid cfg
    pidfile=$(node_pidfile "$1")
    [[ -f $pidfile ]] || return 1
    read -r pid <"$pidfile" 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    proc_alive "$pid" || return 1
    cfg=$(node_cfg "$1")
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$cfg" ||
        return 1
    echo "$pid"
}

# A process is alive if it exists and is not a zombie.
proc_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# wait_gone PID SECONDS: 0 once the process is gone, 1 on timeout.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while proc_alive "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1 || true
    done
}

last_exit_status() {
    local f
    f=$(node_exitfile "$1")
    [[ -f $f ]] && cat "$f"
}

show_log_tail() {
    local log
    log=$(node_log "$1")
    if [[ -s $log ]]; then
        echo "--- last lines of $log:" >&2
        tail -n 25 "$log" | sed 's/^/  /' >&2
        echo "---" >&2
    else
        echo "--- $log is empty" >&2
    fi
}

# --- ports ------------------------------------------------------------------

HAVE_SS=0
command -v ss >/dev/null 2>&1 && HAVE_SS=1

# port_listening PORT: 0 when something listens on PORT (any address).
port_listening() {
    if ((HAVE_SS)); then
        [[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# Who listens on PORT, as "name (pid N)", when ss can tell.
port_holder() {
    local line name pid
    ((HAVE_SS)) || return 0
    line=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -n 1)
    [[ $line =~ \(\(\"([^\"]*)\",pid=([0-9]+) ]] || return 0
    name=${BASH_REMATCH[1]}
    pid=${BASH_REMATCH[2]}
    echo "$name (pid $pid)"
}

# The local cluster directory a klaxond process belongs to, from its
# "--config DIR/node<i>/klaxond.yaml" argument; nothing if it is none.
cluster_of_pid() {
    local arg prev='' cfg=''

    while IFS= read -r -d '' arg; do
        [[ $prev == --config ]] && cfg=$arg
        prev=$arg
    done <"/proc/$1/cmdline" 2>/dev/null || true
    [[ $cfg == /*/node*/klaxond.yaml ]] || return 0
    dirname "$(dirname "$cfg")"
}

# check_ports_free I...: fail (exit 3) if a port of one of the nodes is in
# use.
check_ports_free() {
    local i port what holder pid hint other
    for i in "$@"; do
        for what in raft api http; do
            port=$("${what}_port" "$i")
            # A node killed a moment ago can still show its listening
            # socket while the kernel releases it: give that 3 s.
            for _ in $(seq 30); do
                port_listening "$port" || break
                sleep 0.1
            done
            port_listening "$port" || continue
            holder=$(port_holder "$port")
            hint="choose another --base-port"
            if [[ $holder =~ pid\ ([0-9]+) ]]; then
                pid=${BASH_REMATCH[1]}
                other=$(cluster_of_pid "$pid")
                if [[ -n $other ]]; then
                    hint="it is a node of the local cluster in $other: stop it with '$0 stop --dir $other', or $hint"
                else
                    hint="stop it (kill $pid) or $hint"
                fi
            fi
            echo "$PROG: port $port (node$i $what) is already in use${holder:+ by $holder}; $hint" >&2
            exit 3
        done
    done
}

# --- configuration ----------------------------------------------------------

write_config() {
    local i=$1 j cfg tmp hb el
    cfg=$(node_cfg "$i")
    if ((FAST)); then
        hb=100ms el=1s
    else
        hb=500ms el=3s
    fi
    mkdir -p "$(node_dir "$i")"
    tmp=$cfg.tmp
    {
        echo "# klaxond config of node $i, written by deploy/local-cluster.sh."
        echo "# Paths are relative to this file's directory."
        echo "node:"
        echo "  id: $i"
        echo "  data_dir: data"
        echo "  raft_address: $(raft_addr "$i")"
        echo "  api_address: $(api_addr "$i")"
        echo "tls:"
        echo "  ca: ../tls/ca.pem"
        echo "  cert: ../tls/node$i.pem"
        echo "  key: ../tls/node$i-key.pem"
        echo "cluster:"
        echo "  members:"
        for ((j = 1; j <= NODES; j++)); do
            echo "    - { id: $j, raft_address: $(raft_addr "$j"), api_address: $(api_addr "$j") }"
        done
        echo "http:"
        echo "  bind: 127.0.0.1:$(http_port "$i")"
        echo "raft:"
        echo "  heartbeat_timeout: $hb"
        echo "  election_timeout: $el"
        echo "  snapshot_threshold: $SNAP_THRESHOLD"
        echo "  snapshot_trailing: $SNAP_TRAILING"
        if [[ -n $STATE_MAPPED ]]; then
            echo "limits:"
            echo "  state_mapped_mb: $STATE_MAPPED"
        fi
        echo "log:"
        echo "  level: info"
    } >"$tmp"
    mv -f "$tmp" "$cfg"
}

write_env() {
    local tmp=$DIR/env.tmp
    {
        echo "# Client environment of the klaxon local cluster in $DIR."
        echo "# Use it with: source $(printf '%q' "$DIR/env")"
        echo "export KLAXON_ENDPOINTS=$(endpoints)"
        echo "export KLAXON_CA=$(printf '%q' "$DIR/tls/ca.pem")"
        echo "export KLAXON_CERT=$(printf '%q' "$DIR/tls/client-admin.pem")"
        echo "export KLAXON_KEY=$(printf '%q' "$DIR/tls/client-admin-key.pem")"
        echo "export KLAXON_HTTPS=https://127.0.0.1:$(http_port 1)"
        # shellcheck disable=SC2016
        printf 'case ":$PATH:" in\n*:%q:*) ;;\n*) export PATH=%q:"$PATH" ;;\nesac\n' \
            "$BUILD_DIR" "$BUILD_DIR"
    } >"$tmp"
    mv -f "$tmp" "$DIR/env"
}

# Environment of klaxonctl for this cluster, whatever the caller's.
CTL_ENV=()
set_ctl_env() {
    CTL_ENV=(
        "KLAXON_ENDPOINTS=$(endpoints)"
        "KLAXON_CA=$DIR/tls/ca.pem"
        "KLAXON_CERT=$DIR/tls/client-admin.pem"
        "KLAXON_KEY=$DIR/tls/client-admin-key.pem"
    )
}

# --- starting ---------------------------------------------------------------

# The node runs under a small bash parent in its own session (setsid), so
# that a Ctrl-C in the terminal does not reach it. The parent writes
# klaxond's pid, waits for it and records its exit status, which nothing
# else could collect once this script has exited.
# shellcheck disable=SC2016
NODE_WRAPPER='
pidfile=$1 exitfile=$2 name=$3
shift 3
echo "=== $(date -u +%FT%TZ) local-cluster: starting $name: $*"
"$@" </dev/null &
child=$!
echo "$child" >"$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"
watcher=
if [ -n "${LOCAL_CLUSTER_OWNER_PID:-}" ]; then
    (
        while kill -0 "$LOCAL_CLUSTER_OWNER_PID" 2>/dev/null; do sleep 1; done
        echo "=== $(date -u +%FT%TZ) local-cluster: owner process $LOCAL_CLUSTER_OWNER_PID is gone, stopping $name"
        kill -TERM "$child" 2>/dev/null
    ) &
    watcher=$!
fi
wait "$child" 2>/dev/null
status=$?
[ -z "$watcher" ] || kill "$watcher" 2>/dev/null
echo "$status" >"$exitfile.tmp" && mv -f "$exitfile.tmp" "$exitfile"
echo "=== $(date -u +%FT%TZ) local-cluster: $name (pid $child) exited with status $status"
'

# start_node I: launch node I and wait for its pid file.
start_node() {
    local i=$1 pidfile exitfile log deadline pid
    pidfile=$(node_pidfile "$i")
    exitfile=$(node_exitfile "$i")
    log=$(node_log "$i")
    rm -f "$pidfile" "$exitfile"
    mkdir -p "$(node_dir "$i")"
    setsid bash -c "$NODE_WRAPPER" local-cluster-node "$pidfile" \
        "$exitfile" "node$i" "$KLAXOND" --config "$(node_cfg "$i")" \
        </dev/null >>"$log" 2>&1 &
    deadline=$((SECONDS + 5))
    until [[ -s $pidfile ]]; do
        ((SECONDS < deadline)) || die "node$i did not start (no pid file after 5s); see $log"
        sleep 0.05 || true
    done
    read -r pid <"$pidfile"
    info "started node$i (pid $pid, raft $(raft_addr "$i"), api $(api_addr "$i"))"
}

# Nodes started by this invocation; stopped again if the start fails.
STARTED=()
INTERRUPTED=0
RUN_MODE=0
PAGES=
err=

# Ctrl-C or SIGTERM while starting: stop what was started.
on_start_signal() {
    trap '' INT TERM HUP
    INTERRUPTED=1
    echo >&2
    info "interrupted"
    abort_start 130
}

abort_start() {
    [[ -z $err ]] || rm -f "$err"
    if ((${#STARTED[@]} > 0)); then
        info "stopping the node(s) started: ${STARTED[*]/#/node}"
        stop_nodes "${STARTED[@]}"
    fi
    info "logs: $DIR/node*/klaxond.log"
    exit "${1:-1}"
}

# fail_if_exited I...: a node that exited while starting fails the start.
fail_if_exited() {
    local i status
    for i in "$@"; do
        node_pid "$i" >/dev/null && continue
        ((dots)) && echo >&2
        status=$(last_exit_status "$i" || true)
        echo "$PROG: node$i exited while starting${status:+ (status $status)}" >&2
        show_log_tail "$i"
        abort_start 1
    done
}

# Wait until every node's API port listens and a linearizable read
# succeeds, with a progress dot per second on stderr.
dots=0
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) i all last_dot
    err=$(mktemp "${TMPDIR:-/tmp}/klaxon-ctl.XXXXXX")
    last_dot=$EPOCHSECONDS
    dots=0
    while :; do
        fail_if_exited $(seq 1 "$NODES")
        all=1
        for ((i = 1; i <= NODES; i++)); do
            port_listening "$(api_port "$i")" || all=0
        done
        if ((all)) && timeout 10 env "${CTL_ENV[@]}" "$KLAXONCTL" \
            --timeout 1s list --limit 1 >/dev/null 2>"$err"; then
            break
        fi
        if ((SECONDS >= deadline)); then
            ((dots)) && echo >&2
            echo "$PROG: the cluster did not answer within ${READY_TIMEOUT}s" >&2
            if [[ -s $err ]]; then
                echo "last klaxonctl error:" >&2
                sed 's/^/  /' "$err" >&2
            fi
            for ((i = 1; i <= NODES; i++)); do
                show_log_tail "$i"
            done
            rm -f "$err"
            abort_start 1
        fi
        if ((EPOCHSECONDS > last_dot)); then
            printf . >&2
            dots=1
            last_dot=$EPOCHSECONDS
        fi
        sleep 0.2 || true
    done
    ((dots)) && echo >&2
    rm -f "$err"
}

# Wait until node I's process runs and its API port listens.
wait_node_up() {
    local i=$1 deadline=$((SECONDS + READY_TIMEOUT))
    dots=0
    until port_listening "$(api_port "$i")"; do
        fail_if_exited "$i"
        ((SECONDS < deadline)) || {
            show_log_tail "$i"
            die "node$i's API port $(api_port "$i") does not listen after ${READY_TIMEOUT}s"
        }
        sleep 0.1 || true
    done
    fail_if_exited "$i"
}

# Refuse to touch a directory that is not ours.
check_dir_is_ours() {
    [[ -d $DIR ]] || return 0
    [[ -f $DIR/$MARKER || -f $DIR/node1/klaxond.yaml ]] && return 0
    [[ -z $(ls -A "$DIR") ]] && return 0
    die "$DIR exists, is not empty and does not hold a local cluster; choose another --dir"
}

cmd_start() {
    local i pid existing want base_opt=$BASE_PORT pending=()
    check_start_options
    find_binaries
    require_binary "$KLAXOND" KLAXOND
    require_binary "$KLAXONCTL" KLAXONCTL
    [[ -x $GEN_CERTS ]] || die "$GEN_CERTS not found"
    [[ -e $DIR && ! -d $DIR ]] && die "$DIR exists and is not a directory"
    check_dir_is_ours

    if ((FRESH)) && [[ -d $DIR ]]; then
        want=$NODES
        if load_cluster; then
            stop_all
        fi
        NODES=$want
        # DIR is ours (checked above): empty it, keep the directory itself.
        if [[ -n $(ls -A "$DIR") ]]; then
            find "$DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
            info "wiped $DIR"
        fi
    fi

    existing=0
    [[ -d $DIR ]] && existing=$(existing_nodes)
    if ((existing > 0)); then
        ((existing == NODES)) ||
            die "$DIR holds a $existing-node cluster, not $NODES: use --nodes $existing, or --fresh to replace it"
        BASE_PORT=$(existing_base_port)
        [[ -z $base_opt || $base_opt == "$BASE_PORT" ]] ||
            die "the cluster in $DIR uses base port $BASE_PORT, not $base_opt: drop --base-port, or use --fresh to replace it"
        info "reusing the $NODES-node cluster in $DIR"
    else
        BASE_PORT=${base_opt:-$DEFAULT_BASE_PORT}
    fi

    # Ports first, so that a conflict leaves nothing behind.
    for ((i = 1; i <= NODES; i++)); do
        if pid=$(node_pid "$i"); then
            info "node$i already running (pid $pid)"
        else
            pending+=("$i")
        fi
    done
    ((${#pending[@]} == 0)) || check_ports_free "${pending[@]}"

    mkdir -p "$DIR" || die "cannot create $DIR"
    touch "$DIR/$MARKER"
    "$GEN_CERTS" --dir "$DIR/tls" --nodes "$NODES" \
        >"$DIR/tls.log" 2>&1 || {
        cat "$DIR/tls.log" >&2
        die "could not create the certificates in $DIR/tls"
    }
    rm -f "$DIR/tls.log"

    for ((i = 1; i <= NODES; i++)); do
        write_config "$i"
        mkdir -p "$(node_dir "$i")/data"
    done
    write_env
    set_ctl_env

    trap on_start_signal INT TERM HUP
    for i in "${pending[@]}"; do
        start_node "$i"
        STARTED+=("$i")
    done
    info "waiting for the cluster to answer (up to ${READY_TIMEOUT}s)"
    wait_ready
    if ((RUN_MODE)); then
        # The loop of `run` ends once INTERRUPTED is set.
        trap 'INTERRUPTED=1' INT TERM HUP
    else
        trap - INT TERM HUP
    fi
    info "cluster ready: $(endpoints)"
}

# --- stopping ---------------------------------------------------------------

# stop_nodes I...: SIGTERM, wait, SIGKILL what is left.
stop_nodes() {
    local i pid deadline status
    local -A pids=()
    for i in "$@"; do
        if pid=$(node_pid "$i"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids[$i]=$pid
        fi
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    for i in "${!pids[@]}"; do
        pid=${pids[$i]}
        if ! wait_gone "$pid" $((deadline > SECONDS ? deadline - SECONDS : 0)); then
            warn "node$i (pid $pid) did not exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 10 || warn "node$i (pid $pid) is still there after SIGKILL"
        fi
    done
    for i in "$@"; do
        rm -f "$(node_pidfile "$i")"
    done
    for i in $(printf '%s\n' "${!pids[@]}" | sort -n); do
        status=
        # The wrapper records the exit status right after klaxond exits.
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            status=$(last_exit_status "$i" || true)
            [[ -n $status ]] && break
            sleep 0.05
        done
        info "stopped node$i (pid ${pids[$i]}${status:+, exit status $status})"
    done
}

stop_all() {
    stop_nodes $(seq 1 "$NODES")
}

cmd_stop() {
    if [[ ! -d $DIR ]] || ! load_cluster; then
        info "no cluster in $DIR"
        return 0
    fi
    stop_all
    info "cluster in $DIR stopped"
}

cmd_kill() {
    local pid
    load_cluster || die "no cluster in $DIR"
    check_node_option
    if ! pid=$(node_pid "$NODE"); then
        info "node$NODE is not running"
        rm -f "$(node_pidfile "$NODE")"
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "node$NODE (pid $pid) is still there after SIGKILL"
    rm -f "$(node_pidfile "$NODE")"
    info "killed node$NODE (pid $pid)"
}

cmd_restart() {
    local pid
    load_cluster || die "no cluster in $DIR"
    check_node_option
    if pid=$(node_pid "$NODE"); then
        info "node$NODE is already running (pid $pid)"
        return 0
    fi
    find_binaries
    require_binary "$KLAXOND" KLAXOND
    check_ports_free "$NODE"
    start_node "$NODE"
    wait_node_up "$NODE"
    info "node$NODE is up"
}

cmd_status() {
    local i pid status rc=0
    load_cluster || die "no cluster in $DIR"
    for ((i = 1; i <= NODES; i++)); do
        if pid=$(node_pid "$i"); then
            printf 'node%-2s pid %-8s running  raft %s  api %s\n' "$i" \
                "$pid" "$(raft_addr "$i")" "$(api_addr "$i")"
        else
            status=$(last_exit_status "$i" || true)
            printf 'node%-2s pid %-8s stopped%s  raft %s  api %s\n' "$i" \
                - "${status:+ (last exit status $status)}" \
                "$(raft_addr "$i")" "$(api_addr "$i")"
        fi
    done
    find_binaries
    require_binary "$KLAXONCTL" KLAXONCTL
    echo
    set_ctl_env
    env "${CTL_ENV[@]}" "$KLAXONCTL" --timeout 5s status || rc=$?
    ((rc == 0)) || die "klaxonctl status failed (exit status $rc)"
}

# --- run --------------------------------------------------------------------

# The receiver of --pages: pages show up in the run's output as "pages | ".
start_page_receiver() {
    [[ -n $PAGES ]] || return 0
    local http=${PAGES%%:*} smtp=${PAGES#*:}
    if ! command -v python3 >/dev/null; then
        warn "python3 not found: no page receiver"
        return 0
    fi
    (
        trap '' INT
        exec python3 "$SCRIPT_DIR/page-receiver.py" --print \
            --http-port "$http" --smtp-port "$smtp" 2>&1
    ) > >(
        trap '' INT
        exec sed -u "s/^/pages | /"
    ) &
    followers+=($!)
}

pages_hint() {
    [[ -n $PAGES ]] || return 0
    cat <<EOF
  klaxonctl apply -f $ROOT/deploy/examples/oncall.yaml
  klaxonctl trigger --service demo --severity 1 --summary "checkout down"
  (pages appear below as "pages | ...", level 2 after 30s; klaxonctl ack ID)
EOF
}

cmd_run() {
    local i log followers=()
    local -A offsets=()
    check_start_options
    RUN_MODE=1
    # Log sizes before the start, so that following shows this run only.
    for ((i = 1; i <= NODES; i++)); do
        log=$(node_log "$i")
        offsets[$i]=0
        ((FRESH)) || offsets[$i]=$(stat -c %s "$log" 2>/dev/null || echo 0)
    done
    cmd_start
    cat <<EOF

klaxon local cluster: $NODES node(s) in $DIR
$(for ((i = 1; i <= NODES; i++)); do
        printf '  node%-2s raft %s  api %s  log %s\n' "$i" "$(raft_addr "$i")" \
            "$(api_addr "$i")" "$(node_log "$i")"
    done)

In another terminal:
  source $(printf '%q' "$DIR/env")
  klaxonctl status
$(pages_hint)
Ctrl-C stops the cluster.

EOF
    start_page_receiver
    for ((i = 1; i <= NODES; i++)); do
        log=$(node_log "$i")
        # Both ignore Ctrl-C, so the nodes' shutdown lines still show.
        (
            trap '' INT
            exec tail -c +$((${offsets[$i]:-0} + 1)) -F -- "$log" 2>/dev/null
        ) > >(
            trap '' INT
            exec sed -u "s/^/node$i | /"
        ) &
        followers+=($!)
    done
    while ((!INTERRUPTED)); do
        sleep 1 &
        wait $! 2>/dev/null || true
    done
    echo >&2
    info "stopping the cluster"
    trap '' INT TERM HUP
    stop_all
    sleep 0.3
    kill "${followers[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    info "cluster in $DIR stopped"
    exit 0
}

# --- main -------------------------------------------------------------------

(($# > 0)) || {
    usage >&2
    exit 2
}
COMMAND=$1
shift
case $COMMAND in
-h | --help | help)
    usage
    exit 0
    ;;
start)
    parse_options "nodes dir base-port fast snapshot-threshold snapshot-trailing state-mapped-mb fresh pages" "$@"
    cmd_start
    echo "source $(printf '%q' "$DIR/env")"
    ;;
run)
    parse_options "nodes dir base-port fast snapshot-threshold snapshot-trailing state-mapped-mb fresh pages" "$@"
    cmd_run
    ;;
stop)
    parse_options "dir" "$@"
    cmd_stop
    ;;
kill)
    parse_options "dir node" "$@"
    cmd_kill
    ;;
restart)
    parse_options "dir node" "$@"
    cmd_restart
    ;;
status)
    parse_options "dir" "$@"
    cmd_status
    ;;
*)
    bad=$COMMAND
    COMMAND=
    usage_error "unknown command '$bad'"
    ;;
esac
