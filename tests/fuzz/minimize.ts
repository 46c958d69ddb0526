/**
 * Shrinks a failing input by delta debugging (Zeller's ddmin, complements only): first
 * whole steps are dropped, then whole packets of each rx step, then single bytes, as
 * long as the same failure remains. The result is 1-minimal within the run budget.
 */
import type { Finding } from "./finding.ts";
import type { Input, Step } from "./input.ts";
import { concat } from "../host/support/mqtt-packets.ts";
import { remainingLength } from "./reference.ts";

/** Most inputs one minimization runs. */
const RUN_BUDGET = 1500;

/** Whether `a` is the same failure as `b`, the one being minimized: the same check. */
export function sameFailure(a: Finding | undefined, b: Finding): boolean {
  return a !== undefined && a.check === b.check;
}

/** The smallest input found that still fails like `finding`; `run` plays an input. */
export function minimize(input: Input, finding: Finding, run: (input: Input) => Finding | undefined): Input {
  let runs = 0;
  const fails = (steps: Step[]): boolean => {
    if (runs >= RUN_BUDGET) return false;
    runs++;
    return sameFailure(run({ ...input, steps }), finding);
  };
  let steps = ddmin(input.steps, fails);
  // whole packets of each rx step first, then single bytes
  for (const split of [packetsOf, (bytes: Uint8Array) => [...bytes].map((b) => Uint8Array.of(b))]) {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step.op !== "rx" || step.bytes.length < 2) continue;
      const kept = ddmin(split(step.bytes), (pieces) => {
        if (pieces.length === 0) return false;
        const trial = steps.slice();
        trial[i] = { op: "rx", bytes: concat(pieces) };
        return fails(trial);
      });
      steps = steps.slice();
      steps[i] = { op: "rx", bytes: concat(kept) };
    }
  }
  return { ...input, steps };
}

/** The bytes cut where each packet ends (as far as the Remaining Lengths can be read); the rest is one piece. */
function packetsOf(bytes: Uint8Array): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const length = remainingLength(bytes, at + 1);
    const end = typeof length === "string" ? bytes.length : Math.min(bytes.length, at + 1 + length.bytes + length.value);
    pieces.push(bytes.subarray(at, end));
    at = end;
  }
  return pieces;
}

/** ddmin over the complements of ever finer partitions: the items whose removal keeps `fails` true go. */
function ddmin<T>(items: T[], fails: (items: T[]) => boolean): T[] {
  let current = items;
  let parts = 2;
  while (current.length >= 2) {
    const size = Math.ceil(current.length / parts);
    let reduced = false;
    for (let at = 0; at < current.length; at += size) {
      const complement = [...current.slice(0, at), ...current.slice(at + size)];
      if (complement.length > 0 && fails(complement)) {
        current = complement;
        parts = Math.max(parts - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (parts >= current.length) break;
      parts = Math.min(parts * 2, current.length);
    }
  }
  if (current.length === 1 && fails([])) return [];
  return current;
}
