/**
 * Reproducers: a minimized failing input as a JSON file (seed, class, index, profile,
 * module kind, the steps with rx bytes as hex, the check that failed and why), and
 * their replay.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MODULE_KINDS, type ModuleKind } from "./device.ts";
import type { Finding } from "./finding.ts";
import { stepsFromJson, stepsToJson, type Input } from "./input.ts";
import { runInput, type ReferenceFactory } from "./oracle.ts";

export interface Reproducer {
  seed: number;
  class: string;
  index: number;
  profile: string;
  module: ModuleKind;
  /** The check that failed and its message. */
  check: string;
  message: string;
  steps: ReturnType<typeof stepsToJson>;
}

/** The reproducer of `input` failing with `finding`. */
export function toReproducer(input: Input, finding: Finding): Reproducer {
  return {
    seed: input.seed, class: input.cls, index: input.index, profile: input.profile, module: input.kind,
    check: finding.check, message: finding.message, steps: stepsToJson(input.steps),
  };
}

/** Writes the reproducer into dir (created when missing); returns its path. */
export function writeReproducer(dir: string, reproducer: Reproducer): string {
  mkdirSync(dir, { recursive: true });
  const r = reproducer;
  const path = join(dir, `${r.module}-${r.profile}-${r.check}-s${r.seed}-${r.class}-${r.index}.json`);
  writeFileSync(path, `${JSON.stringify(r, null, 2)}\n`);
  return path;
}

/** Reads a reproducer file; throws naming the file and the field that is wrong. */
export function readReproducer(path: string): Input {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: not a reproducer (${(error as Error).message})`);
  }
  const field = <T>(name: string, ok: (v: unknown) => boolean): T => {
    if (!ok(json[name])) throw new Error(`${path}: field "${name}" is ${JSON.stringify(json[name])}`);
    return json[name] as T;
  };
  const kind = field<ModuleKind>("module", (v) => MODULE_KINDS.includes(v as ModuleKind));
  try {
    return {
      seed: field<number>("seed", Number.isInteger), cls: field<string>("class", (v) => typeof v === "string"),
      index: field<number>("index", Number.isInteger), profile: field<string>("profile", (v) => typeof v === "string"),
      kind, steps: stepsFromJson(json.steps),
    };
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** Replays a reproducer file (against `reference`, by default the fuzzer's): the finding it still produces, or undefined when the module now passes. */
export function replay(path: string, reference?: ReferenceFactory): Finding | undefined {
  return runInput(readReproducer(path), undefined, reference);
}
