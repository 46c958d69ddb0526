/**
 * The ABI's setting and request exports called with edge-case arguments
 * (tests/fuzz/arguments.ts, README.md "Robustness"): a deterministic slice must find no
 * trap, no undocumented status, no wrong PUBLISH or CONNECT, and leave the module working.
 * It found setReconnect keeping only the low byte of `enabled` (0x100 turned reconnecting
 * off), now fixed (module.test.ts holds it). The slice must also reach each export's
 * success and refusals, or it proves little. Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ARGUMENT_EXPORTS, DOCUMENTED, runArguments } from "../fuzz/arguments.ts";

/** 3 000 cases, about 10 500 calls: 2–3 s on the shared 2-core machine. */
const CASES = 3_000;

describe("the ABI's exports with edge-case arguments", () => {
  const run = runArguments(1, CASES);

  it(`${CASES} cases: no trap, only documented statuses, correct PUBLISH and CONNECT, still working afterwards`, () => {
    const summary = run.findings.slice(0, 10).map(({ c, finding }) => `case ${c.index}: ${finding.check}: ${finding.message}`);
    assert.deepEqual(summary, [], `${run.findings.length} findings:\n${summary.join("\n")}`);
  });

  it("reaches each export's acceptance and two of its refusals (the one of setReconnect and setTimeouts)", () => {
    assert.ok(run.calls > 2 * CASES, `${run.calls} calls`);
    for (const name of ARGUMENT_EXPORTS) {
      const outcomes = Object.keys(run.outcomes[name]);
      const accepted = outcomes.filter((o) => o === "OK" || o === "PACKET_ID");
      assert.ok(accepted.length > 0, `${name} never accepted: ${outcomes.join(", ")}`);
      const refusals = DOCUMENTED[name].filter((o) => o !== "OK" && o !== "PACKET_ID").length;
      assert.ok(outcomes.length - accepted.length >= Math.min(2, refusals), `${name} returned only ${outcomes.join(", ")}`);
    }
  });
});
