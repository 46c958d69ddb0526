/**
 * One fuzz input: the steps the fuzzer plays against a fresh module instance, and
 * their JSON form (bytes as hex) for reproducers.
 */
import type { ModuleKind } from "./device.ts";

/** One thing that happens to the module. */
export type Step =
  /** One rxCommit of these bytes from the broker (split further only when rxSpace() is smaller). */
  | { op: "rx"; bytes: Uint8Array }
  /** The application publishes (client API). */
  | { op: "publish"; topic: string; payload: string; qos: number; retain: boolean }
  /** The application subscribes: [filter, qos] entries. */
  | { op: "subscribe"; filters: [string, number][] }
  | { op: "unsubscribe"; filters: string[] }
  /** netDown, the backoff runs out, netUp, and a CONNACK accepting with sessionPresent. */
  | { op: "reconnect"; sessionPresent: boolean }
  /** Virtual time passes and tick() runs. */
  | { op: "tick"; ms: number }
  /** From now on netSend takes at most `bytes` per call (0: everything); 0 also waits, ticking, until the module has caught up. */
  | { op: "throttle"; bytes: number }
  /** stop(), then start(), netUp and a CONNACK accepting with sessionPresent. */
  | { op: "restart"; sessionPresent: boolean };

/** A whole input and where it came from: input `index` of class `cls` for `seed`. */
export interface Input {
  seed: number;
  cls: string;
  index: number;
  profile: string;
  kind: ModuleKind;
  steps: Step[];
}

type JsonStep = Exclude<Step, { op: "rx" }> | { op: "rx"; hex: string };

/** The JSON-safe form of steps (rx bytes as hex). */
export function stepsToJson(steps: Step[]): JsonStep[] {
  return steps.map((s) => (s.op === "rx" ? { op: "rx", hex: Buffer.from(s.bytes).toString("hex") } : s));
}

/** Steps from their JSON form. Throws naming the step that is not one. */
export function stepsFromJson(json: unknown): Step[] {
  if (!Array.isArray(json)) throw new Error("steps: not an array");
  return json.map((s, i) => {
    if (s === null || typeof s !== "object" || typeof s.op !== "string") throw new Error(`step ${i}: not a step`);
    if (s.op === "rx") {
      if (typeof s.hex !== "string" || !/^([0-9a-f]{2})*$/i.test(s.hex)) throw new Error(`step ${i}: rx needs "hex", got ${JSON.stringify(s.hex)}`);
      return { op: "rx", bytes: Uint8Array.from(Buffer.from(s.hex, "hex")) };
    }
    if (!["publish", "subscribe", "unsubscribe", "reconnect", "tick", "throttle", "restart"].includes(s.op)) throw new Error(`step ${i}: unknown op "${s.op}"`);
    return s as Step;
  });
}
