#!/bin/sh
# Development PKI for a klaxon cluster: one CA, one certificate per node
# and one per client, all EC P-256, made with the openssl CLI.
#
# klaxond authenticates every connection with these certificates: the
# subject's OU is the role ("node" for Raft peers; "sender", "responder"
# or "admin" for API clients, see "Roles and certificates" in README.md)
# and a node's CN is "node-<id>", which klaxond compares with the id of the
# member at the other end. A sender certificate may list the services it
# may trigger as subjectAltName URIs urn:klaxon:service:<name>. Production
# clusters should use their own CA and issue certificates with the same
# subject layout.
#
# Run with --help for usage.
set -eu

PROG=gen-certs.sh
CA_DAYS=3650
LEAF_DAYS=825

usage() {
    cat <<EOF
usage: $PROG --dir DIR --nodes N [--client NAME[:ROLE] [--role ROLE]
                  [--services S1,S2]]... [--hosts h1,h2] [--force]
                  [--ca-dir CADIR] [--bundle FILE]

Create a development PKI for a klaxon cluster in DIR:

  DIR/ca.pem, DIR/ca-key.pem            the CA (kept if it exists)
  DIR/node<i>.pem, DIR/node<i>-key.pem  node i in 1..N: subject
                                        /O=klaxon/OU=node/CN=node-<i>,
                                        serverAuth + clientAuth,
                                        subjectAltName: the host names
                                        and URI urn:klaxon:node:<i>
  DIR/client-<NAME>.pem, -key.pem       client NAME: subject
                                        /O=klaxon/OU=<ROLE>/CN=<NAME>,
                                        clientAuth, and for a sender with
                                        --services one subjectAltName URI
                                        urn:klaxon:service:<S> per service

Options:
  --dir DIR       output directory (created if missing)
  --nodes N       number of node certificates (0..999)
  --client NAME[:ROLE]
                  a client certificate; repeatable (NAME: letters, digits,
                  '.', '_', '-'). ROLE: sender (trigger, heartbeats,
                  reads), responder (+ ack, resolve, notes, updates,
                  maintenance) or admin (+ apply configuration, cluster
                  operations); default admin. Without any --client: the
                  dev set admin:admin, responder:responder, sender:sender
  --role ROLE     the role of the --client before it (as NAME:ROLE)
  --services LIST comma-separated services the sender of the --client
                  before it may trigger; without it a sender may trigger
                  every service
  --hosts LIST    comma-separated extra host names or IP addresses put in
                  every node certificate's subjectAltName, in addition to
                  localhost, 127.0.0.1 and ::1
  --force         regenerate everything, the CA included
  --ca-dir CADIR  the CA is CADIR/ca.pem and CADIR/ca-key.pem (made there
                  if missing) instead of DIR's; certificates in DIR that
                  it did not sign are issued again from it. With --nodes 0
                  and a new CADIR this makes a new CA (certificate rotation)
  --bundle FILE   add the CA certificate to the CA bundle FILE (made if
                  missing; the certificates already in it are kept), so
                  that tls.ca can trust the old and the new CA at once
  -h, --help      this text

Existing certificates are kept when they are still valid for the CA, match
their key, have the requested subject (role) and services and carry every
requested host name; others are replaced.
Private keys are written with mode 0600.
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

DIR=
NODES=
CLIENTS=
HOSTS=
FORCE=0
CA_DIR=
BUNDLE=

need_arg() {
    [ "$2" -ge 2 ] || usage_error "option $1 needs a value"
}

# CLIENTS holds one "NAME|ROLE|SERVICES" entry per --client, space
# separated; --role and --services change the last one.
add_client() {
    case "$1" in
    *:*) CLIENTS="$CLIENTS ${1%%:*}|${1#*:}|" ;;
    *) CLIENTS="$CLIENTS $1||" ;;
    esac
}
set_client_field() {
    [ -n "$CLIENTS" ] || usage_error "$1 must follow a --client"
    last=${CLIENTS##* }
    rest=${CLIENTS% *}
    lname=${last%%|*}
    lrole=${last#*|}
    lservices=${lrole#*|}
    lrole=${lrole%%|*}
    case "$1" in
    --role) lrole=$2 ;;
    *) lservices=$2 ;;
    esac
    CLIENTS="$rest $lname|$lrole|$lservices"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --dir)
        need_arg "$1" $#
        DIR=$2
        shift 2
        ;;
    --dir=*)
        DIR=${1#--dir=}
        shift
        ;;
    --nodes)
        need_arg "$1" $#
        NODES=$2
        shift 2
        ;;
    --nodes=*)
        NODES=${1#--nodes=}
        shift
        ;;
    --client)
        need_arg "$1" $#
        add_client "$2"
        shift 2
        ;;
    --client=*)
        add_client "${1#--client=}"
        shift
        ;;
    --role | --services)
        need_arg "$1" $#
        set_client_field "$1" "$2"
        shift 2
        ;;
    --role=* | --services=*)
        set_client_field "${1%%=*}" "${1#*=}"
        shift
        ;;
    --hosts)
        need_arg "$1" $#
        HOSTS=$2
        shift 2
        ;;
    --hosts=*)
        HOSTS=${1#--hosts=}
        shift
        ;;
    --force)
        FORCE=1
        shift
        ;;
    --ca-dir)
        need_arg "$1" $#
        CA_DIR=$2
        shift 2
        ;;
    --bundle)
        need_arg "$1" $#
        BUNDLE=$2
        shift 2
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

