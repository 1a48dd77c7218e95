/** A small SVG line chart of train/valid loss per epoch (no dependencies). */
import type { EpochRow } from "./api";

const NS = "http://www.w3.org/2000/svg";
const SERIES: { key: "train_loss" | "valid_loss"; color: string; name: string }[] = [
  { key: "train_loss", color: "#1f77b4", name: "train" },
  { key: "valid_loss", color: "#ff7f0e", name: "valid" },
];
// Plot area margins: legend on top, y ticks on the left, epoch ticks and label below.
const MARGIN = { top: 20, right: 10, bottom: 28, left: 40 };

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): SVGTextElement {
  const el = svg("text", { x, y, "font-size": 10, ...attrs });
  el.textContent = content;
  return el;
}

/** At most `max` epoch ticks, always including the first and the last. */
export function epochTicks(first: number, last: number, max = 6): number[] {
  if (last <= first) return [first];
  const step = Math.ceil((last - first) / (max - 1));
  const ticks: number[] = [];
  for (let e = first; e < last; e += step) ticks.push(e);
  if (last - ticks[ticks.length - 1] < step / 2 && ticks.length > 1) ticks.pop();
  ticks.push(last);
  return ticks;
}

export function lossChart(rows: EpochRow[], width = 320, height = 180): SVGSVGElement {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "train-chart", "data-testid": "train-chart" });
  const values = rows.flatMap((r) => [r.train_loss, r.valid_loss]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (!values.length) {
    root.append(text(MARGIN.left, height / 2, "Waiting for the first epoch…", { class: "train-chart-empty" }));
    return root;
  }
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const maxY = Math.max(...values) * 1.05 || 1;
  const firstX = rows[0].epoch;
  const lastX = rows[rows.length - 1].epoch;
  const spanX = Math.max(1, lastX - firstX);
  // A single epoch sits in the middle rather than on the axis.
  const x = (epoch: number): number => MARGIN.left + (lastX === firstX ? plotW / 2 : ((epoch - firstX) / spanX) * plotW);
  const y = (v: number): number => MARGIN.top + plotH - (v / maxY) * plotH;
  const bottom = MARGIN.top + plotH;

  root.append(svg("line", { x1: MARGIN.left, y1: bottom, x2: width - MARGIN.right, y2: bottom, stroke: "#999" }));
  root.append(svg("line", { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: bottom, stroke: "#999" }));
  for (const v of [0, maxY / 2, maxY]) {
    root.append(svg("line", { x1: MARGIN.left - 3, y1: y(v), x2: width - MARGIN.right, y2: y(v), stroke: v ? "#eee" : "#999" }));
    root.append(text(MARGIN.left - 5, y(v) + 3, v ? v.toPrecision(2) : "0", { "text-anchor": "end" }));
  }
  for (const e of epochTicks(firstX, lastX)) {
    root.append(svg("line", { x1: x(e), y1: bottom, x2: x(e), y2: bottom + 3, stroke: "#999" }));
    root.append(text(x(e), bottom + 13, String(e), { "text-anchor": "middle", "data-tick": "epoch" }));
  }
  root.append(text(MARGIN.left + plotW / 2, height - 2, "epoch", { "text-anchor": "middle" }));

  SERIES.forEach(({ key, color, name }, i) => {
    const points = rows.filter((r) => typeof r[key] === "number" && Number.isFinite(r[key])).map((r) => [x(r.epoch), y(r[key] as number)]);
    if (points.length) {
      root.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-series": name }));
      for (const [cx, cy] of points) root.append(svg("circle", { cx, cy, r: 2.5, fill: color }));
    }
    const lx = MARGIN.left + i * 80;
    root.append(svg("line", { x1: lx, y1: 9, x2: lx + 14, y2: 9, stroke: color, "stroke-width": 2 }));
    root.append(text(lx + 18, 12, `${name} loss`, { fill: color }));
  });
  return root;
}
