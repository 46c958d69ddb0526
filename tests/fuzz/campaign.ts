/**
 * A fuzzing campaign: inputs spread round-robin over the classes (input n is index
 * ⌊n / classes⌋ of class n mod classes), each played by the oracle; every distinct
 * failure (check, message shape) is minimized once and written as a reproducer.
 */
import { Device, Stat, type ModuleKind } from "./device.ts";
import type { Finding } from "./finding.ts";
import { CLASSES, generate, type InputClass, type Shape } from "./generator.ts";
import { minimize } from "./minimize.ts";
import { runInput } from "./oracle.ts";
import { toReproducer, writeReproducer, type Reproducer } from "./reproducer.ts";

export interface CampaignOptions {
  seed: number;
  profile: string;
  kind: ModuleKind;
  /** Stop after this many inputs (Infinity: only the deadline stops it). */
  inputs: number;
  /** Stop at this Date.now() (Infinity: only the count stops it). */
  deadline?: number;
  /** Where reproducers go; undefined writes none. */
  out?: string;
  /** Minimize each distinct failure (default true); false keeps the failing input as generated. */
  minimize?: boolean;
}

/** One distinct failure: its minimized reproducer, how many inputs hit it, where it was written. */
export interface FailureReport {
  signature: string;
  reproducer: Reproducer;
  count: number;
  path?: string;
}

export interface CampaignResult {
  inputs: number;
  /** Inputs that became ones no broker sends (an ack for a packet still in the tx ring): neither passed nor failed. */
  inconclusive: number;
  elapsedMs: number;
  perClass: Record<InputClass, { inputs: number; findings: number }>;
  failures: FailureReport[];
}

/** The generator's view of a profile's module. */
export function shapeOf(kind: ModuleKind, profile: string): Shape {
  const stats = new Device(kind, profile).stats();
  return { rxCapacity: stats[Stat.rxCapacity], inboundQos2Slots: stats[Stat.inboundQos2Capacity] };
}

/** A failure's identity: the check and the message without its numbers and bytes. */
export function signatureOf(finding: Finding): string {
  const shape = finding.message.replace(/rxCommit of [0-9a-f]*/g, "rxCommit").replace(/\[[^\]]*\]/g, "[…]").replace(/\b[0-9a-f]*\d[0-9a-f]*\b/g, "#");
  return `${finding.check} ${shape}`;
}

/** Runs the campaign. */
export function runCampaign(options: CampaignOptions): CampaignResult {
  const shape = shapeOf(options.kind, options.profile);
  const perClass = Object.fromEntries(CLASSES.map((c) => [c, { inputs: 0, findings: 0 }])) as CampaignResult["perClass"];
  const failures = new Map<string, FailureReport>();
  const deadline = options.deadline ?? Infinity;
  const started = Date.now();
  const counts = { inconclusive: 0 };
  let n = 0;
  for (; n < options.inputs; n++) {
    if (n % 64 === 0 && Date.now() >= deadline) break;
    const cls = CLASSES[n % CLASSES.length];
    const input = generate(options.seed, cls, Math.floor(n / CLASSES.length), options.profile, options.kind, shape);
    perClass[cls].inputs++;
    const finding = runInput(input, counts);
    if (finding === undefined) continue;
    perClass[cls].findings++;
    const signature = signatureOf(finding);
    const known = failures.get(signature);
    if (known) {
      known.count++;
      continue;
    }
    const small = options.minimize === false ? input : minimize(input, finding, (i) => runInput(i));
    const reproducer = toReproducer(small, runInput(small) ?? finding);
    const report: FailureReport = { signature, reproducer, count: 1 };
    if (options.out !== undefined) report.path = writeReproducer(options.out, reproducer);
    failures.set(signature, report);
  }
  return { inputs: n, inconclusive: counts.inconclusive, elapsedMs: Date.now() - started, perClass, failures: [...failures.values()] };
}
