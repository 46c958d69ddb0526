/**
 * The soak's invariants, their thresholds, and the violations that fail a run. Each
 * violation names the invariant, the device (or `host` / `broker`) and the virtual time as
 * `day D hh:mm:ss`, so a failure reads the same in the terminal, in report.json and in a
 * test:
 *
 *     INVARIANT VIOLATED [delivery] device nodemcu-v3-2 at day 0 02:00:10: QoS 1 reading seq 721 was never delivered (…)
 *
 * @example
 * const invariants = new Invariants();
 * invariants.violate("keepalive", "nodemcu-v3-1", clock.now(), "connected but silent for 75.0 s (keepalive 60 s + 1 s slack)");
 * invariants.failed; // true
 */
import { formatVirtualTime } from "../sim/view.ts";

/** The invariants, by the name a violation carries. */
export const INVARIANTS = {
  "module-memory": "the module's memory is the same size at every sample",
  regions: "no region's high-water mark or use exceeds its capacity",
  "host-memory": "the host's heap per device shows no clear upward trend over the second half of the run",
  delivery: "every accepted QoS 1 reading delivered at least once, every QoS 2 reading exactly once; refused readings counted, never lost",
  order: "per device, first deliveries arrive in increasing seq (at the observer; with aedes, at the broker too)",
  keepalive: "a connected device never stays silent longer than its keepalive",
  backoff: "every reconnect delay lies within [min, max] and is the delay the module waited",
  trap: "no module traps",
  stuck: "a device whose network and broker are healthy makes progress (a QoS flow completes)",
} as const;

/** An invariant's name. */
export type InvariantName = keyof typeof INVARIANTS;

/** One violation. */
export interface Violation {
  invariant: InvariantName;
  /** A device id, or `host` / `broker` / `observer`. */
  subject: string;
  /** Virtual ms. */
  atMs: number;
  detail: string;
  /** The whole message, as printed. */
  message: string;
}

/** The one-line message of a violation. */
export function formatViolation(invariant: InvariantName, subject: string, atMs: number, detail: string): string {
  const who = subject === "host" || subject === "broker" || subject === "observer" ? subject : `device ${subject}`;
  return `INVARIANT VIOLATED [${invariant}] ${who} at ${formatVirtualTime(atMs)}: ${detail}`;
}

/** How many violations are kept in full (the rest are only counted). */
const KEPT = 50;

/** The violations of one run. */
export class Invariants {
  readonly violations: Violation[] = [];
  /** Violations per invariant, kept or not. */
  readonly counts: Record<InvariantName, number> = Object.fromEntries(Object.keys(INVARIANTS).map((name) => [name, 0])) as Record<InvariantName, number>;
  private listener: ((violation: Violation) => void) | undefined;

  /** Records a violation (and tells the listener, the first time it is set). */
  violate(invariant: InvariantName, subject: string, atMs: number, detail: string): void {
    this.counts[invariant]++;
    if (this.violations.length >= KEPT) return;
    const violation = { invariant, subject, atMs, detail, message: formatViolation(invariant, subject, atMs, detail) };
    this.violations.push(violation);
    this.listener?.(violation);
  }

  /** Calls `listener` for every violation from now on. */
  onViolation(listener: (violation: Violation) => void): void {
    this.listener = listener;
  }

  /** True once anything was violated. */
  get failed(): boolean {
    return this.violations.length > 0;
  }

  /** Each invariant with "held" or "violated (n)". */
  verdicts(): { invariant: InvariantName; description: string; held: boolean; violations: number }[] {
    return (Object.keys(INVARIANTS) as InvariantName[]).map((invariant) => ({
      invariant,
      description: INVARIANTS[invariant],
      held: this.counts[invariant] === 0,
      violations: this.counts[invariant],
    }));
  }
}
