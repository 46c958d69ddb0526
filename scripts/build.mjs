/**
 * Builds wasmqtt: the module for each board profile (build/<profile>.wasm), the host
 * bundle and its type declarations (dist/), and build/sizes.json with every profile's
 * .wasm size, static data end and region capacities, printed as a table.
 *
 * Usage: node scripts/build.mjs [--profile desktop|esp32|nodemcu] [--quiet]
 * --quiet prints errors only. Exits 1 on any error.
 */
import asc from "assemblyscript/asc";
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const PROFILES = ["desktop", "esp32", "nodemcu"];
const SIZES_FILE = "build/sizes.json";
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
];

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
const quiet = process.argv.includes("--quiet");
const say = quiet ? () => {} : (text) => console.log(text);

try {
  const { values: flags } = parseArgs({
    options: { quiet: { type: "boolean" }, profile: { type: "string" } },
  });
  const profiles = selectProfiles(flags.profile);
  await Promise.all(profiles.map(compileProfile));
  await buildHost();
  const sizes = {};
  for (const profile of profiles) sizes[profile] = await measure(profile);
  await writeSizes(sizes);
  say(formatTable(sizes));
} catch (error) {
  console.error(`build failed: ${error.message}`);
  process.exit(1);
}

/** The profiles to build: all of them, or the one named by --profile. */
function selectProfiles(name) {
  if (name === undefined) return PROFILES;
  if (!PROFILES.includes(name)) throw new Error(`unknown profile "${name}" (${PROFILES.join(", ")})`);
  return [name];
}

/** Compiles build/<profile>.wasm; the profile file goes first so its @global constants exist. */
async function compileProfile(profile) {
  const argv = [`assembly/profiles/${profile}.ts`, "--config", "asconfig.json", "--target", profile];
  const { error, stderr } = await asc.main(argv);
  const messages = stderr.toString().trim();
  if (error) throw new Error(`${profile}.wasm: ${error.message}\n${messages}`);
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

/** One esbuild bundle for Node 20; dependencies stay external imports. */
async function bundle({ source, outfile, executable }) {
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
async function measure(profile) {
  const bytes = await readFile(`build/${profile}.wasm`);
  const module = await WebAssembly.compile(bytes);
  const { exports } = await WebAssembly.instantiate(module, noOpImports(module));
  const figures = { wasmBytes: bytes.length, staticDataEnd: exports.staticDataEnd() >>> 0 };
  if (typeof exports.init !== "function" || typeof exports.statsBuffer !== "function") return figures;
  exports.init();
  const stats = new Uint32Array(exports.memory.buffer, exports.statsBuffer(), STATS_FIELDS);
  for (const [name, index] of Object.entries(CAPACITY_FIELDS)) figures[name] = stats[index];
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

/** Merges into build/sizes.json so a single-profile build keeps the others' figures. */
async function writeSizes(sizes) {
  const previous = existsSync(SIZES_FILE) ? JSON.parse(await readFile(SIZES_FILE, "utf8")) : {};
  await writeFile(SIZES_FILE, `${JSON.stringify({ ...previous, ...sizes }, null, 2)}\n`);
}

/** A figure-per-row, profile-per-column table. */
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
