/**
 * A finding: one check the module failed on one input. Checks throw it; the oracle
 * catches the first and reports it with the check's name, which the minimizer keeps
 * failing while it shrinks the input.
 */

/** The checks, by stable name (README.md, "Robustness"). */
export type CheckName =
  | "trap" | "runaway" | "stall" | "memory-size" | "read-only-data" | "stray-write" | "stats"
  | "outbound" | "status" | "deliveries" | "answers" | "publish-done" | "events" | "resend"
  // edge-case arguments (arguments.ts)
  | "publish" | "connect" | "still-working" | "reconnect-flag";

export class Finding extends Error {
  constructor(readonly check: CheckName, message: string) {
    super(message);
    this.name = "Finding";
  }
}

/** The input became one no broker sends (an ack for a packet still in the module's tx ring): it proves nothing either way. */
export class Inconclusive extends Error {}
