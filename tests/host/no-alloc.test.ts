/**
 * Proves the static runtime (assembly/rt/static.ts) turns every allocation into a build
 * error: each allocating construct in tests/fixtures/alloc-probe.ts is built on its own
 * with the options of asconfig.json and must fail with the runtime's "dynamic
 * allocation" ERROR, while tests/fixtures/static-probe.ts (the control) must build.
 */
import asc from "assemblyscript/asc";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = join(root, "tests/fixtures");
const workDir = mkdtempSync(join(tmpdir(), "wasmqtt-no-alloc-"));
/** asconfig.json's options without its entries, so only the probe is compiled. */
const config = join(workDir, "asconfig.json");
writeFileSync(config, JSON.stringify({ options: JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8")).options }));

interface Build {
  failed: boolean;
  messages: string;
  outFile: string;
}

/** Builds a module whose only export is `fixture`'s function `name`, as `probe`. */
async function buildProbe(fixture: string, name: string): Promise<Build> {
  const entry = join(workDir, `${name}.ts`);
  const from = relative(workDir, join(fixtures, fixture)).replace(/\.ts$/, "");
  writeFileSync(entry, `export { ${name} as probe } from "${from}";\n`);
  const outFile = join(workDir, `${name}.wasm`);
  const argv = [entry, "--config", config, "--baseDir", root, "--outFile", outFile, "--noColors"];
  const { error, stderr } = await asc.main(argv);
  return { failed: error !== null, messages: stderr.toString(), outFile };
}

describe("the static runtime", () => {
  after(() => rmSync(workDir, { recursive: true, force: true }));

  for (const name of ["newArray", "concatString", "newInstance"]) {
    it(`rejects ${name} with a dynamic allocation error`, async () => {
      const build = await buildProbe("alloc-probe.ts", name);
      assert.ok(build.failed, `${name} built, but it allocates`);
      const errors = build.messages.match(/^ERROR .*$/gm) ?? [];
      assert.ok(errors.length > 0, build.messages);
      for (const error of errors) assert.match(error, /wasmqtt: dynamic allocation/, build.messages);
    });
  }

  it("builds static-memory code (control)", async () => {
    const build = await buildProbe("static-probe.ts", "roundTrip");
    assert.ok(!build.failed, build.messages);
    assert.ok(existsSync(build.outFile), `no ${build.outFile}`);
  });
});
