#!/usr/bin/env bash
# Start or stop the 3-member etcd cluster that the klaxon/etcd comparison
# benchmark loads (bench/README-etcd.md): members on 127.0.0.1 only, mutual
# TLS between members and with clients, data on disk under DIR with etcd's
# normal fsync.
#
#   bench/etcd-cluster.sh start --dir DIR [--base-port P]
#   bench/etcd-cluster.sh stop --dir DIR
#
# Run with --help for the details.
set -euo pipefail

PROG=etcd-cluster.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MEMBERS=3
HEALTH_TIMEOUT=60 # seconds for a fresh cluster to elect a leader
STOP_TIMEOUT=20   # seconds between SIGTERM and SIGKILL
# etcd 3.4 logs a warning for every request that comes through its JSON
# gateway under --client-cert-auth ("ignoring common name in gRPC-gateway
# proxy request"): a log line per put would be part of what is measured.
# Errors only, then; BENCH_ETCD_LOG_LEVEL=info (or warn) for the rest.
LOG_LEVEL=${BENCH_ETCD_LOG_LEVEL:-error}

usage() {
    cat <<EOF
usage: $PROG start|stop --dir DIR [--base-port P]

start  generate certificates into DIR/tls (deploy/gen-certs.sh), start
       $MEMBERS etcd members on 127.0.0.1 and wait until all are healthy:
         member i (1..$MEMBERS)  client https://127.0.0.1:P+i-1
                          peer   https://127.0.0.1:P+100+i-1
         data DIR/etcd<i>.data (made anew), log DIR/etcd<i>.log,
         pid DIR/etcd<i>.pid
       Members require client certificates (--client-cert-auth,
       --peer-client-cert-auth) signed by DIR/tls/ca.pem. Clients use
       DIR/tls/client-bench.pem and DIR/tls/client-bench-key.pem.
       DIR/cluster.env then holds BENCH_ETCD_ENDPOINTS, BENCH_ETCD_CACERT,
       BENCH_ETCD_CERT and BENCH_ETCD_KEY for build/etcd-bench (not named
       ETCD_*: etcd reads those from its environment as flags).
       Members log errors only (BENCH_ETCD_LOG_LEVEL=info for more).
       Refuses to start while a cluster of DIR runs.
stop   stop the members of DIR (SIGTERM, SIGKILL after ${STOP_TIMEOUT} s) and
       wait until they are gone; nothing to do is not an error.

Options:
  --dir DIR        working directory (created if missing)
  --base-port P    first client port (default 23790; 1024..65433)
  -h, --help       this text

Needs etcd (Debian package etcd-server: deploy/install-deps.sh --etcd),
openssl and curl.
EOF
}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

usage_error() {
    echo "$PROG: $*" >&2
    echo "run '$PROG --help' for usage" >&2
    exit 2
}

CMD=
DIR=
BASE_PORT=23790
while [ $# -gt 0 ]; do
    case "$1" in
    start | stop)
        [ -z "$CMD" ] || usage_error "give one command, not '$CMD' and '$1'"
        CMD=$1
        shift
        ;;
    --dir)
        [ $# -ge 2 ] || usage_error "option --dir needs a value"
        DIR=$2
        shift 2
        ;;
    --dir=*)
        DIR=${1#--dir=}
        shift
        ;;
    --base-port)
        [ $# -ge 2 ] || usage_error "option --base-port needs a value"
        BASE_PORT=$2
        shift 2
        ;;
    --base-port=*)
        BASE_PORT=${1#--base-port=}
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage_error "unknown argument '$1'"
        ;;
    esac
done
[ -n "$CMD" ] || usage_error "start or stop?"
[ -n "$DIR" ] || usage_error "--dir is required"
case "$BASE_PORT" in
'' | *[!0-9]* | 0*) usage_error "--base-port must be a number, got '$BASE_PORT'" ;;
esac
if [ "$BASE_PORT" -lt 1024 ] || [ "$BASE_PORT" -gt 65433 ]; then
    usage_error "--base-port must be 1024..65433 (peer ports are P+100..P+102)"
fi

client_port() { echo $((BASE_PORT + $1 - 1)); }
peer_port() { echo $((BASE_PORT + 100 + $1 - 1)); }
data_dir() { echo "$DIR/etcd$1.data"; }
pid_file() { echo "$DIR/etcd$1.pid"; }

