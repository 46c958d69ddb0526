/**
 * What a TLS failure means, from the code node:tls (OpenSSL) puts on the error: the host
 * error code of host/status.ts and a sentence naming what failed. Pure (no node:tls), so
 * the browser build can carry it; a browser's WebSocket reports no such detail.
 *
 * @example
 * tlsFailure(error); // { code: "TLS_HOSTNAME_MISMATCH", message: "the broker's certificate is not for …" }
 */
import type { HostErrorCode } from "./status.ts";

/** OpenSSL's verification results for a chain that does not lead to a trusted CA. */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_SIGNATURE_FAILURE", "CERT_UNTRUSTED", "CERT_REJECTED", "INVALID_CA", "CERT_CHAIN_TOO_LONG",
  "PATH_LENGTH_EXCEEDED", "INVALID_PURPOSE", "UNABLE_TO_DECRYPT_CERT_SIGNATURE", "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY", "CERT_REVOKED",
]);
/** OpenSSL's verification results for a certificate outside its validity period. */
const OUT_OF_DATE = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);

/** A TLS failure, named. */
export interface TlsFailure {
  code: Extract<HostErrorCode, `TLS_${string}`>;
  message: string;
}

/** The TLS failure behind `error`, or undefined when it is not one. */
export function tlsFailure(error: Error | undefined): TlsFailure | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error === undefined || typeof code !== "string") return undefined;
  const detail = `${code}: ${error.message}`;
  if (UNTRUSTED.has(code)) {
    return { code: "TLS_CERT_INVALID", message: `the broker's certificate chain is not trusted (${detail}); give its CA with the ca option (CLI: --cafile)` };
  }
  if (OUT_OF_DATE.has(code)) return { code: "TLS_CERT_EXPIRED", message: `the broker's certificate is outside its validity period (${detail})` };
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return { code: "TLS_HOSTNAME_MISMATCH", message: `the broker's certificate is not for the host name connected to (${detail})` };
  }
  if (code.startsWith("ERR_SSL_") || code === "EPROTO" || code.startsWith("ERR_TLS_")) {
    return { code: "TLS_HANDSHAKE_FAILED", message: `the TLS handshake failed (${detail})` };
  }
  return undefined;
}
