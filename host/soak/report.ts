/**
 * The soak's report directory: `report.json` (the whole {@link SoakResult}) and
 * `report.html`, one self-contained page — inline CSS and SVG, no scripts, no external
 * assets — with the summary, the invariants, plots over virtual time (real time with
 * `--real`; module memory, host
 * memory per device, outbox occupancy, reconnects, delivery latency; broker restarts
 * marked) and the fault log.
 *
 * @example
 * const { json, html } = await writeReport("reports/soak-1", result);
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatVirtualTime } from "../sim/view.ts";
import { escapeXml, linePlot } from "./plot.ts";
import { MergeError, PARTIAL_FORMAT, type SoakPartial } from "./partial.ts";
import type { SoakResult } from "./soak.ts";
import { formatSummary } from "./summary.ts";

/** Writes report.json and report.html into `dir` (created if needed); returns their paths. */
export async function writeReport(dir: string, result: SoakResult): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, "report.json");
  const html = join(dir, "report.html");
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(html, renderHtml(result));
  return { json, html };
}

/** Writes a shard's part as `dir/partial.json` (created if needed); returns its path. */
export async function writePartial(dir: string, part: SoakPartial): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, "partial.json");
  await writeFile(file, `${JSON.stringify(part)}\n`);
  return file;
}

