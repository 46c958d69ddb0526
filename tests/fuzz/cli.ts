/**
 * The fuzzer's command line (`npm run fuzz -- …`, README.md "Robustness").
 *
 *   npm run fuzz -- [--inputs N] [--seed S] [--profile P] [--module client|telemetry] [--minutes M] [--out DIR]
 *   npm run fuzz -- --replay FILE
 *
 * A campaign prints inputs/s, a per-class count and each distinct failure with its
 * reproducer; it exits 1 when there was any. --replay plays a reproducer and prints the
 * verdict; it exits 1 while the reproducer still fails.
 */
import { parseArgs } from "node:util";
import { PROFILES } from "../../host/module.ts";
import { MODULE_KINDS, type ModuleKind } from "./device.ts";
import { runCampaign } from "./campaign.ts";
import { readReproducer } from "./reproducer.ts";
import { runInput } from "./oracle.ts";

const DEFAULT_INPUTS = 10_000;

function fail(message: string): never {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return value;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        inputs: { type: "string" }, seed: { type: "string" }, profile: { type: "string" }, module: { type: "string" },
        minutes: { type: "string" }, replay: { type: "string" }, out: { type: "string" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
})();

if (values.replay !== undefined) {
  let input;
  try {
    input = readReproducer(values.replay);
  } catch (error) {
    fail((error as Error).message);
  }
  const finding = runInput(input);
  if (finding === undefined) {
    console.log(`PASS ${values.replay}: every check holds`);
  } else {
    console.log(`FAIL ${values.replay}: ${finding.check}: ${finding.message}`);
    process.exitCode = 1;
  }
} else {
  const profile = values.profile ?? "nodemcu";
  if (!(PROFILES as readonly string[]).includes(profile)) fail(`--profile must be one of ${PROFILES.join(", ")}, got "${profile}"`);
  const kind = (values.module ?? "client") as ModuleKind;
  if (!MODULE_KINDS.includes(kind)) fail(`--module must be client or telemetry, got "${values.module}"`);
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0)) fail(`--minutes must be a number > 0, got "${values.minutes}"`);
  const inputs = integer("inputs", values.inputs, minutes === undefined ? DEFAULT_INPUTS : Infinity, 1);
  const seed = integer("seed", values.seed, 1, 0);
  const out = values.out ?? "reports/fuzz";
  const result = runCampaign({ seed, profile, kind, inputs, out, deadline: minutes === undefined ? undefined : Date.now() + minutes * 60_000 });
  const seconds = result.elapsedMs / 1000;
  console.log(`${result.inputs} inputs in ${seconds.toFixed(1)} s: ${Math.round(result.inputs / seconds)} inputs/s (${kind}, ${profile}, seed ${seed})`);
  if (result.inconclusive > 0) console.log(`  (${result.inconclusive} inconclusive: an ack for a packet that may still be in the tx ring of a throttled network)`);
  for (const [cls, c] of Object.entries(result.perClass)) console.log(`  ${cls.padEnd(16)} ${String(c.inputs).padStart(8)} inputs  ${String(c.findings).padStart(7)} failing`);
  for (const f of result.failures) {
    console.log(`\n${f.count}× ${f.reproducer.check}: ${f.reproducer.message}`);
    if (f.path) console.log(`  reproducer: ${f.path}`);
  }
  if (result.failures.length > 0) process.exitCode = 1;
}
