/** Change between dates of one job's results: per-class areas (table + plot) and the from/to
 * matrix of a classify_pixels job; matched detections (appeared / disappeared / persisted) of a
 * detect_objects job, drawn on the map and counted. */
import VectorLayer from "ol/layer/Vector";
import VectorSource from "ol/source/Vector";
import { Fill, Stroke, Style } from "ol/style";
import type Feature from "ol/Feature";
import { ApiError } from "../api/http";
import type { Job } from "../api/types";
import { geojson } from "../labeling/mapLayers";
import type { ProjectContext } from "../panels/registry";
import { h, replace } from "../ui/dom";
import { CollectionsApi, type AreasByDate, type ChangeMatrix } from "./api";
import { areaSeries, dayOf, formatArea, type Step } from "./timeline";

const SVG = "http://www.w3.org/2000/svg";
const CHANGE_COLORS: Record<string, string> = { appeared: "#1a9850", disappeared: "#d73027", persisted: "#4575b4" };

function svg(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

/** Lines of each class's area over the dates. */
export function areaPlot(areas: AreasByDate): HTMLElement {
  const W = 280, H = 170, L = 46, B = 30, T = 8, R = 8;
  const series = areaSeries(areas);
  const top = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const n = Math.max(areas.dates.length - 1, 1);
  const x = (i: number): number => L + (i / n) * (W - L - R);
  const y = (v: number): number => T + (1 - v / top) * (H - T - B);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, "data-testid": "change-area-plot", role: "img" });
  chart.append(svg("title", {}, "Area of each class per date"));
  for (const t of [0, 0.5, 1]) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(t * top), y2: y(t * top), class: "grid-line" }));
    chart.append(svg("text", { x: L - 4, y: y(t * top) + 3, "text-anchor": "end", class: "axis" }, formatArea(t * top)));
  }
  areas.dates.forEach((d, i) => chart.append(svg("text", { x: x(i), y: H - B + 14, "text-anchor": "middle", class: "axis" }, dayOf(d.acquired))));
  for (const s of series) {
    const color = `rgb(${s.color.slice(0, 3).join(",")})`;
    chart.append(svg("path", { d: s.points.map(([i, v], k) => `${k ? "L" : "M"} ${x(i)} ${y(v)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-class": s.value }));
    for (const [i, v] of s.points) chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.5, fill: color }));
  }
  return h("figure", { class: "accuracy-chart" }, chart as unknown as HTMLElement);
}

export function areaTable(areas: AreasByDate): HTMLElement {
  const series = areaSeries(areas);
  return h("table", { class: "grid compact", testid: "change-areas" },
    h("thead", {}, h("tr", {}, h("th", {}, "Date"), series.map((s) => h("th", {}, s.name)))),
    h("tbody", {}, areas.dates.map((d, i) => h("tr", { "data-raster-id": d.raster },
      h("th", { title: d.name }, dayOf(d.acquired)), series.map((s) => h("td", {}, formatArea(s.points[i][1])))))));
}

export function matrixTable(matrix: ChangeMatrix): HTMLElement {
  const names = new Map(matrix.classes.map((c) => [c.value, c.name]));
  const label = (v: number): string => names.get(v) ?? String(v);
  return h("table", { class: "grid compact confusion", testid: "change-matrix" },
    h("thead", {}, h("tr", {}, h("th", { title: "rows: from, columns: to" }, `${dayOf(matrix.from.acquired)} \\ ${dayOf(matrix.to.acquired)}`),
      matrix.class_values.map((v) => h("th", {}, label(v))))),
    h("tbody", {}, matrix.areas.map((row, i) => h("tr", {}, h("th", {}, label(matrix.class_values[i])),
      row.map((v, j) => h("td", { class: i === j ? "diagonal" : "" }, formatArea(v)))))));
}

function dateSelect(steps: Step[], testid: string, pick: number): HTMLSelectElement {
  return h("select", { testid }, steps.map((s, i) => h("option", { value: String(s.raster), selected: i === pick }, s.label)));
}

/** The change section of a job: what fits its kind. ``steps`` are the job's input rasters by date. */
export function changeSection(ctx: ProjectContext, job: Job, steps: Step[]): HTMLElement {
  const api = new CollectionsApi(ctx.api);
  const out = h("div", { class: "change-out" });
  const from = dateSelect(steps, "change-from", 0);
  const to = dateSelect(steps, "change-to", steps.length - 1);
  const source = new VectorSource();
  const layer = new VectorLayer({ source, zIndex: 60, style: (f) => new Style({
    stroke: new Stroke({ color: CHANGE_COLORS[f.get("change") as string] ?? "#999", width: 2.5 }),
    fill: new Fill({ color: "rgba(255,255,255,0.05)" }) }) });
  ctx.map.addLayer(layer);
  ctx.onDispose(() => ctx.map.removeLayer(layer));
  const fail = (err: unknown): void => replace(out, h("p", { class: "notice error" }, message(err)));

  const compare = async (): Promise<void> => {
    replace(out, h("p", { class: "muted small" }, "Comparing…"));
    try {
      if (job.kind === "classify_pixels") {
        // The matrix is between classified rasters: map each chosen source to its output.
        const outs = (job.result?.rasters as number[]) ?? [], sources = (job.result?.sources as number[]) ?? [];
        const of = (sel: HTMLSelectElement): number | undefined => outs[sources.indexOf(Number(sel.value))];
        replace(out, matrixTable(await api.matrix(job.id, of(from), of(to))));
      } else {
        const change = await api.detections(job.id, Number(from.value), Number(to.value));
        source.clear();
        for (const f of change.features) {
          const feature = geojson.readFeature(f) as Feature;
          feature.set("change", f.properties.change);
          source.addFeature(feature);
        }
        const c = change.counts;
        replace(out, h("p", { class: "small", testid: "change-counts" },
          Object.entries(c).map(([k, v]) => h("span", { class: "change-count", "data-change": k }, h("span", { class: "swatch", style: `background: ${CHANGE_COLORS[k]}` }), ` ${k} ${v} `))));
      }
    } catch (err) {
      fail(err);
    }
  };
  const section = h("div", { class: "change", testid: "change-section" },
    h("h4", {}, "Change"),
    h("div", { class: "row small" }, "From ", from, " to ", to,
      h("button", { class: "btn small", testid: "change-compare", onclick: () => void compare() },
        job.kind === "classify_pixels" ? "Change matrix" : "Match detections")),
    out);
  if (job.kind === "classify_pixels") {
    const areas = h("div", {}, h("p", { class: "muted small" }, "Loading areas…"));
    section.insertBefore(areas, section.children[1]);
    api.areas(job.id).then((a) => replace(areas, areaTable(a), areaPlot(a)), (err: unknown) => replace(areas, h("p", { class: "notice error" }, message(err))));
  }
  return section;
}
