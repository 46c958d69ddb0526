// A rolling line chart in SVG, drawn without a library: the last `capacity` points (x in
// seconds of the board's uptime, y in `unit`), a y axis with round ticks labelled in the
// unit, and an x axis in time before the newest point ("−5 min … now"). Each point is one
// vertex of the chart's polyline.
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 220;
const HEIGHT = 112;
/** The plot area inside the viewBox; the margins hold the axis labels. */
const PLOT = { left: 44, right: 214, top: 6, bottom: 92 };

/** An SVG element with attributes. */
function svg(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** 1, 2, 2.5 or 5 times a power of ten, the smallest at least `raw`. */
function roundStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const mantissa = raw / power;
  return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 2.5 ? 2.5 : mantissa <= 5 ? 5 : 10) * power;
}

/** Decimals a tick label needs for ticks `step` apart. */
function decimalsOf(step) {
  for (let decimals = 0; decimals < 3; decimals++) {
    const scaled = step * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9) return decimals;
  }
  return 3;
}

/** A duration for the x axis in the unit that suits `scale` seconds: "40 s", "7.5 min", "2 h". */
function duration(seconds, scale = seconds) {
  const [value, unit] = scale < 120 ? [seconds, "s"] : scale < 7200 ? [seconds / 60, "min"] : [seconds / 3600, "h"];
  return `${Number(value.toFixed(value < 10 && unit !== "s" ? 1 : 0))} ${unit}`;
}

export class Chart {
  /**
   * A chart appended to `parent`: `unit` labels the y axis, `minSpan` is the smallest y
   * range shown (so noise does not fill the height), `capacity` the points kept.
   */
  constructor(parent, { label, unit, minSpan, capacity }) {
    this.label = label;
    this.unit = unit;
    this.minSpan = minSpan;
    this.capacity = capacity;
    this.points = [];
    this.element = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "plot" });
    this.axes = svg("g", { class: "axes" });
    this.line = svg("polyline", { class: "line", points: "" });
    this.last = svg("circle", { class: "last", r: 2.5, visibility: "hidden" });
    this.element.append(this.axes, this.line, this.last);
    parent.append(this.element);
  }

  /** Adds a point; an x before the newest (the board restarted) starts the chart afresh. */
  add(x, y) {
    const newest = this.points.at(-1);
    if (newest !== undefined && x < newest.x) this.points = [];
    this.points.push({ x, y });
    if (this.points.length > this.capacity) this.points.shift();
  }

  /** Redraws axes and line from the points. */
  draw() {
    const { points } = this;
    if (points.length === 0) return;
    const ys = points.map((point) => point.y);
    let low = Math.min(...ys);
    let high = Math.max(...ys);
    if (high - low < this.minSpan) {
      const middle = (high + low) / 2;
      low = middle - this.minSpan / 2;
      high = middle + this.minSpan / 2;
    }
    const step = roundStep((high - low) / 3);
    low = Math.floor(low / step) * step;
    high = Math.ceil(high / step) * step;
    const first = points[0].x;
    const span = Math.max(points.at(-1).x - first, 1);
    const px = (x) => PLOT.left + ((x - first) / span) * (PLOT.right - PLOT.left);
    const py = (y) => PLOT.bottom - ((y - low) / (high - low)) * (PLOT.bottom - PLOT.top);

    const decimals = decimalsOf(step);
    const axes = [];
    for (let tick = low; tick <= high + step / 2; tick += step) {
      const y = py(tick).toFixed(1);
      axes.push(svg("line", { class: "grid", x1: PLOT.left, x2: PLOT.right, y1: y, y2: y }));
      const text = svg("text", { class: "tick", x: PLOT.left - 4, y, "text-anchor": "end", "dominant-baseline": "middle" });
      text.textContent = `${tick.toFixed(decimals)} ${this.unit}`;
      axes.push(text);
    }
    const times = [
      [PLOT.left, "start", `−${duration(span)}`],
      [(PLOT.left + PLOT.right) / 2, "middle", `−${duration(span / 2, span)}`],
      [PLOT.right, "end", "now"],
    ];
    for (const [x, anchor, label] of times) {
      const text = svg("text", { class: "tick", x, y: HEIGHT - 5, "text-anchor": anchor });
      text.textContent = label;
      axes.push(text);
    }
    axes.push(svg("line", { class: "axis", x1: PLOT.left, x2: PLOT.right, y1: PLOT.bottom, y2: PLOT.bottom }));
    this.axes.replaceChildren(...axes);

    this.line.setAttribute("points", points.map((point) => `${px(point.x).toFixed(1)},${py(point.y).toFixed(1)}`).join(" "));
    const newest = points.at(-1);
    this.last.setAttribute("cx", px(newest.x).toFixed(1));
    this.last.setAttribute("cy", py(newest.y).toFixed(1));
    this.last.setAttribute("visibility", "visible");
    this.element.setAttribute("aria-label", `${this.label}: ${points.length} readings over the last ${duration(span)}, now ${newest.y} ${this.unit}`);
  }
}
