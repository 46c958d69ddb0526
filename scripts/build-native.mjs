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
 * With --size (`npm run size`) it builds nothing to run: it compiles the generated C
 * and the device glue (boards/native/device.c over a byte stream instead of sockets)
 * with -Os for x86-64, Cortex-M4, Cortex-M0+ and rv32imc, and prints text / data / bss
 * of the module's C alone, of the glue, and the linear memory, per profile and target.
 *
 * With --image it builds build/native/telemetry-<profile>-mps2-an386.elf: the telemetry
 * firmware as a bare-metal image for QEMU's `-M mps2-an386` (Cortex-M4), its broker
 * connection framed over UART0 (boards/native/mps2-an386/), its session saved in RAM
 * that survives a reset; --interval SEC sets its reading interval (default main.c's 5 s).
 *
 * Usage: node scripts/build-native.mjs [--profile desktop|esp32|nodemcu] [--cc gcc|clang]
 *          [--kind client|telemetry] [--out DIR] [--memory-bytes N] [--quiet] [--size | --image [--interval SEC]]
 * --memory-bytes overrides the linear memory size (for the test that shows a smaller
 * memory traps); --out defaults to build/native. CC in the environment picks the compiler too.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findRuntimeHeader, findWasm2c, moduleLayout, requireTool, run, runAsync } from "./wasm2c.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PROFILES = ["desktop", "esp32", "nodemcu"];
const NATIVE = join(ROOT, "boards/native");
/** The wasm2c whose output's names the glue uses (boards/native/README.md). */

/** The C each program is made of, besides the generated module (boards/native/). */
const PROGRAMS = {
  client: { output: (profile) => `wasmqtt-${profile}`, sources: ["wasm-rt-static.c", "link.c", "posix.c", "persist.c", "persist-posix.c", "cli.c"] },
  telemetry: {
    output: (profile) => `telemetry-${profile}`,
    sources: ["wasm-rt-static.c", "link.c", "posix.c", "persist.c", "persist-posix.c", "firmware.c", "board-linux.c", "telemetry.c"],
  },
};

/**
 * The glue of a device that reaches the broker over a byte stream (stream.h), per module
 * kind: what --size measures besides the module. The board's own stream, ADC and GPIO
 * drivers come on top.
 */
const DEVICE_GLUE = {
  client: ["wasm-rt-static.c", "link.c", "device.c"],
  telemetry: ["wasm-rt-static.c", "link.c", "device.c", "firmware.c"],
};

/**
 * The targets --size compiles for, with the Debian packages that provide their compilers.
 * The module needs only <string.h>, <stdint.h>, <setjmp.h> and <alloca.h> from a C library.
 */
const TARGETS = {
  "x86-64": { cc: "gcc", size: "size", flags: [], packages: "gcc" },
  "cortex-m4": { cc: "arm-none-eabi-gcc", size: "arm-none-eabi-size", flags: ["-mcpu=cortex-m4", "-mthumb"], packages: "gcc-arm-none-eabi libnewlib-arm-none-eabi" },
  "cortex-m0+": { cc: "arm-none-eabi-gcc", size: "arm-none-eabi-size", flags: ["-mcpu=cortex-m0plus", "-mthumb"], packages: "gcc-arm-none-eabi libnewlib-arm-none-eabi" },
  rv32imc: {
    cc: "riscv64-unknown-elf-gcc",
    size: "riscv64-unknown-elf-size",
    flags: ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"],
    packages: "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf",
  },
};
/** The bare-metal image for QEMU's mps2-an386: the telemetry device glue, the board's files, its linker script. */
const IMAGE = {
  target: "cortex-m4",
  sources: [...DEVICE_GLUE.telemetry, "persist.c", "mps2-an386/persist-mps2.c", "mps2-an386/startup.c", "mps2-an386/board-mps2.c", "mps2-an386/main.c"],
  linkerScript: join(NATIVE, "mps2-an386/mps2-an386.ld"),
  // newlib (nano) for memcpy / memset / memcmp only; no startup files, no system calls
  linkFlags: ["-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections"],
};

