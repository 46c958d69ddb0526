/**
 * Builds the modules as native code (`npm run build:native`, after scripts/build.mjs):
 * wasm2c turns build/<kind>-<profile>.wasm into C, and the C glue in boards/native/
 * makes of it, per profile,
 *
 *   build/native/wasmqtt-<profile>    pub / sub on the client module
 *   build/native/telemetry-<profile>  the telemetry firmware on Linux
 *
 * The module's linear memory is a static array of exactly its __heap_base bytes (read
 * from the generated C), bounds-checked on every access (boards/native/README.md).
 * Also writes build/native/gen/wasmqtt-abi.h: the status codes and event kinds, from
 * host/status.ts and assembly/host.ts, so the C prints the same names.
 *
 * Usage: node scripts/build-native.mjs [--profile desktop|esp32|nodemcu] [--cc gcc|clang]
 *          [--kind client|telemetry] [--out DIR] [--memory-bytes N] [--quiet]
 * --memory-bytes overrides the linear memory size (for the test that shows a smaller
 * memory traps); --out defaults to build/native. CC in the environment picks the compiler too.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PROFILES = ["desktop", "esp32", "nodemcu"];
const NATIVE = join(ROOT, "boards/native");

/** The C each program is made of, besides the generated module (boards/native/). */
const PROGRAMS = {
  client: { output: (profile) => `wasmqtt-${profile}`, sources: ["wasm-rt-static.c", "link.c", "posix.c", "cli.c"] },
  telemetry: {
    output: (profile) => `telemetry-${profile}`,
    sources: ["wasm-rt-static.c", "link.c", "posix.c", "firmware.c", "board-linux.c", "telemetry.c"],
  },
};

/** The glue is held to these; -D_GNU_SOURCE for getopt_long, getrandom and SOCK_NONBLOCK. */
const HOST_FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE"];
/**
 * wasm2c's output keeps -Wall -Wextra -Werror except three warnings it cannot avoid:
 * helpers it emits for every module whether used or not (unused-function), the instance
 * pointer of functions that touch no state (unused-parameter), and `(TRAP(x), 0)` in its
 * bounds-check macro (unused-value).
 */
const GENERATED_FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", "-Wno-unused-parameter", "-Wno-unused-value"];
/** Bounds checks instead of guard pages; asserts off (they only check wasm_rt_init was called). */
const RUNTIME_DEFINES = ["-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-DNDEBUG"];

const { values } = parseArgs({
  options: {
    profile: { type: "string" },
    kind: { type: "string" },
    cc: { type: "string" },
    out: { type: "string" },
    "memory-bytes": { type: "string" },
    quiet: { type: "boolean" },
  },
  strict: true,
});

try {
  await main();
} catch (error) {
  process.stderr.write(`build-native: ${error.message}\n`);
  process.exit(1);
}

async function main() {
  const profiles = pick(values.profile, PROFILES, "profile");
  const kinds = pick(values.kind, Object.keys(PROGRAMS), "kind");
  const cc = values.cc ?? process.env.CC ?? "gcc";
  const out = values.out ?? join(ROOT, "build/native");
  const runtimeInclude = findRuntimeHeader();
  requireTool("wasm2c", "apt-get install wabt");
  requireTool(cc, `apt-get install ${cc}`);
  await mkdir(join(out, "gen"), { recursive: true });
  await writeAbiHeader(join(out, "gen/wasmqtt-abi.h"));
  const built = [];
  for (const profile of profiles) {
    for (const kind of kinds) built.push(await buildProgram({ profile, kind, cc, out, runtimeInclude }));
  }
  if (!values.quiet) {
    for (const { path, memoryBytes } of built) say(`${path}  linear memory ${memoryBytes} bytes`);
  }
}

