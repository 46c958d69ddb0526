/**
 * Holds every built profile to the module portability rules of DESIGN.md (WAMR, wasm3,
 * wasm2c): only MVP features, fixed memory of one page, imports only from "host",
 * no start function, and a static data end that fits and matches build/sizes.json.
 * Reads build/, so the build runs first (`npm test` does that).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const PROFILES = ["desktop", "esp32", "nodemcu"];
const PAGE_BYTES = 65536;
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

/** staticDataEnd() of the module, instantiated with every import a no-op. */
async function staticDataEnd(module: WebAssembly.Module): Promise<number> {
  const imports: Record<string, Record<string, () => number>> = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    imports[from] = { ...imports[from], [name]: () => 0 };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const read = instance.exports.staticDataEnd as () => number;
  return read() >>> 0;
}

for (const profile of PROFILES) {
  describe(`${profile}.wasm`, () => {
    const file = fromRoot(`build/${profile}.wasm`);
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
      assert.equal(sizes[profile]?.staticDataEnd, end, "build/sizes.json is stale: rebuild");
    });
  });
}
