/** Plain SVG charts of an accuracy report: precision-recall curves (detections) and a
 * heat-mapped confusion matrix (pixels). */
import { h } from "../ui/dom";
import type { DetectionRow, PixelReport } from "./api";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** The envelope as a step line: precision p[k] holds up to recall r[k], then drops to p[k+1]. */
export function stepPoints(recall: number[], precision: number[]): [number, number][] {
  if (!recall.length) return [];
  const points: [number, number][] = [[0, precision[0]]];
  recall.forEach((r, k) => {
    points.push([r, precision[k]]);
    if (k + 1 < recall.length && precision[k + 1] !== precision[k]) points.push([r, precision[k + 1]]);
  });
  return points;
}

/** Step curve of the precision envelope of each class (recall on x, precision on y). */
export function prCurve(rows: DetectionRow[]): HTMLElement {
  const W = 260, H = 180, L = 34, B = 26, T = 8, R = 8;
  const x = (r: number): number => L + r * (W - L - R);
  const y = (p: number): number => T + (1 - p) * (H - T - B);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "pr-curve", "data-testid": "accuracy-pr-curve", role: "img" });
  chart.append(svg("title", {}, "Precision-recall curve per class"));
  for (const t of [0, 0.5, 1]) {
    chart.append(svg("line", { x1: x(0), x2: x(1), y1: y(t), y2: y(t), class: "grid-line" }));
    chart.append(svg("text", { x: L - 4, y: y(t) + 3, "text-anchor": "end", class: "axis" }, t.toFixed(1)));
    chart.append(svg("text", { x: x(t), y: H - B + 12, "text-anchor": "middle", class: "axis" }, t.toFixed(1)));
  }
  chart.append(svg("text", { x: x(0.5), y: H - 2, "text-anchor": "middle", class: "axis" }, "recall"));
  chart.append(svg("text", { x: 8, y: y(0.5), "text-anchor": "middle", class: "axis", transform: `rotate(-90 8 ${y(0.5)})` }, "precision"));
  const legend = h("ul", { class: "inference-legend" });
  rows.filter((r) => r.curve && r.curve.recall.length).forEach((row, i) => {
    const color = PALETTE[i % PALETTE.length];
    const d = stepPoints(row.curve!.recall, row.curve!.precision).map(([r, p], k) => `${k ? "L" : "M"} ${x(r)} ${y(p)}`).join(" ");
    chart.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 1.5, "data-class": String(row.class_value) }));
    legend.append(h("li", {}, h("span", { class: "swatch", style: `background: ${color}` }), ` ${row.class_name}`));
  });
  return h("figure", { class: "accuracy-chart" }, chart as unknown as HTMLElement, legend);
}

/** Blue shades by each cell's share of its reference row; the diagonal is outlined. */
export function confusionHeatmap(report: PixelReport): HTMLElement {
  const names = report.class_names;
  const cells = report.confusion;
  return h("table", { class: "grid compact confusion", testid: "accuracy-confusion" },
    h("thead", {}, h("tr", {}, h("th", { title: "rows: reference, columns: predicted" }, "ref \\ pred"), names.map((n) => h("th", {}, n)))),
    h("tbody", {}, cells.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return h("tr", {}, h("th", {}, names[i]), row.map((v, j) => {
        const share = total ? v / total : 0;
        const style = `background: rgba(33, 102, 172, ${(0.08 + 0.82 * share).toFixed(3)}); color: ${share > 0.55 ? "#fff" : "inherit"}`;
        return h("td", { class: i === j ? "diagonal" : "", style, title: `${(share * 100).toFixed(1)}% of ${names[i]}`, "data-share": share.toFixed(4) }, v.toLocaleString());
      }));
    })));
}