# The pid of member i when that process is alive and is the etcd of this
# DIR (the pid file may be stale, its pid reused); nothing otherwise.
member_pid() {
    local f pid cmdline
    f=$(pid_file "$1")
    [ -r "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null) || return 0
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    # (a zombie has an empty command line: it no longer runs)
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
    case "$cmdline" in
    *"--data-dir $(data_dir "$1") "*) echo "$pid" ;;
    esac
}

running_pids() {
    local i pid pids=
    for i in $(seq 1 "$MEMBERS"); do
        pid=$(member_pid "$i")
        [ -z "$pid" ] || pids="$pids $pid"
    done
    echo "${pids# }"
}

zombies_left() {
    local pid
    for pid in "$@"; do
        [ ! -e "/proc/$pid" ] || return 0
    done
    return 1
}

stop_cluster() {
    local pids i waited=0
    pids=$(running_pids)
    if [ -z "$pids" ]; then
        for i in $(seq 1 "$MEMBERS"); do rm -f "$(pid_file "$i")"; done
        echo "$PROG: no etcd member of $DIR is running"
        return 0
    fi
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    while [ -n "$(running_pids)" ] && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if [ -n "$(running_pids)" ]; then
        echo "$PROG: still up after ${STOP_TIMEOUT} s: $(running_pids); SIGKILL" >&2
        # shellcheck disable=SC2046
        kill -KILL $(running_pids) 2>/dev/null || true
        sleep 1
        [ -z "$(running_pids)" ] || die "cannot stop $(running_pids)"
    fi
    # An exited member stays a zombie until its parent (init, once this
    # script's caller is gone) reaps it: give that a moment, so that a
    # process listing right after `stop` shows no etcd.
    waited=0
    # shellcheck disable=SC2086
    while [ "$waited" -lt 50 ] && zombies_left $pids; do
        sleep 0.1
        waited=$((waited + 1))
    done
    for i in $(seq 1 "$MEMBERS"); do rm -f "$(pid_file "$i")"; done
    echo "$PROG: stopped etcd members $pids of $DIR"
}

# --- start -------------------------------------------------------------------

check_tools() {
    command -v etcd >/dev/null 2>&1 ||
        die "etcd not found: install it with 'deploy/install-deps.sh --etcd' (Debian package etcd-server)"
    command -v openssl >/dev/null 2>&1 ||
        die "openssl not found (deploy/install-deps.sh installs it)"
    command -v curl >/dev/null 2>&1 ||
        die "curl not found (deploy/install-deps.sh installs it)"
}

check_ports() {
    local i port
    command -v ss >/dev/null 2>&1 || return 0
    for i in $(seq 1 "$MEMBERS"); do
        for port in $(client_port "$i") $(peer_port "$i"); do
            if [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
                die "port $port is already in use (another etcd, or pick another --base-port)"
            fi
        done
    done
}

# The members authenticate each other and their clients with the klaxon
# development PKI: a node certificate of deploy/gen-certs.sh carries
# serverAuth and clientAuth and the SANs localhost, 127.0.0.1 and ::1, which
# is what etcd needs of it for both uses: a member presents it as server
# (to clients and to peers that dial it), as client (when it dials a peer),
# and its gRPC gateway presents it as client when it relays an HTTP request
# to the member's own gRPC service under --client-cert-auth. The client
# certificate (clientAuth) is for build/etcd-bench and curl.
make_certs() {
    local log=$DIR/gen-certs.log
    if ! "$ROOT/deploy/gen-certs.sh" --dir "$DIR/tls" --nodes "$MEMBERS" \
        --client bench >"$log" 2>&1; then
        cat "$log" >&2
        die "certificates could not be made (deploy/gen-certs.sh)"
    fi
}

initial_cluster() {
    local i list=
    for i in $(seq 1 "$MEMBERS"); do
        list="$list,etcd$i=https://127.0.0.1:$(peer_port "$i")"
    done
    echo "${list#,}"
}

start_member() {
    local i=$1 token=$2 tls=$DIR/tls client peer
    client=https://127.0.0.1:$(client_port "$i")
    peer=https://127.0.0.1:$(peer_port "$i")
    rm -rf "$(data_dir "$i")"
    # setsid: the members outlive this script and are not hit by a Ctrl-C
    # meant for the caller's foreground job; `stop` ends them. (setsid
    # execs in place here, so $! is etcd's pid.)
    setsid etcd --name "etcd$i" --data-dir "$(data_dir "$i")" \
        --listen-client-urls "$client" --advertise-client-urls "$client" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
        --initial-cluster "$(initial_cluster)" \
        --initial-cluster-token "$token" --initial-cluster-state new \
        --client-cert-auth --trusted-ca-file "$tls/ca.pem" \
        --cert-file "$tls/node$i.pem" --key-file "$tls/node$i-key.pem" \
        --peer-client-cert-auth --peer-trusted-ca-file "$tls/ca.pem" \
        --peer-cert-file "$tls/node$i.pem" \
        --peer-key-file "$tls/node$i-key.pem" \
        --logger zap --log-outputs stderr --log-level "$LOG_LEVEL" \
        </dev/null >"$DIR/etcd$i.log" 2>&1 &
    echo "$!" >"$(pid_file "$i")"
}

healthy() {
    local out
    out=$(curl -sS --max-time 2 --cacert "$DIR/tls/ca.pem" \
        --cert "$DIR/tls/client-bench.pem" \
        --key "$DIR/tls/client-bench-key.pem" \
        "https://127.0.0.1:$(client_port "$1")/health" 2>/dev/null) || return 1
    case "$out" in
    *'"health":"true"'*) return 0 ;;
    esac
    return 1
}

