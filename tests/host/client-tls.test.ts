/**
 * MQTT over TLS (`mqtts://`) against a Mosquitto TLS listener whose certificates the test
 * makes with openssl (support/certificates.ts): QoS 0/1/2 both ways, interop with a TCP
 * subscriber, a client certificate, the certificate failures with their codes (a CA that
 * did not sign the broker's certificate, a host name it is not for), TLS options refused
 * with a URL that is not TLS, and the CLI's --cafile / --insecure.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { connect } from "../../host/index.ts";
import { type Broker, startMosquitto } from "../../host/mosquitto.ts";
import { exited, spawnTracked } from "../../host/processes.ts";
import { type Certificates, makeCertificates } from "./support/certificates.ts";
import { openClient, rejection, text, uniqueId, uniqueTopic } from "./support/client-helpers.ts";
import { mosquittoSubStart } from "./support/mosquitto-clients.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let certs: Certificates;
let broker: Broker;
let ca: Buffer;
before(async () => {
  certs = makeCertificates();
  ca = readFileSync(certs.ca);
  broker = await startMosquitto({ websockets: false, tls: { certfile: certs.serverCert, keyfile: certs.serverKey } });
});
after(() => broker?.stop());

for (const qos of [0, 1, 2] as const) {
  test(`QoS ${qos} over mqtts://: publish and subscribe, both clients on TLS`, async (t) => {
    const topic = uniqueTopic(`tls/q${qos}`);
    const { client: subscriber, rec } = await openClient(t, broker.tlsUrl!, { clientId: uniqueId("tls-sub"), ca });
    const [granted] = await subscriber.subscribe(topic, { qos });
    assert.equal(granted.qos, qos);
    const { client: publisher } = await openClient(t, broker.tlsUrl!, { clientId: uniqueId("tls-pub"), ca });
    await publisher.publish(topic, `over TLS at QoS ${qos}`, { qos });
    const [message] = await rec.waitForMessages(1);
    assert.equal(message.topic, topic);
    assert.equal(text(message.payload), `over TLS at QoS ${qos}`);
    assert.equal(message.meta.qos, qos);
  });
}

test("a TLS publisher reaches mosquitto_sub on the TCP listener, byte-exact", async (t) => {
  const topic = uniqueTopic("tls/to-tcp");
  const sub = mosquittoSubStart(broker, ["-t", topic, "-q", "1", "-N"], { count: 1, timeoutMs: 4000 });
  await sub.ready;
  const { client } = await openClient(t, broker.tlsUrl!, { clientId: uniqueId("tls-pub"), ca });
  await client.publish(topic, "from mqtts", { qos: 1 });
  assert.equal(text((await sub.done).stdout), "from mqtts");
});

test("mqtts://localhost: the certificate's DNS name verifies too", async (t) => {
  const { client } = await openClient(t, `mqtts://localhost:${broker.tlsPort}`, { clientId: uniqueId("tls-dns"), ca });
  assert.equal(client.connected, true);
});

test("a CA that did not sign the broker's certificate is TLS_CERT_INVALID, naming the chain", async () => {
  const error = await rejection(
    connect(broker.tlsUrl!, { clientId: uniqueId("tls-wrong-ca"), ca: readFileSync(certs.otherCa), reconnect: false }),
    "connect with the wrong CA",
  );
  assert.equal(error.code, "TLS_CERT_INVALID", `${error.code}: ${error.message}`);
  assert.match(error.message, /certificate chain is not trusted/);
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${broker.tlsPort}`));
});

test("no CA at all (the system's store) is TLS_CERT_INVALID too", async () => {
  const error = await rejection(connect(broker.tlsUrl!, { clientId: uniqueId("tls-no-ca"), reconnect: false }), "connect without a CA");
  assert.equal(error.code, "TLS_CERT_INVALID", `${error.code}: ${error.message}`);
});

test("a host name the certificate is not for is TLS_HOSTNAME_MISMATCH, naming it", async () => {
  const error = await rejection(
    connect(broker.tlsUrl!, { clientId: uniqueId("tls-name"), ca, servername: "wrong.example", reconnect: false }),
    "connect as wrong.example",
  );
  assert.equal(error.code, "TLS_HOSTNAME_MISMATCH", `${error.code}: ${error.message}`);
  assert.match(error.message, /wrong\.example/);
});

test("rejectUnauthorized: false connects despite the unknown CA", async (t) => {
  const { client } = await openClient(t, broker.tlsUrl!, { clientId: uniqueId("tls-unchecked"), rejectUnauthorized: false });
  assert.equal(client.connected, true);
});

test("TLS on a port without TLS is TLS_HANDSHAKE_FAILED", async () => {
  const error = await rejection(
    connect(`mqtts://127.0.0.1:${broker.port}`, { clientId: uniqueId("tls-plain"), ca, reconnect: false }),
    "TLS to the plain listener",
  );
  assert.equal(error.code, "TLS_HANDSHAKE_FAILED", `${error.code}: ${error.message}`);
  assert.match(error.message, /is 127\.0\.0\.1:\d+ a TLS port\?/);
});

test("mqtts:// to a port nobody listens on is CONNECTION_REFUSED, to a name that does not resolve HOST_NOT_FOUND (not TLS failures)", async () => {
  const refused = await rejection(connect("mqtts://127.0.0.1:1", { ca, reconnect: false }), "mqtts to port 1");
  assert.equal(refused.code, "CONNECTION_REFUSED", `${refused.code}: ${refused.message}`);
  const unresolved = await rejection(connect("mqtts://broker.invalid", { ca, reconnect: false }), "mqtts to .invalid");
  assert.equal(unresolved.code, "HOST_NOT_FOUND", `${unresolved.code}: ${unresolved.message}`);
});

test("ssl:// is mqtts://", async (t) => {
  const { client } = await openClient(t, `ssl://127.0.0.1:${broker.tlsPort}`, { clientId: uniqueId("tls-ssl"), ca });
  assert.equal(client.connected, true);
});

test("a TLS option with mqtt:// is INVALID_ARGUMENT naming the option", async () => {
  const error = await rejection(connect(broker.url, { ca }), "ca with mqtt://");
  assert.equal(error.code, "INVALID_ARGUMENT");
  assert.match(error.message, /^ca is a TLS option, but mqtt:\/\/ is not TLS/);
  const typed = await rejection(connect(broker.tlsUrl!, { rejectUnauthorized: "no" as unknown as boolean }), "rejectUnauthorized a string");
  assert.match(typed.message, /rejectUnauthorized must be true or false \(got "no"\)/);
});

test("a broker that requires a client certificate accepts cert and key", async (t) => {
  const strict = await startMosquitto({
    websockets: false,
    tls: { certfile: certs.serverCert, keyfile: certs.serverKey, cafile: certs.ca, requireCertificate: true },
  });
  t.after(() => strict.stop());
  const { client } = await openClient(t, strict.tlsUrl!, {
    clientId: uniqueId("tls-cert"),
    ca,
    cert: readFileSync(certs.clientCert),
    key: readFileSync(certs.clientKey),
  });
  assert.equal(client.connected, true);
});

/** Runs `wasmqtt <args>` from source; resolves with its exit status and output. */
async function runCli(args: string[]): Promise<{ code: number | string; stderr: string }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", path.join(ROOT, "host", "cli.ts"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: Buffer[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const code = await exited(child);
  clearTimeout(timer);
  return { code, stderr: Buffer.concat(stderr).toString("utf8") };
}