/** How --size compiles: for size, each function and object in a section of its own. */
const SIZE_FLAGS = ["-Os", "-ffunction-sections", "-fdata-sections"];

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
    size: { type: "boolean" },
    image: { type: "boolean" },
    interval: { type: "string" },
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
  const out = values.out ?? join(ROOT, "build/native");
  const runtimeInclude = findRuntimeHeader();
  await mkdir(join(out, "gen"), { recursive: true });
  await writeAbiHeader(join(out, "gen/wasmqtt-abi.h"));
  if (values.size) {
    await sizeReport({ profiles, kinds, out, runtimeInclude });
    return;
  }
  if (values.image) {
    for (const profile of profiles) {
      const path = await buildImage({ profile, out, runtimeInclude });
      if (!values.quiet) {
        say(spawnSync(TARGETS[IMAGE.target].size, [path], { encoding: "utf8" }).stdout.trimEnd());
        const retained = /^\.retained\s+(\d+)/m.exec(spawnSync(TARGETS[IMAGE.target].size, ["-A", path], { encoding: "utf8" }).stdout)?.[1];
        say(`of the bss, .retained ${retained} bytes: the two persistent-state slots, in RAM that survives a reset`);
      }
    }
    return;
  }
  const cc = values.cc ?? process.env.CC ?? "gcc";
  requireTool(cc, `apt-get install ${cc}`);
  const built = [];
  for (const profile of profiles) {
    for (const kind of kinds) built.push(await buildProgram({ profile, kind, cc, out, runtimeInclude }));
  }
  if (!values.quiet) {
    for (const { path, memoryBytes } of built) say(`${path}  linear memory ${memoryBytes} bytes`);
  }
}

