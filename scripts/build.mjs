/**
 * Builds wasmqtt: for each board profile the two module kinds — the client module
 * (build/client-<profile>.wasm: the MQTT client core alone) and the telemetry firmware
 * module (build/telemetry-<profile>.wasm: the core plus assembly/firmware/) —, the host
 * bundles (dist/: the Node API, the CLI, and the browser API, whose size is printed and
 * which must not reach a Node built-in) and their type declarations, and build/sizes.json
 * with every module's .wasm size, static data end, region capacities and persistent block
 * length (boards/ABI.md, "Persistent state"), printed as a table.
 *
 * Usage: node scripts/build.mjs [--profile desktop|esp32|nodemcu] [--quiet] [--if-changed]
 * --quiet prints errors only. --if-changed builds only when a source changed since the
 * last full build (a hash of every input, kept in build/inputs.sha256) and then says so;
 * otherwise it prints nothing. Exits 1 on any error.
 */
import asc from "assemblyscript/asc";
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const PROFILES = ["desktop", "esp32", "nodemcu"];
/** Each module kind and its entry file (compiled after the profile file). */
const KINDS = { client: "assembly/index.ts", telemetry: "assembly/firmware/index.ts" };
const SIZES_FILE = "build/sizes.json";
const INPUTS_FILE = "build/inputs.sha256";
/** What a build reads: a change to any of these makes --if-changed build. */
const INPUTS = ["assembly", "host", "boards", "scripts/build.mjs", "asconfig.json", "package.json", "tsconfig.build.json", "tsconfig.json"];
const STATS_FIELDS = 35;
/** Stats block index of each region capacity (boards/ABI.md, "Stats block"). */
const CAPACITY_FIELDS = {
  rxCapacity: 1,
  txCapacity: 3,
  outboxCapacity: 6,
  stagingCapacity: 25,
  inflightCapacity: 10,
  subscriptionCapacity: 12,
  inboundQos2Capacity: 14,
  maxTopicLength: 26,
};
const HOST_ENTRIES = [
  { source: "host/index.ts", outfile: "dist/index.js" },
  { source: "host/cli.ts", outfile: "dist/cli.js", executable: true },
  { source: "host/browser.ts", outfile: "dist/browser.js", browser: true },
];
/** Node globals a browser lacks: none may appear in the browser bundle. */
const NODE_GLOBALS = /\b(Buffer|process|setImmediate|require|__dirname|__filename)\b/g;
/** The browser bundle takes this file in place of host/platform.ts. */
const BROWSER_PLATFORM = "host/platform.browser.ts";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
const quiet = process.argv.includes("--quiet");
const say = quiet ? () => {} : (text) => console.log(text);

try {
  const { values: flags } = parseArgs({
    options: { quiet: { type: "boolean" }, profile: { type: "string" }, "if-changed": { type: "boolean" } },
  });
  const profiles = selectProfiles(flags.profile);
  const inputs = await hashInputs();
  if (flags["if-changed"]) {
    const previous = existsSync(INPUTS_FILE) ? (await readFile(INPUTS_FILE, "utf8")).trim() : "";
    if (previous === inputs && profiles.every(isBuilt)) process.exit(0);
    console.log(previous === "" ? "wasmqtt: first build (modules and host bundle)…" : "wasmqtt: sources changed since the last build, rebuilding…");
  }
  const modules = profiles.flatMap((profile) => Object.keys(KINDS).map((kind) => ({ kind, profile })));
  await Promise.all(modules.map(compileModule));
  await buildHost();
  const sizes = {};
  for (const module of modules) sizes[moduleName(module)] = await measure(module);
  const complete = profiles.length === PROFILES.length;
  await writeSizes(sizes, complete);
  if (complete) {
    await removeStaleModules(modules.map(moduleName));
    await writeFile(INPUTS_FILE, `${inputs}\n`);
  }
  say(formatTable(sizes));
} catch (error) {
  console.error(`build failed: ${error.message}`);
  process.exit(1);
}

/** `<kind>-<profile>`: the module's file name without .wasm, and its asconfig target. */
function moduleName({ kind, profile }) {
  return `${kind}-${profile}`;
}

/** True when every output of a profile exists. */
function isBuilt(profile) {
  const outputs = Object.keys(KINDS).map((kind) => `build/${moduleName({ kind, profile })}.wasm`);
  return [...outputs, ...HOST_ENTRIES.map((entry) => entry.outfile)].every((file) => existsSync(file));
}

/** Deletes the .wasm / .wat files in build/ that no module of this build wrote (outputs of older layouts), so a package never ships them. */
async function removeStaleModules(names) {
  const stale = (await readdir("build")).filter((file) => /\.(wasm|wat)$/.test(file) && !names.includes(file.replace(/\.(wasm|wat)$/, "")));
  await Promise.all(stale.map((file) => rm(join("build", file))));
}

/** A SHA-256 over the path and content of every input file, in name order. */
async function hashInputs() {
  const hash = createHash("sha256");
  const files = (await Promise.all(INPUTS.map(listFiles))).flat().sort();
  for (const file of files) hash.update(`${file}\0`).update(await readFile(file)).update("\0");
  return hash.digest("hex");
}

/** The files under a path (the path itself when it is a file); none when it is absent. */
async function listFiles(path) {
  if (!existsSync(path)) return [];
  const entries = await readdir(path, { withFileTypes: true }).catch(() => null);
  if (entries === null) return [path];
  const nested = await Promise.all(entries.map((entry) => listFiles(join(path, entry.name))));
  return nested.flat();
}