test("CLI: pub --cafile -p <tls port> reaches mosquitto_sub; the wrong CA exits 1 naming TLS_CERT_INVALID; --insecure skips the name check", async () => {
  const topic = uniqueTopic("tls/cli");
  const sub = mosquittoSubStart(broker, ["-t", topic, "-N"], { count: 1, timeoutMs: 20_000 });
  await sub.ready;
  const ok = await runCli(["pub", "--cafile", certs.ca, "-h", "127.0.0.1", "-p", String(broker.tlsPort), "-t", topic, "-m", "cli over TLS"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(text((await sub.done).stdout), "cli over TLS");
  const wrong = await runCli(["pub", "--cafile", certs.otherCa, "-h", "127.0.0.1", "-p", String(broker.tlsPort), "-t", topic, "-m", "x"]);
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /TLS_CERT_INVALID/);
  // a broker whose certificate is for elsewhere.example: refused, then accepted with --insecure
  const elsewhere = await startMosquitto({ websockets: false, tls: { certfile: certs.elsewhereCert, keyfile: certs.elsewhereKey } });
  try {
    const to = ["--cafile", certs.ca, "-h", "127.0.0.1", "-p", String(elsewhere.tlsPort), "-t", topic, "-m", "x"];
    const mismatch = await runCli(["pub", ...to]);
    assert.equal(mismatch.code, 1, mismatch.stderr);
    assert.match(mismatch.stderr, /TLS_HOSTNAME_MISMATCH/);
    const insecure = await runCli(["pub", "--insecure", ...to]);
    assert.equal(insecure.code, 0, insecure.stderr);
  } finally {
    await elsewhere.stop();
  }
  const missing = await runCli(["pub", "--cafile", path.join(certs.dir, "absent.crt"), "-t", topic, "-m", "x"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read --cafile '.*absent\.crt'/);
});
