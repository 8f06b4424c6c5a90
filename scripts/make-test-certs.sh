#!/usr/bin/env bash
# Generate the TLS material the tests need, with openssl, into a directory ($1, default
# __test__/.certs, git-ignored). Nothing here is committed: every certificate is made at test
# time and is valid for 30 days (except the deliberately expired one).
#
#   ca.pem, ca-key.pem                 test CA
#   other-ca.pem, other-ca-key.pem     a second, unrelated CA
#   server.pem, server-key.pem         localhost, SANs DNS:localhost, IP:127.0.0.1 (signed by ca)
#   expired.pem, expired-key.pem       localhost/127.0.0.1, valid 2020-01-01 .. 2021-01-01 (signed by ca)
#   wrong-name.pem, wrong-name-key.pem other.example only (signed by ca)
#   client.pem, client-key.pem         client certificate (CN glion-test-client) and its PKCS#8 key
#   client-key-rsa.pem                 the same key as PKCS#1 ("BEGIN RSA PRIVATE KEY")
#   client-ec.pem, client-ec-key.pem   EC P-256 client certificate, key in SEC1 ("BEGIN EC PRIVATE KEY")
#   client-key-enc.pem                 client-key.pem as encrypted PKCS#8 (PBES2, aes-256-cbc, passphrase s3cret)
#
# Idempotent: when every file exists and the set is younger than a day, it does nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../__test__/.certs}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

files=(ca.pem ca-key.pem other-ca.pem server.pem server-key.pem expired.pem expired-key.pem
  wrong-name.pem wrong-name-key.pem client.pem client-key.pem client-key-rsa.pem
  client-ec.pem client-ec-key.pem client-key-enc.pem)

fresh=1
for f in "${files[@]}"; do
  # -mmin -1440: modified less than a day ago. Certificates live 30 days, so a day-old set
  # still has plenty left.
  if [ ! -s "$out/$f" ] || [ -z "$(find "$out/$f" -mmin -1440 2>/dev/null)" ]; then
    fresh=0
    break
  fi
done
if [ "$fresh" = 1 ]; then
  exit 0
fi

# Build in a scratch directory and move the files in at the end, so a concurrent run never
# reads a half-written set.
work="$(mktemp -d "$out/.tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

DAYS=30
export OPENSSL_CONF=/dev/null # ignore any system openssl.cnf defaults

cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[wrong_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# A self-signed CA: name, key file, cert file.
make_ca() {
  rsa_key "$2"
  openssl req -new -key "$2" -subj "/CN=$1" -out "$3.csr"
  openssl x509 -req -in "$3.csr" -signkey "$2" -days "$DAYS" -sha256 \
    -extfile ext.cnf -extensions ca -set_serial "0x$(openssl rand -hex 8)" -out "$3" 2>/dev/null
}

# A leaf signed by ca.pem: CN, ext section, key file (must exist), cert file.
sign_leaf() {
  openssl req -new -key "$3" -subj "/CN=$1" -out "$4.csr"
  openssl x509 -req -in "$4.csr" -CA ca.pem -CAkey ca-key.pem -days "$DAYS" -sha256 \
    -extfile ext.cnf -extensions "$2" -set_serial "0x$(openssl rand -hex 8)" -out "$4" 2>/dev/null
}

make_ca "glion test CA" ca-key.pem ca.pem
make_ca "glion other CA" other-ca-key.pem other-ca.pem

rsa_key server-key.pem
sign_leaf localhost server server-key.pem server.pem

rsa_key wrong-name-key.pem
sign_leaf other.example wrong_name wrong-name-key.pem wrong-name.pem

# Expired: validity entirely in the past. `openssl x509 -req -not_before/-not_after` exists
# only in newer openssl (3.4+); otherwise `openssl ca` with -startdate/-enddate.
rsa_key expired-key.pem
openssl req -new -key expired-key.pem -subj "/CN=localhost" -out expired.csr
if openssl x509 -help 2>&1 | grep -q -- '-not_before'; then
  openssl x509 -req -in expired.csr -CA ca.pem -CAkey ca-key.pem -sha256 \
    -not_before 20200101000000Z -not_after 20210101000000Z \
    -extfile ext.cnf -extensions server -set_serial "0x$(openssl rand -hex 8)" -out expired.pem 2>/dev/null
else
  mkdir -p ca-db
  : >ca-db/index.txt
  openssl rand -hex 8 >ca-db/serial
  cat >ca.cnf <<EOF
[ca]
default_ca = test_ca
[test_ca]
dir = $work/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[any]
commonName = supplied
EOF
  cat ext.cnf >>ca.cnf
  openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca-key.pem \
    -startdate 20200101000000Z -enddate 20210101000000Z -extensions server \
    -in expired.csr -out expired.pem 2>/dev/null
fi

# Client identity: PKCS#8 RSA key (genpkey's default output), the same key as PKCS#1, an EC
# key in SEC1, and the PKCS#8 key encrypted with PBES2/aes-256-cbc.
rsa_key client-key.pem
sign_leaf glion-test-client client client-key.pem client.pem
openssl rsa -in client-key.pem -traditional -out client-key-rsa.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out client-ec-key.pem
sign_leaf glion-test-client-ec client client-ec-key.pem client-ec.pem
openssl pkcs8 -topk8 -in client-key.pem -v2 aes-256-cbc -passout pass:s3cret -out client-key-enc.pem

# Sanity: the shapes the tests rely on.
grep -q -- '-----BEGIN PRIVATE KEY-----' client-key.pem
grep -q -- '-----BEGIN RSA PRIVATE KEY-----' client-key-rsa.pem
grep -q -- '-----BEGIN EC PRIVATE KEY-----' client-ec-key.pem
grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' client-key-enc.pem
openssl verify -CAfile ca.pem server.pem client.pem client-ec.pem wrong-name.pem >/dev/null

for f in "${files[@]}" other-ca-key.pem; do
  mv -f "$f" "$out/$f"
done
