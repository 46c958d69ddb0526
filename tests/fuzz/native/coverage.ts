/**
 * The coverage a corpus reaches of the module's functions: the coverage build
 * (tests/fuzz/native/build.ts) runs every input once (libFuzzer -runs=0), then
 * llvm-profdata-14 and llvm-cov-14 report per function of the wasm2c output. wasm2c
 * names a function `w2c_` + its name-section name with every other character than
 * [A-Za-z0-9_] made `_`; the report maps the names back (assembly/client/parseReceived).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { LLVM_COV, LLVM_PROFDATA, run, type Target } from "./build.ts";

export interface FunctionCoverage {
  /** The module's name (name section), or the generated one when it is not found. */
  name: string;
  lines: number;
  missedLines: number;
  covered: boolean;
}

export interface Coverage {
  /** The module's own functions (no export wrappers, no wasm2c helpers). */
  functions: FunctionCoverage[];
  covered: number;
  lines: number;
  coveredLines: number;
}

/** Runs every input in `dirs` once through the coverage build and reports; `scratch` takes the profile files. */
export function measureCoverage(target: Target, dirs: string[], scratch: string): Coverage {
  const raw = join(scratch, "cover.profraw");
  const data = join(scratch, "cover.profdata");
  const result = spawnSync(target.cover, ["-runs=0", ...dirs], { env: { ...process.env, LLVM_PROFILE_FILE: raw }, encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`the coverage build failed on the corpus (exit ${result.status}):\n${result.stderr.slice(-4000)}`);
  run(LLVM_PROFDATA, ["merge", "-sparse", raw, "-o", data]);
  const report = run(LLVM_COV, ["report", "-show-functions", target.cover, `-instr-profile=${data}`, target.generated]);
  const names = moduleFunctionNames(target.wasm);
  const functions: FunctionCoverage[] = [];
  for (const line of report.split("\n")) {
    // [file:]name  Regions Miss Cover  Lines Miss Cover  Branches Miss Cover (static functions carry their file)
    const m = /^(?:[^\s:]+:)?(w2c_\w+)\s+\d+\s+\d+\s+[\d.]+%\s+(\d+)\s+(\d+)\s+[\d.]+%/.exec(line);
    if (m === null || !names.has(m[1])) continue;
    const lines = Number(m[2]);
    const missedLines = Number(m[3]);
    functions.push({ name: names.get(m[1])!, lines, missedLines, covered: missedLines < lines });
  }
  const lines = functions.reduce((sum, f) => sum + f.lines, 0);
  return {
    functions,
    covered: functions.filter((f) => f.covered).length,
    lines,
    coveredLines: lines - functions.reduce((sum, f) => sum + f.missedLines, 0),
  };
}

/** The defined functions' names from the .wasm's name section, keyed by wasm2c's name for them. */
function moduleFunctionNames(wasm: string): Map<string, string> {
  const names = new Map<string, string>();
  const details = run("wasm-objdump", ["-x", wasm]);
  const section = /^Function\[\d+\]:\n((?: - .*\n)*)/m.exec(details)?.[1] ?? "";
  for (const m of section.matchAll(/^ - func\[\d+\] sig=\d+ <(.+)>$/gm)) {
    names.set(`w2c_${m[1].replace(/[^A-Za-z0-9_]/g, "_")}`, m[1]);
  }
  return names;
}

/** The report's lines: totals, then the functions no input reached. */
export function formatCoverage(c: Coverage): string {
  const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole).toFixed(1);
  const missed = c.functions.filter((f) => !f.covered).map((f) => f.name);
  return [
    `coverage: ${c.covered} / ${c.functions.length} module functions (${percent(c.covered, c.functions.length)} %), ` +
      `${c.coveredLines} / ${c.lines} lines of them in the wasm2c output (${percent(c.coveredLines, c.lines)} %)`,
    `  not reached: ${missed.length === 0 ? "none" : missed.join(", ")}`,
  ].join("\n");
}