# Stops what was started and shows the end of every log.
fail_start() {
    local i
    echo "$PROG: $*" >&2
    for i in $(seq 1 "$MEMBERS"); do
        echo "--- tail of $DIR/etcd$i.log" >&2
        tail -n 15 "$DIR/etcd$i.log" >&2 2>/dev/null || true
    done
    stop_cluster >&2
    exit 1
}

wait_healthy() {
    local i ok tries=0
    while :; do
        ok=0
        for i in $(seq 1 "$MEMBERS"); do
            [ -n "$(member_pid "$i")" ] ||
                fail_start "member etcd$i exited during start-up"
            if healthy "$i"; then ok=$((ok + 1)); fi
        done
        [ "$ok" -lt "$MEMBERS" ] || return 0
        tries=$((tries + 1))
        [ "$tries" -lt $((HEALTH_TIMEOUT * 4)) ] ||
            fail_start "cluster not healthy after ${HEALTH_TIMEOUT} s"
        sleep 0.25
    done
}

write_env() {
    local i eps=
    for i in $(seq 1 "$MEMBERS"); do
        eps="$eps,https://127.0.0.1:$(client_port "$i")"
    done
    cat >"$DIR/cluster.env" <<EOF
BENCH_ETCD_ENDPOINTS=${eps#,}
BENCH_ETCD_CACERT=$DIR/tls/ca.pem
BENCH_ETCD_CERT=$DIR/tls/client-bench.pem
BENCH_ETCD_KEY=$DIR/tls/client-bench-key.pem
EOF
}

start_cluster() {
    local pids i token fs
    check_tools
    mkdir -p "$DIR" || die "cannot create $DIR"
    DIR=$(cd "$DIR" && pwd)
    pids=$(running_pids)
    [ -z "$pids" ] ||
        die "an etcd cluster of $DIR is already running (pids $pids); run '$0 stop --dir $DIR' first"
    fs=$(stat -f -c %T "$DIR" 2>/dev/null || echo unknown)
    case "$fs" in
    tmpfs | ramfs)
        echo "$PROG: warning: $DIR is on $fs: fsync costs nothing there," \
            "the numbers will not be those of a disk" >&2
        ;;
    esac
    check_ports
    make_certs
    token=klaxon-bench-$(date +%s)-$$
    for i in $(seq 1 "$MEMBERS"); do
        start_member "$i" "$token"
    done
    wait_healthy
    write_env
    echo "$PROG: $(etcd --version | head -n 1), $MEMBERS members healthy:" \
        "$(grep BENCH_ETCD_ENDPOINTS "$DIR/cluster.env" | cut -d= -f2)" \
        "(pids $(running_pids); logs $DIR/etcd*.log)"
}

case "$CMD" in
start)
    start_cluster
    ;;
stop)
    if [ ! -d "$DIR" ]; then
        echo "$PROG: no etcd member of $DIR is running"
        exit 0
    fi
    DIR=$(cd "$DIR" && pwd)
    stop_cluster
    ;;
esac