[ -n "$DIR" ] || usage_error "--dir is required"
[ -n "$NODES" ] || usage_error "--nodes is required"
case "$NODES" in
'' | *[!0-9]*) usage_error "--nodes must be a number, got '$NODES'" ;;
esac
# Strip leading zeros so that "03" names node3, not node03.
NODES=$(printf '%s' "$NODES" | sed 's/^0*//')
NODES=${NODES:-0}
if [ "$NODES" -gt 999 ]; then
    usage_error "--nodes must be 0..999, got $NODES"
fi
[ -n "$CLIENTS" ] || CLIENTS='admin|admin| responder|responder| sender|sender|'
for entry in $CLIENTS; do
    name=${entry%%|*}
    role=${entry#*|}
    services=${role#*|}
    role=${role%%|*}
    case "$name" in
    '' | .* | -* | *[!A-Za-z0-9._-]*)
        usage_error "invalid client name '$name' (letters, digits, '.', '_', '-'; not starting with '.' or '-')"
        ;;
    esac
    [ ${#name} -le 64 ] || usage_error "client name '$name' is longer than 64 bytes"
    case "$role" in
    '' | sender | responder | admin) ;;
    *) usage_error "client $name: invalid role '$role' (sender, responder or admin)" ;;
    esac
    if [ -n "$services" ]; then
        [ "$role" = sender ] ||
            usage_error "client $name: --services is for the sender role only (a responder or admin may use every service)"
        old_ifs=$IFS
        IFS=,
        # shellcheck disable=SC2086
        set -- $services
        [ $# -le 16 ] || usage_error "client $name: $# services, at most 16 (klaxond refuses more)"
        for svc in $services; do
            case "$svc" in
            '' | *[!A-Za-z0-9._-]*)
                usage_error "client $name: invalid service name '$svc' (letters, digits, '.', '_', '-')"
                ;;
            esac
            [ ${#svc} -le 128 ] || usage_error "client $name: service name '$svc' is longer than 128 bytes"
        done
        IFS=$old_ifs
    fi
done

command -v openssl >/dev/null 2>&1 ||
    die "openssl not found (install the 'openssl' package, or run deploy/install-deps.sh)"

# subjectAltName of node certificates: the loopback names, then --hosts.
is_ipv4() {
    printf '%s\n' "$1" |
        grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$' || return 1
    old_ifs=$IFS
    IFS=.
    # shellcheck disable=SC2086
    set -- $1
    IFS=$old_ifs
    for octet in "$@"; do
        [ "$octet" -le 255 ] || return 1
    done
    return 0
}

SAN="DNS:localhost,IP:127.0.0.1,IP:::1"
if [ -n "$HOSTS" ]; then
    old_ifs=$IFS
    IFS=,
    # shellcheck disable=SC2086
    set -- $HOSTS
    IFS=$old_ifs
    for h in "$@"; do
        h=$(printf '%s' "$h" | tr -d ' \t')
        [ -n "$h" ] || continue
        # Brackets are accepted around IPv6 addresses as in "[::1]:7001".
        case "$h" in
        \[*\]) h=${h#\[} h=${h%\]} ;;
        esac
        if is_ipv4 "$h"; then
            entry="IP:$h"
        else
            case "$h" in
            *:*)
                printf '%s\n' "$h" | grep -Eq '^[0-9A-Fa-f:.]+$' ||
                    usage_error "--hosts: '$h' is not a valid IPv6 address"
                entry="IP:$h"
                ;;
            *)
                printf '%s\n' "$h" |
                    grep -Eq '^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$' ||
                    usage_error "--hosts: '$h' is not a valid host name or IP address"
                entry="DNS:${h%.}"
                ;;
            esac
        fi
        case ",$SAN," in
        *",$entry,"*) ;;
        *) SAN="$SAN,$entry" ;;
        esac
    done
fi

if [ -e "$DIR" ] && [ ! -d "$DIR" ]; then
    die "$DIR exists and is not a directory"
