/**
 * Runs the as-pect specs named by as-pect.config.js, each compiled on its own after the
 * config's `include` files, with as-pect's usual compiler settings and runtime (its
 * assertions allocate; the static runtime of asconfig.json is not used here).
 *
 * Usage: node scripts/aspect.mjs
 * The last line is `N passed, N failed` over all specs; a spec that does not compile,
 * or fails outside any test, counts as one failure. Exits 1 if anything failed.
 */
import { SummaryReporter, TestContext } from "@as-pect/core";
import { instantiate } from "@assemblyscript/loader";
import asc from "assemblyscript/asc";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import config from "../as-pect.config.js";

/** The settings of as-pect's own as-pect.asconfig.json, minus binding generation. */
const ASPECT_FLAGS = [
  "--transform", "@as-pect/transform",
  "--exportStart", "_start",
  "--exportRuntime",
  "--exportTable",
  "--use", "RTRACE=1",
  "--debug",
];
const ASPECT_LIBRARY = "node_modules/@as-pect/assembly/assembly/index.ts";
const OUTPUT = "spec.wasm";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
const reporter = Object.assign(new SummaryReporter(), { stdout: process.stdout, stderr: process.stderr });

let passed = 0;
let failed = 0;
for (const spec of await findSpecs()) {
  const result = await runSpec(spec);
  passed += result.passed;
  failed += result.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

/** The *.spec.ts files of the config's spec folder, in name order. */
async function findSpecs() {
  if (!existsSync(config.specs)) return [];
  const names = (await readdir(config.specs)).filter((name) => name.endsWith(".spec.ts")).sort();
  return names.map((name) => join(config.specs, name));
}

/** Compiles and runs one spec; its counts of passed and failed tests. */
async function runSpec(spec) {
  const binary = await compile(spec);
  if (binary === null) return { passed: 0, failed: 1 };
  const context = new TestContext({ reporter, binary, fileName: spec });
  context.run(await instantiate(binary, context.createImports(config.imports(binary))));
  const failures = context.testCount - context.testPassCount;
  return { passed: context.testPassCount, failed: failures === 0 && !context.pass ? 1 : failures };
}

/** The spec's binary, or null after printing the compiler's messages. */
async function compile(spec) {
  let binary = null;
  const argv = [...config.include, spec, ASPECT_LIBRARY, "--outFile", OUTPUT, ...ASPECT_FLAGS];
  const { error, stderr } = await asc.main(argv, {
    readFile: readSource,
    writeFile: (name, contents) => {
      if (name === OUTPUT) binary = contents;
    },
  });
  if (error) console.error(`${spec}: failed to compile\n${stderr.toString()}`);
  return error ? null : binary;
}

/** Reads a compiler input, hiding asconfig.json: its static runtime cannot run as-pect. */
async function readSource(name, baseDir) {
  if (name === "asconfig.json") return null;
  return readFile(join(baseDir, name), "utf8").catch(() => null);
}
