/**
 * What the native build (scripts/build-native.mjs) and the native fuzz target
 * (tests/fuzz/native/build.ts) both need: Debian's wasm2c and its runtime header, the
 * module's layout read from the generated C, and running the compilers.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The wasm2c whose output names the glue in boards/native/ is written for (Debian bookworm's wabt). */
export const WASM2C_VERSION = "1.0.32";

/**
 * Debian's wasm2c: the first on PATH outside node_modules (npm's `wabt` package puts a
 * newer one, with other names in its output, into node_modules/.bin under `npm run`).
 * Throws when it is missing or of another version.
 */
export function findWasm2c() {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "wasm2c");
    if (dir.includes("node_modules") || !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout?.trim();
    if (version === WASM2C_VERSION) return candidate;
    throw new Error(`${candidate} is wasm2c ${version}; boards/native/ is written for wasm2c ${WASM2C_VERSION} (Debian bookworm's wabt)`);
  }
  throw new Error(`wasm2c ${WASM2C_VERSION} not found: apt-get install wabt`);
}

/** The directory of wasm-rt.h (Debian's wabt: /usr/src/wasm2c or /usr/include). */
export function findRuntimeHeader() {
  for (const dir of ["/usr/src/wasm2c", "/usr/include", "/usr/local/include"]) {
    if (existsSync(join(dir, "wasm-rt.h"))) return dir;
  }
  throw new Error("wasm-rt.h not found: apt-get install wabt");
}

/** Throws `${name} not found: ${hint}` when `name --version` does not run. */
export function requireTool(name, hint) {
  const result = spawnSync(name, ["--version"], { encoding: "utf8" });
  if (result.error !== undefined) throw new Error(`${name} not found: ${hint}`);
}

/**
 * __heap_base, the table size and the function types' count and widest arity, read from
 * the generated C (with the module's names kept or not); `label` names the module in
 * errors. Throws unless the module has one memory of one page, min = max.
 */
export function moduleLayout(generated, label) {
  const heapBase = /instance->w2c_\w*__heap_base = (\d+)u;/.exec(generated);
  if (heapBase === null) throw new Error(`${label}: no __heap_base global in the wasm2c output`);
  const memory = /wasm_rt_allocate_memory\(&instance->\w+, (\d+), (\d+)\)/.exec(generated);
  if (memory === null || memory[1] !== "1" || memory[2] !== "1") throw new Error(`${label}: expected one memory of one page, min = max`);
  const table = /wasm_rt_allocate_funcref_table\(&instance->\w+, (\d+), (\d+)\)/.exec(generated);
  const types = [...generated.matchAll(/wasm_rt_register_func_type\((\d+), (\d+)/g)].map((m) => Number(m[1]) + Number(m[2]));
  return {
    heapBase: Number(heapBase[1]),
    tableElements: table === null ? 0 : Number(table[2]),
    funcTypes: types.length,
    funcValues: Math.max(0, ...types),
  };
}

/** Runs a command to its end; returns its stdout; throws with its output when it fails. */
export function run(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.error !== undefined) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Like run(), without blocking, so compilations run side by side; resolves when it succeeded. */
export function runAsync(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", (error) => reject(new Error(`${command}: ${error.message}`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")}\n${output}`))));
  });
}
