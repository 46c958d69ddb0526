/**
 * Builds the native fuzz target of the client module (tests/fuzz/native/harness.c) into
 * build/native/fuzz/<profile>/, twice:
 *
 *   fuzz   clang -fsanitize=fuzzer,address,undefined -O1 -g (findings abort)
 *   cover  clang -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -O1 -g
 *          (runs a corpus once for the coverage report)
 *
 * Only the module's C guides the fuzzer (SanitizerCoverage, without wasm2c's load and
 * store helpers: tests/fuzz/native/sancov-ignore.txt); the runtime and the harness are
 * sanitized but not instrumented for coverage.
 *
 * Both from the same C as every native build: wasm2c 1.0.32's output and
 * boards/native/wasm-rt-static.c, with its bounds checks and a memory of exactly
 * __heap_base bytes. The module is compiled again with asc --debug, which adds a name
 * section, so wasm2c keeps the module's function names; the build checks that the
 * .wasm without that section is byte for byte build/client-<profile>.wasm, so the
 * fuzzed code is the shipped code. A build whose inputs did not change is reused.
 */
import asc from "assemblyscript/asc";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findRuntimeHeader, findWasm2c, moduleLayout, requireTool, run, runAsync } from "../../../scripts/wasm2c.mjs";

export { run };

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HARNESS = join(ROOT, "tests/fuzz/native/harness.c");
const RUNTIME = join(ROOT, "boards/native/wasm-rt-static.c");
const IGNORELIST = join(ROOT, "tests/fuzz/native/sancov-ignore.txt");
const CLANG = "clang-14";
export const LLVM_PROFDATA = "llvm-profdata-14";
export const LLVM_COV = "llvm-cov-14";

/** Bounds checks instead of guard pages (boards/native/README.md); NDEBUG as the native build. */
const RUNTIME_DEFINES = ["-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-DNDEBUG"];
/** The warnings wasm2c's output cannot avoid (scripts/build-native.mjs). */
const GENERATED_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", "-Wno-unused-parameter", "-Wno-unused-value"];
const HARNESS_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"];
/**
 * Each build's flags: `module` for the wasm2c output (coverage-guided), `glue` for the
 * runtime and the harness (sanitized, not guiding: their branches say nothing about the
 * module), `link` for the program.
 */