/** The profiles to build: all of them, or the one named by --profile. */
function selectProfiles(name) {
  if (name === undefined) return PROFILES;
  if (!PROFILES.includes(name)) throw new Error(`unknown profile "${name}" (${PROFILES.join(", ")})`);
  return [name];
}

/** Compiles build/<kind>-<profile>.wasm; the profile file goes first so its @global constants exist. */
async function compileModule(module) {
  const name = moduleName(module);
  const argv = [`assembly/profiles/${module.profile}.ts`, KINDS[module.kind], "--config", "asconfig.json", "--target", name];
  const { error, stderr } = await asc.main(argv);
  const messages = stderr.toString().trim();
  if (error) throw new Error(`${name}.wasm: ${error.message}\n${messages}`);
  if (messages) say(messages);
}

/** Bundles each host entry that exists yet into dist/ and emits its type declarations. */
async function buildHost() {
  const present = HOST_ENTRIES.filter((entry) => existsSync(entry.source));
  const absent = HOST_ENTRIES.filter((entry) => !present.includes(entry));
  if (absent.length > 0) say(`host: skipped ${absent.map((entry) => entry.source).join(", ")} (not written yet)`);
  for (const entry of present) await bundle(entry);
  if (present.length > 0) typeDeclarations();
}

/** One esbuild bundle: for Node 20 with dependencies as external imports, or the browser bundle. */
async function bundle({ source, outfile, executable, browser }) {
  if (browser) return bundleForBrowser(source, outfile);
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    banner: executable ? { js: "#!/usr/bin/env node" } : undefined,
    logLevel: "error",
  });
  if (executable) await chmod(outfile, 0o755);
}

/**
 * The browser bundle: everything inlined (no package imports), host/platform.browser.ts in
 * place of host/platform.ts, minified for ES2022 browsers. Fails when any input is a Node
 * built-in or reaches one, or the output names a Node global; prints its size.
 */
async function bundleForBrowser(source, outfile) {
  const platformSeam = {
    name: "browser-platform",
    setup(plugin) {
      plugin.onResolve({ filter: /\/platform\.ts$/ }, () => ({ path: resolve(BROWSER_PLATFORM) }));
    },
  };
  const { metafile } = await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    metafile: true,
    plugins: [platformSeam],
    logLevel: "error",
  });
  const nodeBuiltins = Object.entries(metafile.inputs).flatMap(([file, input]) => [
    ...(/^node:/.test(file) ? [file] : []),
    ...input.imports.filter((imported) => /^node:/.test(imported.path) || imported.external).map((imported) => `${imported.path} (from ${file})`),
  ]);
  if (nodeBuiltins.length > 0) throw new Error(`${outfile} reaches Node built-ins or external imports: ${nodeBuiltins.join(", ")}`);
  const bytes = await readFile(outfile);
  const nodeGlobals = [...new Set(bytes.toString("utf8").match(NODE_GLOBALS) ?? [])];
  if (nodeGlobals.length > 0) throw new Error(`${outfile} uses Node globals a browser lacks: ${nodeGlobals.join(", ")}`);
  say(`${outfile}: ${bytes.length} bytes, ${gzipSync(bytes).length} gzipped (${Object.keys(metafile.inputs).length} inputs, no Node built-ins)`);
}

/** dist/types/ from tsconfig.build.json. */
function typeDeclarations() {
  const tsc = fileURLToPath(import.meta.resolve("typescript/bin/tsc"));
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.build.json\n${result.stdout}${result.stderr}`);
}

/**
 * Reads a profile's figures from the module itself: every import a no-op returning 0,
 * then staticDataEnd(), and after init() the capacities in the stats block (once the
 * module exports init and statsBuffer).
 */
async function measure(target) {
  const bytes = await readFile(`build/${moduleName(target)}.wasm`);
  const module = await WebAssembly.compile(bytes);
  const { exports } = await WebAssembly.instantiate(module, noOpImports(module));
  const figures = { wasmBytes: bytes.length, staticDataEnd: exports.staticDataEnd() >>> 0 };
  if (typeof exports.init !== "function" || typeof exports.statsBuffer !== "function") return figures;
  exports.init();
  const stats = new Uint32Array(exports.memory.buffer, exports.statsBuffer(), STATS_FIELDS);
  for (const [name, index] of Object.entries(CAPACITY_FIELDS)) figures[name] = stats[index];
  figures.persistLength = exports.persistLength();
  return figures;
}

/** An import object that satisfies every function import with `() => 0`. */
function noOpImports(module) {
  const imports = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    imports[from] ??= {};
    imports[from][name] = () => 0;
  }
  return imports;
}

/** Writes build/sizes.json: a full build replaces it, a single-profile build merges into it. */
async function writeSizes(sizes, complete) {
  const previous = !complete && existsSync(SIZES_FILE) ? JSON.parse(await readFile(SIZES_FILE, "utf8")) : {};
  await writeFile(SIZES_FILE, `${JSON.stringify({ ...previous, ...sizes }, null, 2)}\n`);
}

/** A figure-per-row, module-per-column table. */
function formatTable(sizes) {
  const profiles = Object.keys(sizes);
  const names = [...new Set(profiles.flatMap((profile) => Object.keys(sizes[profile])))];
  const rows = [
    ["", ...profiles],
    ...names.map((name) => [name, ...profiles.map((profile) => String(sizes[profile][name] ?? "-"))]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const pad = (cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]));
  return rows.map((row) => row.map(pad).join("  ")).join("\n");
}