/** One program: wasm2c, compile each source, link. Returns its path and memory size. */
async function buildProgram({ profile, kind, cc, out, runtimeInclude }) {
  const wasm = join(ROOT, `build/${kind}-${profile}.wasm`);
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run node scripts/build.mjs first`);
  const gen = join(out, "gen", `${kind}-${profile}`);
  await mkdir(gen, { recursive: true });
  run("wasm2c", [wasm, "-o", join(gen, "wasmqtt.c"), "-n", "wasmqtt"]);
  const generated = await readFile(join(gen, "wasmqtt.c"), "utf8");
  const layout = moduleLayout(generated, wasm);
  const memoryBytes = values["memory-bytes"] === undefined ? layout.heapBase : Number(values["memory-bytes"]);
  if (!Number.isInteger(memoryBytes) || memoryBytes < 1) throw new Error(`--memory-bytes ${values["memory-bytes"]}: a whole number > 0`);
  const defines = [
    ...RUNTIME_DEFINES,
    `-DWASMQTT_MEMORY_BYTES=${memoryBytes}`,
    `-DWASMQTT_TABLE_ELEMENTS=${Math.max(1, layout.tableElements)}`,
    `-DWASMQTT_PROFILE="${profile}"`,
  ];
  const includes = [`-I${gen}`, `-I${join(out, "gen")}`, `-I${NATIVE}`, `-I${runtimeInclude}`];
  const objects = [];
  const objectDir = join(gen, "obj");
  await mkdir(objectDir, { recursive: true });
  const compile = (source, flags) => {
    const object = join(objectDir, source.replace(/^.*\//, "").replace(/\.c$/, ".o"));
    run(cc, [...flags, ...defines, ...includes, "-c", source, "-o", object]);
    objects.push(object);
  };
  compile(join(gen, "wasmqtt.c"), GENERATED_FLAGS);
  for (const source of PROGRAMS[kind].sources) compile(join(NATIVE, source), HOST_FLAGS);
  const path = join(out, PROGRAMS[kind].output(profile));
  run(cc, ["-o", path, ...objects]);
  return { path, memoryBytes };
}

/** __heap_base and the table size, read from the generated C (its init_globals / init_tables). */
function moduleLayout(generated, wasm) {
  const heapBase = /instance->w2c___heap_base = (\d+)u;/.exec(generated);
  if (heapBase === null) throw new Error(`${wasm}: no __heap_base global in the wasm2c output`);
  const memory = /wasm_rt_allocate_memory\(&instance->w2c_memory, (\d+), (\d+)\)/.exec(generated);
  if (memory === null || memory[1] !== "1" || memory[2] !== "1") throw new Error(`${wasm}: expected one memory of one page, min = max`);
  const table = /wasm_rt_allocate_funcref_table\(&instance->w2c_T0, (\d+), (\d+)\)/.exec(generated);
  return { heapBase: Number(heapBase[1]), tableElements: table === null ? 0 : Number(table[2]) };
}

/** The status codes (host/status.ts, mirroring assembly/status.ts) and event kinds (assembly/host.ts) as C. */
async function writeAbiHeader(path) {
  const status = await readFile(join(ROOT, "host/status.ts"), "utf8");
  const codes = [...block(status, "export const Status = {").matchAll(/^\s+([A-Z_0-9]+): (-?\d+),$/gm)].map((m) => [m[1], Number(m[2])]);
  const texts = new Map([...block(status, "const DESCRIPTIONS").matchAll(/^\s+([A-Z_0-9]+): "([^"]*)",$/gm)].map((m) => [m[1], m[2]]));
  const host = await readFile(join(ROOT, "assembly/host.ts"), "utf8");
  const events = [...host.matchAll(/^export const (EVENT_[A-Z_]+): u32 = (\d+);$/gm)].map((m) => [m[1], Number(m[2])]);
  if (codes.length < 20 || events.length < 9) throw new Error("could not read the status codes or event kinds");
  const c = (text) => JSON.stringify(text);
  const lines = [
    "/* Generated by scripts/build-native.mjs from host/status.ts and assembly/host.ts: do not edit. */",
    "#ifndef WASMQTT_ABI_H",
    "#define WASMQTT_ABI_H",
    "",
    "#include <stdint.h>",
    "",
    ...codes.map(([name, value]) => `#define WASMQTT_${name} (${value})`),
    "",
    ...events.map(([name, value]) => `#define ${name} ${value}u`),
    "",
    "/** The stable name of a status, e.g. \"OUTBOX_FULL\"; \"STATUS\" for one this build does not know. */",
    "static inline const char* wasmqtt_status_name(int32_t status) {",
    "  switch (status) {",
    ...codes.map(([name, value]) => `    case ${value}: return ${c(name)};`),
    "    default: return \"STATUS\";",
    "  }",
    "}",
    "",
    "/** A one-line English description of a status. */",
    "static inline const char* wasmqtt_status_text(int32_t status) {",
    "  switch (status) {",
    ...codes.map(([name, value]) => `    case ${value}: return ${c(texts.get(name) ?? name)};`),
    "    default: return \"unknown status\";",
    "  }",
    "}",
    "",
    "#endif",
    "",
  ];
  await writeFile(path, lines.join("\n"));
}

/** The text of a `{ … }` block that starts at `opening`. */
function block(text, opening) {
  const start = text.indexOf(opening);
  if (start === -1) throw new Error(`"${opening}" not found`);
  return text.slice(start, text.indexOf("\n}", start));
}

/** Where wasm-rt.h lives (Debian's wabt: /usr/src/wasm2c or /usr/include). */
function findRuntimeHeader() {
  for (const dir of ["/usr/src/wasm2c", "/usr/include", "/usr/local/include"]) {
    if (existsSync(join(dir, "wasm-rt.h"))) return dir;
  }
  throw new Error("wasm-rt.h not found: apt-get install wabt");
}

function requireTool(name, hint) {
  const result = spawnSync(name, ["--version"], { encoding: "utf8" });
  if (result.error !== undefined) throw new Error(`${name} not found: ${hint}`);
}

function run(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error !== undefined) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}\n${result.stdout}${result.stderr}`);
}

function pick(name, all, what) {
  if (name === undefined) return all;
  if (!all.includes(name)) throw new Error(`unknown ${what} "${name}" (${all.join(", ")})`);
  return [name];
}

function say(line) {
  process.stdout.write(`${line}\n`);
}
