/**
 * The npm package as a user gets it: `npm pack` holds what a user needs and nothing else
 * (no tests, no sources), the tarball installs into an empty project from the npm cache
 * without running a build, `import { connect } from "wasmqtt"` runs and finds its
 * `.wasm`, TypeScript finds the types with moduleResolution node16, nodenext and bundler,
 * and `npx wasmqtt --help`, `sim --help` and the demo (embedded aedes broker on a free
 * loopback port) run. Needs `node scripts/build.mjs` first (the test command
 * builds before it runs the tests).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

/** What a packed file's path may be: the manifest, README, LICENSE, the bundles, their types, the modules, the board files, the dashboard page. */
const ALLOWED = /^(package\.json|README\.md|LICENSE|dist\/[^/]+\.js|dist\/types\/.+\.d\.ts|build\/[^/]+\.wasm|boards\/[^/]+\.(json|md)|web\/[^/]+\.(html|css|js))$/;

let dir: string;
let project: string;
let packed: string[];

/**
 * The environment of a user's shell: without the npm_* variables of an enclosing `npm test`
 * and without its node_modules/.bin on PATH (a dependency of a dev tool brings an old npm
 * there, which would run instead of the user's).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")));
  env.PATH = (env.PATH ?? "").split(path.delimiter).filter((entry) => !entry.endsWith(path.join("node_modules", ".bin"))).join(path.delimiter);
  return env;
}

/** Runs `command` in the temp project; rejects with its output when it exits non-zero. */
async function inProject(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(command, args, { cwd: project, env: cleanEnv(), maxBuffer: 16 << 20 });
}

before(async () => {
  for (const built of ["dist/index.js", "dist/cli.js", "dist/types/host/index.d.ts"]) {
    assert.ok(existsSync(path.join(ROOT, built)), `${built} is missing: run node scripts/build.mjs first`);
  }
  assert.ok(readdirSync(path.join(ROOT, "build")).some((name) => name.endsWith(".wasm")), "build/*.wasm missing: run node scripts/build.mjs first");
  dir = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-package-"));
  project = path.join(dir, "project");
  // --ignore-scripts: prepack would build again; the test command has just built
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, env: cleanEnv() });
  const [manifest] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  packed = manifest.files.map((file) => file.path);
  writeFileSync(path.join(dir, "package.json"), "{}\n"); // keeps npm from walking up to an enclosing project
  mkdirSync(project);
  writeFileSync(path.join(project, "package.json"), `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`);
  await inProject("npm", ["install", path.join(dir, manifest.filename), "--prefer-offline", "--no-audit", "--no-fund"]);
});
after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test("the tarball holds the bundles, their types, the modules and the board files, and no tests or sources", () => {
  const stray = packed.filter((file) => !ALLOWED.test(file));
  assert.deepEqual(stray, [], `files a user does not need: ${stray.join(", ")}`);
  for (const needed of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/cli.js", "dist/browser.js", "dist/types/host/index.d.ts", "dist/types/host/browser.d.ts", "boards/nodemcu-v3.json", "boards/ABI.md", "web/index.html", "web/dashboard.js", "web/chart.js"]) {
    assert.ok(packed.includes(needed), `${needed} is not in the tarball`);
  }
  const modules = ["client", "telemetry"].flatMap((kind) => ["desktop", "esp32", "nodemcu"].map((profile) => `build/${kind}-${profile}.wasm`));
  assert.deepEqual(packed.filter((file) => file.startsWith("build/")).sort(), modules.sort(), "both module kinds of every profile, nothing else");
  const installed = JSON.parse(readFileSync(path.join(project, "node_modules/wasmqtt/package.json"), "utf8")) as Record<string, unknown>;
  assert.equal(installed.private, undefined, "the package is not private");
  assert.equal((installed.scripts as Record<string, string>).prepare, undefined, "no prepare script runs on install");
});

