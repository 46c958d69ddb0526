/**
 * Holds every built module (both kinds, every profile) to the portability rules of
 * ARCHITECTURE.md (WAMR, wasm3, wasm2c): only MVP features, fixed memory of one page,
 * imports only from "host", no start function, the memory map exported as immutable
 * globals, a static data end that fits and matches build/sizes.json; and each kind to
 * its surface: the client module has no firmware imports or exports.
 * Reads build/, so the build runs first (`npm test` does that).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const PROFILES = ["desktop", "esp32", "nodemcu"];
const KINDS = ["client", "telemetry"];
const PAGE_BYTES = 65536;
/** asconfig.json's stackSize: the shadow stack between __data_end and __heap_base. */
const STACK_BYTES = JSON.parse(readFileSync(new URL("../../asconfig.json", import.meta.url), "utf8")).options.stackSize as number;
/** What only the telemetry firmware imports and exports (boards/ABI.md, "The telemetry firmware"). */
const FIRMWARE_IMPORTS = ["adcRead", "gpioWrite"];
const FIRMWARE_EXPORTS = ["boardConfigure", "appConfigure", "appStart", "appStop", "appStatsBuffer", "appSetSleep"];
/** Everything past the MVP that a build could use; threads are already off by default. */
const MVP_ONLY = [
  "--disable-bulk-memory",
  "--disable-sign-extension",
  "--disable-saturating-float-to-int",
  "--disable-mutable-globals",
  "--disable-simd",
  "--disable-reference-types",
  "--disable-multi-value",
];

const root = fileURLToPath(new URL("../../", import.meta.url));
const fromRoot = (path: string): string => `${root}${path}`;

/** Runs a wabt tool from node_modules/.bin; fails the test with its stderr when it fails. */
function wabt(tool: string, ...args: string[]): string {
  const result = spawnSync(fromRoot(`node_modules/.bin/${tool}`), args, { encoding: "utf8" });
  assert.equal(result.status, 0, `${tool} ${args.join(" ")}\n${result.stderr}`);
  return result.stdout;
}

/** The module instantiated with every import a no-op. */
async function instantiate(module: WebAssembly.Module): Promise<WebAssembly.Instance> {
  const imports: Record<string, Record<string, () => number>> = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    imports[from] = { ...imports[from], [name]: () => 0 };
  }
  return WebAssembly.instantiate(module, imports);
}

/** staticDataEnd() of the module. */
async function staticDataEnd(module: WebAssembly.Module): Promise<number> {
  const read = (await instantiate(module)).exports.staticDataEnd as () => number;
  return read() >>> 0;
}

for (const kind of KINDS) for (const profile of PROFILES) {
  const name = `${kind}-${profile}`;
  describe(`${name}.wasm`, () => {
    const file = fromRoot(`build/${name}.wasm`);
    let module: WebAssembly.Module;

    before(() => {
      assert.ok(existsSync(file), `${file} is missing: run \`node scripts/build.mjs\` first (npm test does)`);
      module = new WebAssembly.Module(readFileSync(file));
    });

    it("validates with every post-MVP feature disabled", () => {
      wabt("wasm-validate", ...MVP_ONLY, file);
    });

    it("never grows or measures memory", () => {
      const code = wabt("wasm-objdump", "-d", file).split("\n");
      assert.deepEqual(code.filter((line) => /memory\.(grow|size)/.test(line)), []);
    });

    it("imports only functions from the module host", () => {
      const foreign = WebAssembly.Module.imports(module)
        .filter((entry) => entry.module !== "host" || entry.kind !== "function")
        .map((entry) => `${entry.kind} ${entry.module}.${entry.name}`);
      assert.deepEqual(foreign, []);
    });

    it("exports its memory, one page with min = max", () => {
      const exported = WebAssembly.Module.exports(module).find((entry) => entry.name === "memory");
      assert.equal(exported?.kind, "memory");
      const details = wabt("wasm-objdump", "-x", file);
      const memories = [...details.matchAll(/memory\[\d+\] pages: initial=(\d+) max=(\d+)/g)];
      assert.deepEqual(memories.map(([, initial, maximum]) => [initial, maximum]), [["1", "1"]]);
    });

    it("has no start section", () => {
      assert.doesNotMatch(wabt("wasm-objdump", "-h", file), /^\s*Start\b/m);
    });

    it("keeps its static data within the page, as build/sizes.json reports", async () => {
      const end = await staticDataEnd(module);
      assert.ok(end <= PAGE_BYTES, `static data ends at ${end}, past ${PAGE_BYTES}`);
      const sizes = JSON.parse(readFileSync(fromRoot("build/sizes.json"), "utf8"));
      assert.equal(sizes[name]?.staticDataEnd, end, "build/sizes.json is stale: rebuild");
    });

    it("exports its memory map as immutable globals: __heap_base = staticDataEnd(), the shadow stack below it", async () => {
      const details = wabt("wasm-objdump", "-x", file);
      for (const global of ["__heap_base", "__data_end"]) {
        const index = details.match(new RegExp(`global\\[(\\d+)\\] -> "${global}"`))?.[1];
        assert.ok(index !== undefined, `${global} is not exported`);
        assert.match(details, new RegExp(`global\\[${index}\\] i32 mutable=0`), `${global} is mutable`);
      }
      const { exports } = await instantiate(module);
      const heapBase = (exports.__heap_base as WebAssembly.Global).value as number;
      const dataEnd = (exports.__data_end as WebAssembly.Global).value as number;
      assert.equal(heapBase, await staticDataEnd(module));
      assert.equal(heapBase - dataEnd, STACK_BYTES);
    });

    it(kind === "client" ? "has no firmware imports or exports" : "has the firmware's imports and exports", () => {
      const imports = WebAssembly.Module.imports(module).map((entry) => entry.name).filter((entry) => FIRMWARE_IMPORTS.includes(entry));
      const exports = WebAssembly.Module.exports(module).map((entry) => entry.name).filter((entry) => FIRMWARE_EXPORTS.includes(entry) || entry.startsWith("app"));
      assert.deepEqual(imports.sort(), kind === "client" ? [] : [...FIRMWARE_IMPORTS].sort());
      assert.deepEqual(exports.sort(), kind === "client" ? [] : [...FIRMWARE_EXPORTS].sort());
    });
  });
}
