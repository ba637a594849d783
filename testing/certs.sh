# Test certificates made with Debian's openssl, valid for two days; sourced by
# tests/access/tls_test.sh and tests/qemu/e2e.sh. Files go to $CERT_DIR
# (default: the current directory) as NAME.key and NAME.crt.
#   ca NAME              a self-signed CA whose subject CN is NAME
#   cert NAME CA [SAN]   a key and a certificate (CN NAME) signed by CA, with
#                        subjectAltName SAN when given ("DNS:x,IP:127.0.0.1")
ca() {
  local d=${CERT_DIR:-.}
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$d/$1.key" -out "$d/$1.crt" 2>/dev/null
}
cert() {
  local d=${CERT_DIR:-.}
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
  openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" -CAcreateserial -days 2 \
    ${3:+-extfile <(printf "subjectAltName=%s" "$3")} -out "$d/$1.crt" 2>/dev/null
}
