#!/usr/bin/env bash
# Creates the cluster's TLS credentials with nothing but the JDK (keytool and a single-file Java
# program for the key export), so it works wherever the server builds.
#
#   scripts/make-certs.sh DIR NODES
#
# NODES is a count (3: nodes 1, 2, 3) or a comma list of node ids (1,2,5). In DIR it makes, each
# only if missing (so a second run adds nodes and keeps everything else):
#   ca.pem                   the cluster's own CA certificate (give it to --peer-tls-ca and to clients' --tls-ca)
#   ca.p12, ca.pass          the CA's key (PKCS#12) and its password; keep them private, nothing reads them at run time
#   node-N.pem, node-N.key   node N's peer certificate (subject CN=node-N, SAN DNS node-N.<cluster>,
#                            usable as TLS server and client) and its PKCS#8 key: --peer-tls-cert/--peer-tls-key
#   server.pem, server.key   the client-facing certificate every node may share: --tls-cert/--tls-key,
#                            SANs localhost, 127.0.0.1 and each name in $SERVER_NAMES
#
# Environment: CLUSTER (default messenger) names the cluster in the CA and the peer SANs;
# SERVER_NAMES, a comma list of extra DNS names for server.pem (the compose service names for
# deploy: node1,node2,node3); VALIDITY_DAYS (default 825). Keys are EC P-256, files of keys mode 600.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 DIR NODES   (NODES: a count such as 3, or node ids such as 1,2,5)" >&2
    exit 2
fi
DIR=$1
NODES=$2
CLUSTER=${CLUSTER:-messenger}
SERVER_NAMES=${SERVER_NAMES:-}
VALIDITY_DAYS=${VALIDITY_DAYS:-825}
HERE=$(cd "$(dirname "$0")" && pwd)
KEYTOOL=(${JAVA_HOME:+$JAVA_HOME/bin/}keytool -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-Xshare:auto)
JAVA=(${JAVA_HOME:+$JAVA_HOME/bin/}java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)

if [[ $NODES =~ ^[0-9]+$ ]]; then
    ids=$(seq 1 "$NODES")
elif [[ $NODES =~ ^[0-9]+(,[0-9]+)*$ ]]; then
    ids=${NODES//,/ }
else
    echo "make-certs: NODES must be a count or a comma list of node ids, got '$NODES'" >&2
    exit 2
fi

mkdir -p "$DIR"
umask 077
work=$(mktemp -d "$DIR/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ ! -s $DIR/ca.p12 || ! -s $DIR/ca.pass || ! -s $DIR/ca.pem ]]; then
    rm -f "$DIR/ca.p12" "$DIR/ca.pem"
    head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$DIR/ca.pass"
    "${KEYTOOL[@]}" -genkeypair -alias ca -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
        -dname "CN=$CLUSTER cluster CA" -ext bc:c=ca:true,pathlen:0 -ext ku:c=keyCertSign,cRLSign \
        -validity 3650 -keystore "$DIR/ca.p12" -storetype PKCS12 -storepass:file "$DIR/ca.pass" 2>/dev/null
    "${KEYTOOL[@]}" -exportcert -rfc -alias ca -keystore "$DIR/ca.p12" -storepass:file "$DIR/ca.pass" \
        -file "$DIR/ca.pem" 2>/dev/null
    chmod 644 "$DIR/ca.pem"
    echo "make-certs: created the CA $DIR/ca.pem"
fi

leafpass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
exports=()

# issue NAME CN SAN EKU: a key pair in $work/NAME.p12 and NAME.pem signed by the CA.
issue() {
    local name=$1 cn=$2 san=$3 eku=$4
    "${KEYTOOL[@]}" -genkeypair -alias leaf -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -dname "CN=$cn" \
        -validity "$VALIDITY_DAYS" -keystore "$work/$name.p12" -storetype PKCS12 -storepass "$leafpass" 2>/dev/null
    "${KEYTOOL[@]}" -certreq -alias leaf -keystore "$work/$name.p12" -storepass "$leafpass" 2>/dev/null \
        | "${KEYTOOL[@]}" -gencert -alias ca -keystore "$DIR/ca.p12" -storepass:file "$DIR/ca.pass" -rfc \
            -validity "$VALIDITY_DAYS" -sigalg SHA256withECDSA -ext ku:c=digitalSignature -ext "eku=$eku" \
            -ext "san=$san" -outfile "$DIR/$name.pem" 2>/dev/null
    chmod 644 "$DIR/$name.pem"
    exports+=("$work/$name.p12" "$DIR/$name.key")
    echo "make-certs: created $DIR/$name.pem ($cn, $san)"
}

for id in $ids; do
    [[ -s $DIR/node-$id.pem && -s $DIR/node-$id.key ]] && continue
    issue "node-$id" "node-$id" "dns:node-$id.$CLUSTER" "serverAuth,clientAuth"
done
if [[ ! -s $DIR/server.pem || ! -s $DIR/server.key ]]; then
    san="dns:localhost,ip:127.0.0.1"
    for name in ${SERVER_NAMES//,/ }; do
        san+=",dns:$name"
    done
    issue server "$CLUSTER" "$san" "serverAuth"
fi
if ((${#exports[@]})); then
    "${JAVA[@]}" "$HERE/PemKey.java" "$leafpass" leaf "${exports[@]}"
fi