fi
mkdir -p "$DIR" || die "cannot create directory $DIR"
[ -w "$DIR" ] || die "directory $DIR is not writable"

# Scratch space for openssl configs, CSRs and captured error output.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/klaxon-gen-certs.XXXXXX") ||
    die "cannot create a temporary directory"
trap 'rm -rf "$TMP"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# Run openssl quietly; on failure show what it said and stop.
ossl() {
    if ! openssl "$@" >"$TMP/out" 2>&1; then
        echo "$PROG: openssl $1 failed:" >&2
        sed 's/^/  /' "$TMP/out" >&2
        exit 1
    fi
}

# Own openssl config, so that the host's openssl.cnf defaults (extensions
# added to every certificate) do not leak in.
cat >"$TMP/openssl.cnf" <<EOF
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
[ ca_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ node_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

# new_key FILE: a P-256 private key (PKCS#8 PEM), mode 0600.
new_key() {
    (
        umask 077
        ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -out "$1"
    )
    chmod 600 "$1"
}

# Public key of a certificate or of a private key, for comparison.
cert_pub() {
    openssl x509 -in "$1" -noout -pubkey 2>/dev/null
}
key_pub() {
    openssl pkey -in "$1" -pubout 2>/dev/null
}

CA_DIR=${CA_DIR:-$DIR}
mkdir -p "$CA_DIR" || die "cannot create directory $CA_DIR"
CA=$CA_DIR/ca.pem
CA_KEY=$CA_DIR/ca-key.pem
created=0
kept=0

if [ "$FORCE" = 1 ]; then
    rm -f "$CA" "$CA_KEY"
fi

if [ -f "$CA" ]; then
    ossl x509 -in "$CA" -noout
    if ! openssl x509 -in "$CA" -noout -checkend 86400 >/dev/null 2>&1; then
        die "$CA expires within a day or has expired; rerun with --force to make a new PKI"
    fi
    if [ -f "$CA_KEY" ] &&
        [ "$(cert_pub "$CA")" != "$(key_pub "$CA_KEY")" ]; then
        die "$CA_KEY does not match $CA; rerun with --force to make a new PKI"
    fi
    echo "kept    $CA ($(openssl x509 -in "$CA" -noout -subject -nameopt oneline,-space_eq | sed 's/^subject=//'))"
    kept=$((kept + 1))
else
    [ ! -e "$CA_KEY" ] ||
        die "$CA_KEY exists without $CA; remove it or rerun with --force"
    suffix=$(openssl rand -hex 4)
    new_key "$TMP/ca-key.pem"
    ossl req -new -x509 -config "$TMP/openssl.cnf" -extensions ca_ext \
        -key "$TMP/ca-key.pem" -sha256 -days "$CA_DAYS" \
        -set_serial "0x$(openssl rand -hex 16)" \
        -subj "/O=klaxon/CN=klaxon dev CA $suffix" -out "$TMP/ca.pem"
    mv "$TMP/ca-key.pem" "$CA_KEY"
    mv "$TMP/ca.pem" "$CA"
    echo "created $CA (CN=klaxon dev CA $suffix, $CA_DAYS days)"
    echo "created $CA_KEY"
    created=$((created + 2))
fi

# The CA joins the bundle unless it is in it already (same PEM text).
if [ -n "$BUNDLE" ]; then
    first=$(sed -n 2p "$CA")
    if [ -f "$BUNDLE" ] && grep -qxF -- "$first" "$BUNDLE"; then
        echo "kept    $BUNDLE (holds $CA)"
    else
        { [ ! -f "$BUNDLE" ] || cat "$BUNDLE"; } >"$TMP/bundle.pem"
        cat "$CA" >>"$TMP/bundle.pem"
        mv "$TMP/bundle.pem" "$BUNDLE"
        echo "created $BUNDLE ($(grep -c 'BEGIN CERTIFICATE' "$BUNDLE") CA certificate(s))"
        created=$((created + 1))
    fi
fi

# The subject of a certificate, as /O=.../OU=.../CN=...
cert_subject() {
    openssl x509 -in "$1" -noout -subject -nameopt compat 2>/dev/null |
        sed 's/^subject=//'
}

# The klaxon service URIs of a certificate, sorted, comma-separated.
cert_services() {
    openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
        tail -n +2 | tr -d ' ' | tr ',' '\n' |
        sed -n 's/^URI:urn:klaxon:service://p' | sort | paste -sd, -
}

# reason_to_replace CERT KEY EXT SUBJECT [SERVICES]: prints why an
# existing certificate can not be kept, or nothing when it is fine.
reason_to_replace() {
    if [ ! -f "$1" ] || [ ! -f "$2" ]; then
        echo "missing"
        return
    fi
    if ! openssl verify -CAfile "$CA" -purpose sslclient "$1" \
        >/dev/null 2>&1; then
        echo "not valid for the current CA"
        return
    fi
    if ! openssl x509 -in "$1" -noout -checkend 604800 >/dev/null 2>&1; then
        echo "expires within a week"
        return
    fi
    if [ "$(cert_pub "$1")" != "$(key_pub "$2")" ]; then
        echo "does not match its key"
        return
    fi
    if [ "$(cert_subject "$1")" != "$4" ]; then
        echo "has another subject"
        return
    fi
    if [ "$(cert_services "$1")" != "$(printf '%s' "${5:-}" | tr ',' '\n' |
        sort | paste -sd, -)" ]; then
        echo "lists other services"
        return
    fi
    if [ "$3" = node_ext ]; then
        # openssl prints "DNS:name, IP Address:1.2.3.4"; IPv6 addresses come
        # out expanded, so only DNS names and IPv4 addresses are compared.
        have=$(openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
            tail -n +2 | tr -d ' ' | sed 's/IPAddress:/IP:/g' |
            tr '[:upper:]' '[:lower:]')
        want=$(printf '%s' "$NODE_SAN" | tr '[:upper:]' '[:lower:]')
        old_ifs=$IFS
        IFS=,
        for entry in $want; do
            case "$entry" in
            ip:*:*) continue ;;
            esac
            case ",$have," in
            *",$entry,"*) ;;
            *)
                IFS=$old_ifs
                echo "lacks subjectAltName $entry"
                return
                ;;
            esac
        done
        IFS=$old_ifs
    fi
}

