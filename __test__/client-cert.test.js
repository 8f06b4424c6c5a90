"use strict";
// Client certificates: the client does not judge its own certificate, the server does. An
// X.509 version 1 client certificate (what `openssl x509 -req` makes without extensions, and
// what many hospital PKIs still issue) is accepted at construction and presented; a key that
// is not the certificate's pair is INVALID_INPUT naming that. Mutual TLS against a node:tls
// server that requires and verifies client certificates, on 127.0.0.1.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const tls = require("node:tls");

const { MllpClient } = require("../index.cjs");
const { frame, ackFor, onEachMessage, transportError, sample } = require("./helpers.js");

const CERT_DIR = path.join(__dirname, ".certs");
execFileSync("bash", [path.join(__dirname, "..", "scripts", "make-test-certs.sh"), CERT_DIR], { stdio: "inherit" });
const read = (name) => fs.readFileSync(path.join(CERT_DIR, name), "utf8");

// Made here, with the shared test CA: a v1 RSA client certificate (no extensions), a v1 EC
// one, and an unrelated key.
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "glion-v1-"));
const openssl = (...args) => execFileSync("openssl", args, { cwd: WORK, env: { ...process.env, OPENSSL_CONF: "/dev/null" }, stdio: ["ignore", "pipe", "pipe"] });
function v1Certificate(name, keyArgs) {
  openssl(...keyArgs, "-out", `${name}-key.pem`);
  openssl("req", "-new", "-key", `${name}-key.pem`, "-subj", `/CN=${name}`, "-out", `${name}.csr`);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", path.join(CERT_DIR, "ca.pem"), "-CAkey", path.join(CERT_DIR, "ca-key.pem"), "-CAcreateserial", "-days", "2", "-out", `${name}.pem`);
  return { cert: fs.readFileSync(path.join(WORK, `${name}.pem`), "utf8"), key: fs.readFileSync(path.join(WORK, `${name}-key.pem`), "utf8") };
}
const V1_RSA = v1Certificate("v1-rsa-client", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
const V1_EC = v1Certificate("v1-ec-client", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
process.on("exit", () => fs.rmSync(WORK, { recursive: true, force: true }));

const MESSAGE = sample("adt-a01").replace(/\r?\n/g, "\r");

/** A node:tls MLLP server that requires a client certificate chaining to the test CA. */
async function mtlsServer(extra = {}) {
  const peers = [];
  const server = tls.createServer(
    { cert: read("server.pem"), key: read("server-key.pem"), ca: read("ca.pem"), requestCert: true, rejectUnauthorized: true, ...extra },
    (socket) => {
      peers.push(socket.getPeerCertificate());
      socket.on("error", () => {});
      onEachMessage(socket, (text) => socket.write(frame(ackFor(text))));
    },
  );
  server.on("tlsClientError", () => {});
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: server.address().port, peers, close: () => new Promise((resolve) => server.close(resolve)) };
}

test("the test makes real X.509 v1 certificates (no extensions)", () => {
  for (const { cert } of [V1_RSA, V1_EC]) {
    const x509 = new (require("node:crypto").X509Certificate)(cert);
    assert.equal(x509.toLegacyObject().ext, undefined, "no extensions");
    const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: cert }).toString();
    assert.match(text, /Version: 1 \(0x0\)/);
  }
});

for (const [label, identity] of [["RSA", V1_RSA], ["EC P-256", V1_EC]]) {
  test(`an X.509 v1 ${label} client certificate is accepted at construction and the server takes it (mutual TLS)`, async () => {
    const server = await mtlsServer();
    try {
      const client = new MllpClient({ host: "127.0.0.1", port: server.port, tls: { ca: read("ca.pem"), cert: identity.cert, key: identity.key }, ackTimeout: 5000 });
      const ack = await client.send(MESSAGE);
      assert.equal(ack.code, "AA");
      assert.equal(server.peers.length, 1);
      assert.match(server.peers[0].subject.CN, /^v1-(rsa|ec)-client$/);
    } finally {
      await server.close();
    }
  });
}

test("the server still decides: a v1 certificate from another CA is refused by the server (TLS_ERROR), not by the client", async () => {
  // TLS 1.2: node:tls refuses with an alert there (under 1.3 it closes without one, see
  // tls.test.js), so the client can tell the refusal from a bare close.
  const server = await mtlsServer({ maxVersion: "TLSv1.2" });
  try {
    // a self-signed v1 certificate: constructible, refused by the server's verification
    openssl("req", "-new", "-key", "v1-rsa-client-key.pem", "-subj", "/CN=self-signed", "-out", "self.csr");
    openssl("x509", "-req", "-in", "self.csr", "-signkey", "v1-rsa-client-key.pem", "-days", "2", "-out", "self.pem");
    const cert = fs.readFileSync(path.join(WORK, "self.pem"), "utf8");
    const client = new MllpClient({ host: "127.0.0.1", port: server.port, tls: { ca: read("ca.pem"), cert, key: V1_RSA.key }, ackTimeout: 5000 });
    await assert.rejects(client.send(MESSAGE), transportError("TLS_ERROR", false));
    assert.equal(server.peers.length, 0, "the server never took the connection");
  } finally {
    await server.close();
  }
});

test("a key that is not the certificate's pair is INVALID_INPUT at construction, naming what is wrong", () => {
  const cases = [
    [V1_RSA.cert, read("client-key.pem"), /tls\.key is not the private key of tls\.cert: the certificate's public key \(RSA\) does not match the key \(RSA\)/],
    [V1_RSA.cert, V1_EC.key, /tls\.key is not the private key of tls\.cert: the certificate's public key \(RSA\) does not match the key \(EC\)/],
    [read("client.pem"), V1_EC.key, /tls\.key is not the private key of tls\.cert: the certificate's public key \(RSA\) does not match the key \(EC\)/],
    [read("client-ec.pem"), V1_EC.key, /tls\.key is not the private key of tls\.cert: the certificate's public key \(EC\) does not match the key \(EC\)/],
  ];
  for (const [cert, key, message] of cases) {
    assert.throws(
      () => new MllpClient({ host: "127.0.0.1", port: 2575, tls: { ca: read("ca.pem"), cert, key } }),
      (error) => transportError("INVALID_INPUT", false)(error) && message.test(error.message),
    );
  }
  // a certificate that is PEM but not X.509 inside
  const garbage = `-----BEGIN CERTIFICATE-----\n${Buffer.from("not a certificate").toString("base64")}\n-----END CERTIFICATE-----\n`;
  assert.throws(
    () => new MllpClient({ host: "127.0.0.1", port: 2575, tls: { cert: garbage, key: V1_RSA.key } }),
    (error) => transportError("INVALID_INPUT", false)(error) && /tls\.cert: its first certificate is not a readable X\.509 certificate/.test(error.message),
  );
});
