#!/bin/sh
# Install the Debian 12 packages klaxon needs to build, test and run.
# Idempotent: installs only what is missing, and runs `apt-get update` only
# when an install needs it. Must run as root (or through sudo).
#
#   deploy/install-deps.sh           install what is missing
#   deploy/install-deps.sh --check   exit 1 if something is missing
#   deploy/install-deps.sh --list    print the package list
#   deploy/install-deps.sh --etcd    also etcd-server and etcd-client, for
#                                    the comparison benchmark (bench/); may
#                                    be combined with --check and --list
set -eu

PACKAGES="
build-essential
pkg-config
libraft-dev
libuv1-dev
libprotobuf-c-dev
protobuf-c-compiler
liblmdb-dev
liblz4-dev
libssl-dev
openssl
libcmocka-dev
libyaml-dev
libjansson-dev
libical-dev
libcurl4-openssl-dev
libhttp-parser-dev
curl
systemd
libfiu-dev
fiu-utils
chromium
prometheus-alertmanager
tzdata
python3
iproute2
valgrind
clang
libclang-rt-14-dev
procps
nftables
libfaketime
"

# Only `make bench-compare` needs etcd: kept out of the default list so a
# plain build or test run does not install a database it never starts.
ETCD_PACKAGES="
etcd-server
etcd-client
"

missing() {
    for p in $PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed'; then
            printf '%s ' "$p"
        fi
    done
}

mode=install
for arg in "$@"; do
    case "$arg" in
    --list) mode=list ;;
    --check) mode=check ;;
    --etcd) PACKAGES="$PACKAGES $ETCD_PACKAGES" ;;
    *)
        echo "usage: $0 [--check|--list] [--etcd]" >&2
        exit 2
        ;;
    esac
done

case "$mode" in
list)
    echo $PACKAGES
    exit 0
    ;;
check)
    m=$(missing)
    if [ -n "$m" ]; then
        echo "missing packages: $m" >&2
        exit 1
    fi
    exit 0
    ;;
esac

m=$(missing)
if [ -z "$m" ]; then
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: need root to install: $m" >&2
        exit 1
    fi
fi

echo "install-deps: installing $m"
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (prometheus-alertmanager, used by the tests, and
# etcd-server with --etcd, which bench/etcd-cluster.sh runs itself on its
# own ports) must not start one: policy-rc.d tells Debian's maintainer
# scripts (invoke-rc.d, deb-systemd-invoke) not to.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null &&
        $SUDO chmod 755 "$policy" && own_policy=1
fi
cleanup() { [ "$own_policy" = 0 ] || $SUDO rm -f "$policy"; }
trap cleanup EXIT
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y --no-install-recommends $m; then
    $SUDO apt-get update
    # shellcheck disable=SC2086
    $SUDO apt-get install -y --no-install-recommends $m
fi