# issue BASENAME SUBJECT EXT [SERVICES]: the certificate DIR/BASENAME.pem
# and its key DIR/BASENAME-key.pem, signed by the CA; SERVICES (comma-
# separated) become subjectAltName URIs urn:klaxon:service:<name>.
issue() {
    cert=$DIR/$1.pem
    key=$DIR/$1-key.pem
    why=$(reason_to_replace "$cert" "$key" "$3" "$2" "${4:-}")
    if [ -z "$why" ]; then
        echo "kept    $cert"
        kept=$((kept + 1))
        return
    fi
    [ -f "$CA_KEY" ] ||
        die "$CA_KEY is missing, cannot sign $cert ($why); rerun with --force to make a new PKI"
    ext=$3
    if [ "$ext" = node_ext ]; then
        ext=node_id_ext
        {
            cat "$TMP/openssl.cnf"
            echo "[ node_id_ext ]"
            sed -n '/^\[ node_ext \]/,/^\[/{/^\[/d;/^subjectAltName/d;p;}' \
                "$TMP/openssl.cnf"
            printf 'subjectAltName = %s\n' "$NODE_SAN"
        } >"$TMP/ext.cnf"
    elif [ -n "${4:-}" ]; then
        ext=services_ext
        {
            cat "$TMP/openssl.cnf"
            echo "[ services_ext ]"
            sed -n '/^\[ client_ext \]/,/^\[/{/^\[/d;p;}' "$TMP/openssl.cnf"
            printf 'subjectAltName = %s\n' "$(printf '%s' "$4" |
                sed 's/^/URI:urn:klaxon:service:/; s/,/,URI:urn:klaxon:service:/g')"
        } >"$TMP/ext.cnf"
    fi
    new_key "$TMP/key.pem"
    ossl req -new -config "$TMP/openssl.cnf" -key "$TMP/key.pem" \
        -subj "$2" -out "$TMP/req.csr"
    ossl x509 -req -in "$TMP/req.csr" -CA "$CA" -CAkey "$CA_KEY" \
        -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$LEAF_DAYS" \
        -extfile "$([ "$ext" = "$3" ] && echo "$TMP/openssl.cnf" || echo "$TMP/ext.cnf")" \
        -extensions "$ext" -out "$TMP/cert.pem"
    mv "$TMP/key.pem" "$key"
    mv "$TMP/cert.pem" "$cert"
    if [ "$why" = missing ]; then
        echo "created $cert ($2)"
    else
        echo "created $cert ($2; the old one $why)"
    fi
    echo "created $key"
    created=$((created + 2))
}

i=1
while [ "$i" -le "$NODES" ]; do
    # The node id in the subjectAltName too (klaxond reads it from the CN).
    NODE_SAN="$SAN,URI:urn:klaxon:node:$i"
    issue "node$i" "/O=klaxon/OU=node/CN=node-$i" node_ext
    i=$((i + 1))
done
for entry in $CLIENTS; do
    name=${entry%%|*}
    role=${entry#*|}
    services=${role#*|}
    role=${role%%|*}
    issue "client-$name" "/O=klaxon/OU=${role:-admin}/CN=$name" client_ext \
        "$services"
done

echo "$PROG: $created file(s) created, $kept kept in $DIR"
