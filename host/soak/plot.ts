/**
 * Line plots as inline SVG for the soak's HTML report: no scripts, no external assets.
 * X is run time (labelled in days, hours, minutes or seconds), Y linear or log₁₀, with vertical markers
 * (broker restarts) behind the lines.
 *
 * @example
 * const svg = linePlot({ title: "Outbox", unit: "B", xMaxMs: 86_400_000,
 *   lines: [{ name: "max", color: "#c0392b", points: [[0, 0], [3_600_000, 1200]] }] });
 */

/** One line of a plot. */
export interface PlotLine {
  name: string;
  color: string;
  /** [virtual ms, value] pairs. */
  points: readonly (readonly [number, number])[];
}

/** A plot. */
export interface PlotSpec {
  title: string;
  /** Appended to Y tick labels. */
  unit: string;
  xMaxMs: number;
  lines: readonly PlotLine[];
  /** Log₁₀ Y axis (values ≤ 0 are left out). */
  logY?: boolean;
  /** Vertical lines at these virtual times. */
  markers?: readonly { atMs: number; color: string; label: string }[];
  /** Under the X axis (default "virtual time"). */
  xLabel?: string;
}

const WIDTH = 720;
const HEIGHT = 236;
const LEFT = 70;
const RIGHT = 12;
const TOP = 44;
const BOTTOM = 34;

/** Escapes text for XML/HTML. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/** An `<svg>` element with the plot. */
export function linePlot(spec: PlotSpec): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const values = spec.lines.flatMap((line) => line.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && (!spec.logY || y > 0));
  let yMin = values.length === 0 ? 0 : Math.min(...values);
  let yMax = values.length === 0 ? 1 : Math.max(...values);
  if (!spec.logY) yMin = Math.min(0, yMin);
  if (spec.logY) {
    yMin = Math.floor(Math.log10(values.length === 0 ? 1 : yMin));
    yMax = Math.ceil(Math.log10(values.length === 0 ? 10 : yMax));
    if (yMax === yMin) yMax = yMin + 1;
  } else if (yMax === yMin) yMax = yMin + 1;
  // round ticks in the unit the labels use (KiB, MiB, s), not in bytes or milliseconds
  const divisor = spec.logY ? 1 : unitDivisor(spec.unit, yMax);
  const ticks = spec.logY ? range(yMin, yMax).map((e) => 10 ** e) : niceTicks(yMin / divisor, yMax / divisor).map((tick) => tick * divisor);
  if (!spec.logY) yMax = Math.max(yMax, ticks.at(-1) ?? yMax);
  const scaleY = (y: number): number => {
    const v = spec.logY ? Math.log10(y) : y;
    return TOP + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  };
  const xMax = Math.max(1, spec.xMaxMs);
  const scaleX = (x: number): number => LEFT + (x / xMax) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(spec.title)}">`);
  parts.push(`<text x="${LEFT}" y="16" font-size="13" font-weight="bold">${escapeXml(spec.title)}</text>`);
  parts.push(`<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`);
  for (const tick of ticks) {
    const y = scaleY(tick).toFixed(1);
    parts.push(`<line x1="${LEFT}" y1="${y}" x2="${LEFT + plotW}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${y}" font-size="10" text-anchor="end" dominant-baseline="middle">${escapeXml(formatValue(tick, spec.unit))}</text>`);
  }
  for (const tick of timeTicks(xMax)) {
    const x = scaleX(tick.atMs).toFixed(1);
    parts.push(`<line x1="${x}" y1="${TOP + plotH}" x2="${x}" y2="${TOP + plotH + 4}" stroke="#888"/>`);
    parts.push(`<text x="${x}" y="${TOP + plotH + 16}" font-size="10" text-anchor="middle">${escapeXml(tick.label)}</text>`);
  }
  for (const marker of spec.markers ?? []) {
    const x = scaleX(marker.atMs).toFixed(1);
    parts.push(`<line x1="${x}" y1="${TOP}" x2="${x}" y2="${TOP + plotH}" stroke="${marker.color}" stroke-dasharray="3 3"><title>${escapeXml(marker.label)}</title></line>`);
  }
  spec.lines.forEach((line, index) => {
    const points = line.points.filter(([, y]) => Number.isFinite(y) && (!spec.logY || y > 0));
    if (points.length > 0) {
      const path = points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${scaleX(x).toFixed(1)},${scaleY(y).toFixed(1)}`).join("");
      parts.push(`<path d="${path}" fill="none" stroke="${line.color}" stroke-width="1.5"/>`);
    }
    const lx = LEFT + 110 * index;
    parts.push(`<rect x="${lx}" y="24" width="10" height="10" fill="${line.color}"/><text x="${lx + 14}" y="33" font-size="11">${escapeXml(line.name)}</text>`);
  });
  parts.push(`<text x="${LEFT + plotW / 2}" y="${HEIGHT - 4}" font-size="10" text-anchor="middle">${escapeXml(spec.xLabel ?? "virtual time")}</text>`);
  parts.push("</svg>");
  return parts.join("");
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** What the tick labels of `unit` divide by at this magnitude (formatValue's choice). */
function unitDivisor(unit: string, max: number): number {
  if (unit === "B") return max >= 2 ** 20 ? 2 ** 20 : max >= 1024 ? 1024 : 1;
  if (unit === "ms") return max >= 1000 ? 1000 : 1;
  return 1;
}

/** About five round ticks from min to past max. */
export function niceTicks(min: number, max: number): number[] {
  const span = max - min;
  const rough = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => span / candidate <= 6) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** The time axis's units, longest first. */
const TIME_UNITS = [
  { unit: 86_400_000, name: "d" },
  { unit: 3_600_000, name: "h" },
  { unit: 60_000, name: "m" },
  { unit: 1000, name: "s" },
];

/** Ticks along the time axis: days for long runs, hours, minutes or seconds for shorter ones. */
function timeTicks(xMaxMs: number): { atMs: number; label: string }[] {
  const { unit, name } = TIME_UNITS.find((candidate) => xMaxMs >= 2 * candidate.unit) ?? TIME_UNITS[TIME_UNITS.length - 1];
  const count = xMaxMs / unit;
  const every = [1, 2, 5, 10, 15, 20, 30, 50, 100].find((step) => count / step <= 10) ?? Math.ceil(count / 10);
  const ticks: { atMs: number; label: string }[] = [];
  for (let i = 0; i * unit <= xMaxMs; i += every) ticks.push({ atMs: i * unit, label: `${i}${name}` });
  return ticks;
}

/** A value with its unit, shortened (k, M, G for bytes and counts; s for ms over a second). */
export function formatValue(value: number, unit: string): string {
  if (unit === "ms" && value >= 1000) return `${trim(value / 1000)} s`;
  if (unit === "B") {
    if (value >= 2 ** 20) return `${trim(value / 2 ** 20)} MiB`;
    if (value >= 1024) return `${trim(value / 1024)} KiB`;
    return `${trim(value)} B`;
  }
  if (value >= 1e6) return `${trim(value / 1e6)}M${unit === "" ? "" : ` ${unit}`}`;
  if (value >= 1e4) return `${trim(value / 1e3)}k${unit === "" ? "" : ` ${unit}`}`;
  return `${trim(value)}${unit === "" ? "" : ` ${unit}`}`;
}

function trim(value: number): string {
  return String(Number(value.toPrecision(3)));
}