/** Reads `dir/partial.json` (or `dir` itself when it names a .json file). Throws {@link MergeError} naming what is wrong. */
export async function readPartial(dir: string): Promise<SoakPartial> {
  const file = dir.endsWith(".json") ? dir : join(dir, "partial.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new MergeError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file (was the shard run with --shard and --report?)" : (error as Error).message}`);
  }
  let part: SoakPartial;
  try {
    part = JSON.parse(text) as SoakPartial;
  } catch (error) {
    throw new MergeError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof part !== "object" || part === null || part.format !== PARTIAL_FORMAT) throw new MergeError(`${file} is not a partial soak report (expected format ${PARTIAL_FORMAT})`);
  return part;
}

/** Broker restart markers drawn at most (a broker per device can restart thousands of times). */
const MARKERS = 200;

/** The HTML page of a run. */
export function renderHtml(result: SoakResult): string {
  const xMaxMs = result.virtualMs;
  const series = result.series;
  const restarts = result.faultLog
    .filter((entry) => entry.kind === "restart")
    .slice(0, MARKERS)
    .map((entry) => ({ atMs: entry.atMs, color: entry.detail?.startsWith("losing") ? "#8e44ad" : "#7f8c8d", label: `broker restart ${formatVirtualTime(entry.atMs)}${entry.device === undefined ? "" : ` (${entry.device}'s broker)`}: ${entry.detail ?? ""}` }));
  const memory = series.filter((point) => point.heapPerDevice !== undefined);
  const latency = series.filter((point) => point.latencyCount > 0);
  const time = result.settings.mode === "real" ? "real time" : "virtual time";
  const axes = { xMaxMs, markers: restarts, xLabel: time };
  const plots = [
    linePlot({ title: "Module memory (largest linear memory among the devices)", unit: "B", ...axes, lines: [{ name: "memory", color: "#2c3e50", points: series.map((p) => [p.atMs, p.moduleMemoryBytes]) }] }),
    linePlot({
      title: "Host memory per device (live heap after a full GC)", unit: "B", ...axes,
      lines: [
        { name: "V8 heap", color: "#2980b9", points: memory.map((p) => [p.atMs, p.heapPerDevice ?? 0]) },
        { name: "external", color: "#16a085", points: memory.map((p) => [p.atMs, p.externalPerDevice ?? 0]) },
      ],
    }),
    linePlot({
      title: "Outbox occupancy", unit: "B", ...axes,
      lines: [
        { name: "mean", color: "#27ae60", points: series.map((p) => [p.atMs, p.outboxMeanBytes]) },
        { name: "max", color: "#c0392b", points: series.map((p) => [p.atMs, p.outboxMaxBytes]) },
      ],
    }),
    linePlot({ title: "Reconnects (all devices, cumulative)", unit: "", ...axes, lines: [{ name: "reconnects", color: "#d35400", points: series.map((p) => [p.atMs, p.reconnects]) }] }),
    linePlot({
      title: "Delivery latency, reading to observer (per sample window, log scale)", unit: "ms", ...axes, logY: true,
      lines: [
        { name: "mean", color: "#2980b9", points: latency.map((p) => [p.atMs, p.latencyMeanMs]) },
        { name: "max", color: "#c0392b", points: latency.map((p) => [p.atMs, p.latencyMaxMs]) },
      ],
    }),
  ];
  const invariantRows = result.invariants
    .map((verdict) => `<tr class="${verdict.held ? "held" : "violated"}"><td>${verdict.held ? "held" : `violated ×${verdict.violations}`}</td><td>${escapeXml(verdict.invariant)}</td><td>${escapeXml(verdict.description)}</td></tr>`)
    .join("");
  const violations = result.violations.map((violation) => `<li>${escapeXml(violation.message)}</li>`).join("");
  const faultRows = result.faultLog
    .slice(0, 500)
    .map((entry) => `<tr><td>${formatVirtualTime(entry.atMs)}</td><td>${escapeXml(entry.kind)}</td><td>${escapeXml(entry.device ?? "")}</td><td>${entry.durationMs === undefined ? "" : `${(entry.durationMs / 1000).toFixed(0)} s`}</td><td>${escapeXml([entry.detail, entry.seq === undefined ? "" : `seq ${entry.seq}`].filter(Boolean).join(", "))}</td></tr>`)
    .join("");
  const deviceRows = result.devices
    .slice(0, 200)
    .map((device) => `<tr><td>${escapeXml(device.id)}</td><td>${device.qos}</td><td>${device.accepted}</td><td>${device.refused}</td><td>${device.reconnects}</td><td>${device.outboxHighWater} / ${device.outboxCapacity}</td><td>${escapeXml(Object.entries(device.monitor.losses).map(([name, count]) => `${name} ×${count}`).join(", "))}</td></tr>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wasmqtt soak${result.settings.mode === "real" ? " --real" : ""}: ${result.passed ? "passed" : "FAILED"}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
pre{background:#f4f4f4;padding:12px;overflow-x:auto;font-size:12px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
tr.held td:first-child{color:#1e8449}tr.violated td:first-child{color:#c0392b;font-weight:bold}
.verdict{font-weight:bold;color:${result.passed ? "#1e8449" : "#c0392b"}}
svg{display:block;margin:8px 0 18px}
</style></head><body>
<h1>wasmqtt soak${result.settings.mode === "real" ? " --real (Mosquitto, real time)" : ""} — <span class="verdict">${result.passed ? "every invariant held" : "invariants violated"}</span></h1>
<pre>${escapeXml(formatSummary(result).join("\n"))}</pre>
<h2>Invariants</h2><table><tr><th>verdict</th><th>invariant</th><th>what it means</th></tr>${invariantRows}</table>
${violations === "" ? "" : `<h2>Violations</h2><ul>${violations}</ul>`}
<h2>Over ${time}</h2><p>Dashed lines: broker restarts (grey keeping sessions, purple losing them).</p>
${plots.join("\n")}
<h2>Devices</h2><table><tr><th>device</th><th>QoS</th><th>accepted</th><th>refused</th><th>reconnects</th><th>outbox high-water / capacity (B)</th><th>connections lost</th></tr>${deviceRows}</table>
<h2>Faults</h2><table><tr><th>${time}</th><th>kind</th><th>device</th><th>duration</th><th>detail</th></tr>${faultRows}</table>
${result.faultLog.length > 500 ? `<p>… ${result.faultLog.length - 500} more in report.json</p>` : ""}
</body></html>
`;
}