/** wasm2c on build/<kind>-<profile>.wasm into <out>/gen/<kind>-<profile>/wasmqtt.{c,h}; returns the dir and the module's layout. */
async function generate(profile, kind, out) {
  const wasm = join(ROOT, `build/${kind}-${profile}.wasm`);
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run node scripts/build.mjs first`);
  const gen = join(out, "gen", `${kind}-${profile}`);
  await mkdir(join(gen, "obj"), { recursive: true });
  run(findWasm2c(), [wasm, "-o", join(gen, "wasmqtt.c"), "-n", "wasmqtt"]);
  const layout = moduleLayout(await readFile(join(gen, "wasmqtt.c"), "utf8"), wasm);
  return { gen, layout };
}

/** The -D and -I flags every compile of one module's C takes. */
function moduleFlags({ gen, out, runtimeInclude, profile, memoryBytes, layout }) {
  return [
    ...RUNTIME_DEFINES,
    `-DWASMQTT_MEMORY_BYTES=${memoryBytes}`,
    `-DWASMQTT_TABLE_ELEMENTS=${Math.max(1, layout.tableElements)}`,
    `-DWASMQTT_FUNC_TYPES=${Math.max(1, layout.funcTypes)}`,
    `-DWASMQTT_FUNC_VALUES=${Math.max(1, layout.funcValues)}`,
    `-DWASMQTT_PROFILE="${profile}"`,
    `-I${gen}`,
    `-I${join(out, "gen")}`,
    `-I${NATIVE}`,
    `-I${runtimeInclude}`,
  ];
}

/** One program: wasm2c, compile each source, link. Returns its path and memory size. */
async function buildProgram({ profile, kind, cc, out, runtimeInclude }) {
  const { gen, layout } = await generate(profile, kind, out);
  const memoryBytes = values["memory-bytes"] === undefined ? layout.heapBase : Number(values["memory-bytes"]);
  if (!Number.isInteger(memoryBytes) || memoryBytes < 1) throw new Error(`--memory-bytes ${values["memory-bytes"]}: a whole number > 0`);
  const common = moduleFlags({ gen, out, runtimeInclude, profile, memoryBytes, layout });
  const objects = [];
  const compile = (source, flags) => {
    const object = join(gen, "obj", source.replace(/^.*\//, "").replace(/\.c$/, ".o"));
    run(cc, [...flags, ...common, "-c", source, "-o", object]);
    objects.push(object);
  };
  compile(join(gen, "wasmqtt.c"), GENERATED_FLAGS);
  for (const source of PROGRAMS[kind].sources) compile(join(NATIVE, source), HOST_FLAGS);
  const path = join(out, PROGRAMS[kind].output(profile));
  run(cc, ["-o", path, ...objects]);
  return { path, memoryBytes };
}

/** --image: the telemetry firmware of `profile` linked for the MPS2 AN386; returns the ELF's path. */
async function buildImage({ profile, out, runtimeInclude }) {
  const target = TARGETS[IMAGE.target];
  requireTool(target.cc, `apt-get install ${target.packages}`);
  const { gen, layout } = await generate(profile, "telemetry", out);
  const sizes = JSON.parse(await readFile(join(ROOT, "build/sizes.json"), "utf8"));
  const imageDefines = [`-DWASMQTT_PERSIST_LENGTH=${sizes[`telemetry-${profile}`].persistLength}`];
  if (values.interval !== undefined) {
    if (!/^[1-9]\d{0,4}$/.test(values.interval)) throw new Error(`--interval ${values.interval}: a whole number of seconds from 1 to 86400`);
    imageDefines.push(`-DWASMQTT_INTERVAL_SEC=${values.interval}`);
  }
  const common = [...moduleFlags({ gen, out, runtimeInclude, profile, memoryBytes: layout.heapBase, layout }), ...imageDefines];
  const dir = join(gen, "mps2-an386");
  await mkdir(dir, { recursive: true });
  const flags = (base) => [...target.flags, ...base.filter((flag) => flag !== "-O2" && flag !== "-D_GNU_SOURCE"), ...SIZE_FLAGS, ...common];
  const objects = [join(dir, "wasmqtt.o")];
  run(target.cc, [...flags(GENERATED_FLAGS), "-c", join(gen, "wasmqtt.c"), "-o", objects[0]]);
  for (const source of IMAGE.sources) {
    const object = join(dir, source.replace(/^.*\//, "").replace(/\.c$/, ".o"));
    run(target.cc, [...flags(HOST_FLAGS), "-c", join(NATIVE, source), "-o", object]);
    objects.push(object);
  }
  const path = join(out, `telemetry-${profile}-mps2-an386.elf`);
  run(target.cc, [...target.flags, "-T", IMAGE.linkerScript, ...IMAGE.linkFlags, "-o", path, ...objects]);
  return path;
}

/**
 * --size: for each profile, kind and target, compiles the module's C and the device glue
 * with -Os and prints their text / data / bss (from the target's `size`) and the linear
 * memory. The glue's bss is shown without the linear memory array it holds.
 */
async function sizeReport({ profiles, kinds, out, runtimeInclude }) {
  const targets = Object.entries(TARGETS).filter(([name, target]) => {
    const present = spawnSync(target.cc, ["--version"]).error === undefined;
    if (!present) say(`${name}: skipped, ${target.cc} not found (apt-get install ${target.packages})`);
    return present;
  });
  const rows = [["profile", "kind", "target", "module text", "data", "bss", "glue text", "data", "bss", "linear memory"]];
  for (const profile of profiles) {
    for (const kind of kinds) {
      const { gen, layout } = await generate(profile, kind, out);
      const common = moduleFlags({ gen, out, runtimeInclude, profile, memoryBytes: layout.heapBase, layout });
      const measured = await Promise.all(targets.map(async ([name, target]) => {
        const dir = join(out, "size", name.replace("+", "plus"), `${kind}-${profile}`);
        await mkdir(dir, { recursive: true });
        const compile = async (source, flags) => {
          const object = join(dir, source.replace(/^.*\//, "").replace(/\.c$/, ".o"));
          await runAsync(target.cc, [...target.flags, ...flags.filter((flag) => flag !== "-O2"), ...SIZE_FLAGS, ...common, "-c", source, "-o", object]);
          return object;
        };
        const module = await compile(join(gen, "wasmqtt.c"), GENERATED_FLAGS);
        const glue = [];
        for (const source of DEVICE_GLUE[kind]) glue.push(await compile(join(NATIVE, source), HOST_FLAGS.filter((flag) => flag !== "-D_GNU_SOURCE")));
        const moduleSize = sizes(target.size, [module]);
        const glueSize = sizes(target.size, glue);
        return [profile, kind, name, moduleSize.text, moduleSize.data, moduleSize.bss, glueSize.text, glueSize.data, glueSize.bss - layout.heapBase, layout.heapBase];
      }));
      rows.push(...measured.map((row) => row.map(String)));
    }
  }
  say(formatTable(rows));
}

/** text / data / bss summed over `objects`, from binutils `size` (Berkeley format: rodata counts as text). */
function sizes(tool, objects) {
  const result = spawnSync(tool, objects, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${tool}: ${result.stderr}`);
  const total = { text: 0, data: 0, bss: 0 };
  for (const line of result.stdout.trim().split("\n").slice(1)) {
    const [text, data, bss] = line.trim().split(/\s+/).map(Number);
    total.text += text;
    total.data += data;
    total.bss += bss;
  }
  return total;
}

/** Left-aligned text columns, right-aligned numbers. */
function formatTable(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const pad = (cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]));
  return rows.map((row) => row.map(pad).join("  ")).join("\n");
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

function pick(name, all, what) {
  if (name === undefined) return all;
  if (!all.includes(name)) throw new Error(`unknown ${what} "${name}" (${all.join(", ")})`);
  return [name];
}

function say(line) {
  process.stdout.write(`${line}\n`);
}