test("import { connect } from \"wasmqtt\" runs in an ESM script and loads the module", async () => {
  writeFileSync(
    path.join(project, "smoke.mjs"),
    [
      'import { connect, createClient, Status } from "wasmqtt";',
      'const client = await createClient("mqtt://127.0.0.1:1", { profile: "nodemcu" });',
      "console.log(typeof connect, Status.OUTBOX_FULL, client.stats().subscriptions.capacity > 0);",
      "await client.end();",
    ].join("\n"),
  );
  const { stdout } = await inProject(process.execPath, ["smoke.mjs"]);
  assert.equal(stdout.trim(), "function -4 true");
});

test("TypeScript finds the types with moduleResolution node16, nodenext and bundler", () => {
  const file = path.join(project, "use.ts");
  writeFileSync(
    file,
    [
      'import { connect, type ClientOptions, WasmqttError } from "wasmqtt";',
      'const options: ClientOptions = { clientId: "x", reconnectPeriod: 1000, connectTimeout: 500 };',
      "// @ts-expect-error: an unknown option is a type error, so the types are real, not any",
      'const wrong: ClientOptions = { clientID: "x" };',
      "export async function use(): Promise<string> {",
      '  const client = await connect("mqtt://127.0.0.1:1883", options);',
      '  await client.publish("a/b", "x", { qos: 1 });',
      "  await client.end();",
      '  return new WasmqttError("INVALID_ARGUMENT", "m").code + String(wrong);',
      "}",
    ].join("\n"),
  );
  // one compiler host cache for the three programs: lib and @types/node are parsed once
  const parsed = new Map<string, ts.SourceFile | undefined>();
  for (const [resolution, module] of [
    [ts.ModuleResolutionKind.Node16, ts.ModuleKind.Node16],
    [ts.ModuleResolutionKind.NodeNext, ts.ModuleKind.NodeNext],
    [ts.ModuleResolutionKind.Bundler, ts.ModuleKind.ESNext],
  ] as const) {
    const options: ts.CompilerOptions = {
      module,
      moduleResolution: resolution,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      types: ["node"],
      typeRoots: [path.join(ROOT, "node_modules/@types")],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version, onError, create) => {
      const key = `${name}\0${JSON.stringify(version)}`;
      if (!parsed.has(key)) parsed.set(key, getSourceFile(name, version, onError, create));
      return parsed.get(key);
    };
    const program = ts.createProgram([file], options, host);
    // every diagnostic of the script and of wasmqtt's declarations (not of lib and @types/node, which are not ours to check)
    const ours = program.getSourceFiles().filter((source) => source.fileName === file || source.fileName.includes("/node_modules/wasmqtt/"));
    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...ours.flatMap((source) => [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]),
    ];
    const problems = diagnostics.map((diagnostic) => {
      const where = diagnostic.file ? `${path.relative(project, diagnostic.file.fileName)}: ` : "";
      return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
    });
    assert.deepEqual(problems, [], `moduleResolution ${ts.ModuleResolutionKind[resolution]}`);
    const resolved = program.getSourceFiles().find((source) => source.fileName.endsWith("wasmqtt/dist/types/host/index.d.ts"));
    assert.ok(resolved, `moduleResolution ${ts.ModuleResolutionKind[resolution]}: "wasmqtt" resolves to dist/types/host/index.d.ts`);
  }
});

test("npx wasmqtt --help, sim --help and the demo (its embedded aedes broker a runtime dependency) run from the installed package", async () => {
  const help = await inProject("npx", ["--no", "--", "wasmqtt", "--help"]);
  assert.match(help.stdout, /^wasmqtt: an MQTT 3\.1\.1 client/);
  const sim = await inProject("npx", ["--no", "--", "wasmqtt", "sim", "--help"]);
  assert.match(sim.stdout, /^wasmqtt sim: /);
  const demo = await inProject("npx", ["--no", "--", "wasmqtt", "demo"]);
  assert.match(demo.stdout, /^Broker \(aedes\) listening on mqtt:\/\/127\.0\.0\.1:\d+$/m);
  assert.match(demo.stdout, /^All 3 messages arrived$/m);
});
