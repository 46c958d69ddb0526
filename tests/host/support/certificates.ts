/**
 * Test certificates made with `openssl` in a fresh temp dir: a CA, a server certificate it
 * signs for localhost and 127.0.0.1 (subjectAltName), one it signs for another name only
 * (elsewhere.example), a client certificate it signs, and a second CA that signed none of
 * them (the "wrong CA"). EC P-256 keys, valid for two days.
 *
 * @example
 * const certs = makeCertificates();
 * const broker = await startMosquitto({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey } });
 * const client = await connect(broker.tlsUrl!, { ca: readFileSync(certs.ca) });
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { findExecutable, trackTempDir } from "../../../host/processes.ts";

/** The paths of the PEM files. */
export interface Certificates {
  dir: string;
  /** The CA that signed the server and client certificates. */
  ca: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  serverCert: string;
  serverKey: string;
  /** Signed by `ca` for elsewhere.example only. */
  elsewhereCert: string;
  elsewhereKey: string;
  clientCert: string;
  clientKey: string;
}

/** Creates the certificates (deleted with the process's other temp dirs). */
export function makeCertificates(): Certificates {
  const openssl = findExecutable("openssl", ["/usr/bin"], "install openssl (Debian/Ubuntu: apt-get install openssl)");
  const dir = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-certs-"));
  trackTempDir(dir);
  const file = (name: string) => path.join(dir, name);
  const run = (...args: string[]) => execFileSync(openssl, args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const [name, subject] of [["ca", "wasmqtt test CA"], ["other-ca", "wasmqtt other CA"]]) {
    run("req", "-x509", ...ec, "-keyout", file(`${name}.key`), "-out", file(`${name}.crt`), "-days", "2", "-subj", `/CN=${subject}`);
  }
  writeFileSync(file("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  writeFileSync(file("elsewhere.ext"), "subjectAltName=DNS:elsewhere.example\n");
  writeFileSync(file("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const name of ["server", "elsewhere", "client"]) {
    run("req", ...ec, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=wasmqtt test ${name}`);
    run("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial",
      "-out", file(`${name}.crt`), "-days", "2", "-extfile", file(`${name}.ext`));
  }
  return {
    dir,
    ca: file("ca.crt"),
    otherCa: file("other-ca.crt"),
    serverCert: file("server.crt"),
    serverKey: file("server.key"),
    elsewhereCert: file("elsewhere.crt"),
    elsewhereKey: file("elsewhere.key"),
    clientCert: file("client.crt"),
    clientKey: file("client.key"),
  };
}
