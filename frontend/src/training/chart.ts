/** A small SVG line chart of train/valid loss per epoch (no dependencies). */
import type { EpochRow } from "./api";

const NS = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function lossChart(rows: EpochRow[], width = 300, height = 160): SVGSVGElement {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "train-chart", "data-testid": "train-chart" });
  const pad = 28;
  const values = rows.flatMap((r) => [r.train_loss, r.valid_loss]).filter((v): v is number => typeof v === "number");
  if (!values.length) {
    const text = svg("text", { x: pad, y: height / 2, class: "train-chart-empty" });
    text.textContent = "Waiting for the first epoch…";
    root.append(text);
    return root;
  }
  const maxY = Math.max(...values) * 1.05 || 1;
  const maxX = Math.max(1, rows.length > 1 ? rows[rows.length - 1].epoch - rows[0].epoch : 1);
  const firstX = rows[0].epoch;
  const x = (epoch: number) => pad + ((epoch - firstX) / maxX) * (width - pad - 8);
  const y = (v: number) => height - pad + 8 - (v / maxY) * (height - pad - 8);
  root.append(svg("line", { x1: pad, y1: height - pad + 8, x2: width - 8, y2: height - pad + 8, stroke: "#999" }));
  root.append(svg("line", { x1: pad, y1: 4, x2: pad, y2: height - pad + 8, stroke: "#999" }));
  const label = svg("text", { x: 2, y: 12, "font-size": 10 });
  label.textContent = maxY.toPrecision(2);
  root.append(label);
  const series: [keyof EpochRow, string, string][] = [["train_loss", "#1f77b4", "train"], ["valid_loss", "#ff7f0e", "valid"]];
  series.forEach(([key, color, name], i) => {
    const points = rows.filter((r) => typeof r[key] === "number").map((r) => `${x(r.epoch)},${y(r[key] as number)}`);
    if (points.length) {
      root.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-series": name }));
      for (const p of points) {
        const [cx, cy] = p.split(",");
        root.append(svg("circle", { cx, cy, r: 2.5, fill: color }));
      }
    }
    const legend = svg("text", { x: width - 60, y: 14 + i * 12, "font-size": 10, fill: color });
    legend.textContent = `${name} loss`;
    root.append(legend);
  });
  const xLabel = svg("text", { x: width / 2 - 16, y: height - 4, "font-size": 10 });
  xLabel.textContent = "epoch";
  root.append(xLabel);
  return root;
}