const VARIANTS = {
  fuzz: {
    module: ["-O1", "-g", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined", `-fsanitize-coverage-ignorelist=${IGNORELIST}`],
    glue: ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
    link: ["-fsanitize=fuzzer,address,undefined"],
  },
  cover: {
    module: ["-O1", "-g", "-fsanitize=fuzzer", "-fprofile-instr-generate", "-fcoverage-mapping"],
    glue: ["-O1", "-g"],
    link: ["-fsanitize=fuzzer", "-fprofile-instr-generate"],
  },
} as const;

export interface Target {
  profile: string;
  dir: string;
  /** The libFuzzer binary with ASan and UBSan. */
  fuzz: string;
  /** The libFuzzer binary with coverage instrumentation. */
  cover: string;
  /** The wasm2c output, the file the coverage report is about. */
  generated: string;
  /** The debug-named .wasm it came from. */
  wasm: string;
  memoryBytes: number;
  rxCapacity: number;
}

/** Builds (or reuses) the target of `profile`. Throws with the failing command's output. */
export async function buildTarget(profile: string): Promise<Target> {
  for (const tool of [CLANG, LLVM_PROFDATA, LLVM_COV, "wasm-strip"]) requireTool(tool, "apt-get install clang-14 llvm-14 libclang-rt-14-dev wabt");
  const release = join(ROOT, `build/client-${profile}.wasm`);
  if (!existsSync(release)) throw new Error(`${release} is missing: run node scripts/build.mjs first`);
  const dir = join(ROOT, "build/native/fuzz", profile);
  mkdirSync(dir, { recursive: true });
  const wasm = join(dir, `client-${profile}.wasm`);
  await compileDebug(profile, wasm);
  const stripped = join(dir, "stripped.wasm");
  run("wasm-strip", [wasm, "-o", stripped]);
  if (!readFileSync(stripped).equals(readFileSync(release))) {
    throw new Error(`${wasm} without its name section differs from ${release}: rebuild with node scripts/build.mjs`);
  }
  const generated = join(dir, "wasmqtt.c");
  const target: Target = { profile, dir, fuzz: join(dir, "fuzz"), cover: join(dir, "cover"), generated, wasm, memoryBytes: 0, rxCapacity: 0 };
  const hash = createHash("sha256");
  for (const file of [wasm, HARNESS, RUNTIME, IGNORELIST]) hash.update(readFileSync(file));
  hash.update(JSON.stringify([VARIANTS, GENERATED_FLAGS, HARNESS_FLAGS, RUNTIME_DEFINES]));
  const inputs = hash.digest("hex");
  const stamp = join(dir, "inputs.sha256");
  const layoutFile = join(dir, "layout.json");
  const built = existsSync(stamp) && readFileSync(stamp, "utf8") === inputs && existsSync(target.fuzz) && existsSync(target.cover);
  if (!built) {
    run(findWasm2c(), [wasm, "-o", generated, "-n", "wasmqtt"]);
    const layout = moduleLayout(readFileSync(generated, "utf8"), generated);
    writeFileSync(layoutFile, JSON.stringify(layout));
    const defines = moduleDefines(dir, layout, layout.heapBase);
    await Promise.all(Object.entries(VARIANTS).map(async ([variant, flags]) => {
      const objects = [];
      const sources = [[generated, GENERATED_FLAGS, flags.module], [RUNTIME, HARNESS_FLAGS, flags.glue], [HARNESS, HARNESS_FLAGS, flags.glue]] as const;
      for (const [source, warnings, codegen] of sources) {
        const object = join(dir, `${variant}-${source.replace(/^.*\//, "").replace(/\.c$/, ".o")}`);
        await runAsync(CLANG, [...warnings, ...codegen, ...defines, "-c", source, "-o", object]);
        objects.push(object);
      }
      await runAsync(CLANG, [...flags.link, "-o", join(dir, variant), ...objects]);
    }));
    writeFileSync(stamp, inputs);
  }
  const layout = JSON.parse(readFileSync(layoutFile, "utf8"));
  target.memoryBytes = layout.heapBase;
  target.rxCapacity = rxCapacityOf(profile);
  return target;
}

/**
 * The fuzz build of `target` with a linear memory of `memoryBytes` instead of its
 * __heap_base (test use: a memory too small traps, and the trap must come out as a
 * finding): the runtime compiled for that size, linked with the fuzz build's other
 * objects. Returns the program's path.
 */
export async function buildWithMemory(target: Target, memoryBytes: number): Promise<string> {
  const layout: Layout = JSON.parse(readFileSync(join(target.dir, "layout.json"), "utf8"));
  const object = join(target.dir, `fuzz-wasm-rt-static-${memoryBytes}.o`);
  await runAsync(CLANG, [...HARNESS_FLAGS, ...VARIANTS.fuzz.glue, ...moduleDefines(target.dir, layout, memoryBytes), "-c", RUNTIME, "-o", object]);
  const program = join(target.dir, `fuzz-memory-${memoryBytes}`);
  await runAsync(CLANG, [...VARIANTS.fuzz.link, "-o", program, join(target.dir, "fuzz-wasmqtt.o"), object, join(target.dir, "fuzz-harness.o")]);
  return program;
}

type Layout = ReturnType<typeof moduleLayout>;

/** The -D and -I flags every compile of the module's C and its glue takes (as scripts/build-native.mjs). */
function moduleDefines(dir: string, layout: Layout, memoryBytes: number): string[] {
  return [
    ...RUNTIME_DEFINES,
    `-DWASMQTT_MEMORY_BYTES=${memoryBytes}`,
    `-DWASMQTT_TABLE_ELEMENTS=${Math.max(1, layout.tableElements)}`,
    `-DWASMQTT_FUNC_TYPES=${Math.max(1, layout.funcTypes)}`,
    `-DWASMQTT_FUNC_VALUES=${Math.max(1, layout.funcValues)}`,
    `-I${dir}`, `-I${join(ROOT, "boards/native")}`, `-I${findRuntimeHeader()}`,
  ];
}

/** asc with build/client-<profile>'s options and --debug (a name section), into `outFile`. */
async function compileDebug(profile: string, outFile: string): Promise<void> {
  const argv = [
    `assembly/profiles/${profile}.ts`, "assembly/index.ts", "--config", "asconfig.json", "--target", `client-${profile}`,
    "--debug", "--outFile", outFile, "--textFile", outFile.replace(/\.wasm$/, ".wat"),
  ];
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const { error, stderr } = await asc.main(argv);
    if (error) throw new Error(`asc --debug client-${profile}: ${error.message}\n${stderr.toString()}`);
  } finally {
    process.chdir(cwd);
  }
}

/** The receive buffer's size, from build/sizes.json (scripts/build.mjs). */
function rxCapacityOf(profile: string): number {
  const sizes = JSON.parse(readFileSync(join(ROOT, "build/sizes.json"), "utf8"));
  const rx = sizes[`client-${profile}`]?.rxCapacity;
  if (typeof rx !== "number") throw new Error(`build/sizes.json has no rxCapacity for client-${profile}`);
  return rx;
}

