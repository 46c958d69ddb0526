/**
 * The layering of assembly/ (ARCHITECTURE.md, "Layers"): the client core imports no
 * application. The core is copied alone — assembly/ without firmware/ — and built as
 * the client module; it must compile, and to the very bytes of build/client-<profile>.wasm.
 * Reads build/, so the build runs first (`npm test` does that).
 */
import asc from "assemblyscript/asc";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "wasmqtt-core-"));

describe("the client core", () => {
  after(() => rmSync(workDir, { recursive: true, force: true }));

  it("builds without assembly/firmware/, to the same client module", async () => {
    cpSync(join(root, "assembly"), join(workDir, "assembly"), { recursive: true, filter: (source) => !source.includes(join("assembly", "firmware")) });
    cpSync(join(root, "asconfig.json"), join(workDir, "asconfig.json"));
    const outFile = join(workDir, "core.wasm");
    const target = "client-nodemcu";
    const argv = ["assembly/profiles/nodemcu.ts", "assembly/index.ts", "--config", "asconfig.json", "--target", target, "--outFile", outFile, "--textFile", join(workDir, "core.wat"), "--noColors"];
    const { error, stderr } = await asc.main(argv, { baseDir: workDir } as Parameters<typeof asc.main>[1]);
    assert.equal(error, null, stderr.toString());
    assert.ok(readFileSync(outFile).equals(readFileSync(join(root, "build", `${target}.wasm`))), "the core alone built a different client module");
  });
});
