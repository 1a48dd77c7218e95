/** Attribute table of the labels loaded on the map: class, area, author, time; a click zooms to it. */
import type Feature from "ol/Feature";
import type Geometry from "ol/geom/Geometry";
import { getArea } from "ol/sphere";
import type { ProjectClass } from "../api/types";
import { h, replace } from "../ui/dom";
import { propsOf } from "./mapLayers";
import { classColor, rgb } from "./style";

const MAX_ROWS = 300;

export function formatArea(geometry: Geometry | undefined): string {
  if (!geometry || !/Polygon/.test(geometry.getType())) return "—";
  const m2 = getArea(geometry, { projection: "EPSG:3857" });
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(2)} km²`;
  if (m2 >= 1e4) return `${(m2 / 1e4).toFixed(2)} ha`;
  return `${m2 < 10 ? m2.toFixed(1) : Math.round(m2)} m²`;
}

export function formatTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  const d = new Date(t);
  return s < 86400 ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
}

export interface LabelTable {
  el: HTMLElement;
  render(features: Feature<Geometry>[], classes: ProjectClass[], selected: Set<number>): void;
}

export function labelTable(onClick: (feature: Feature<Geometry>) => void): LabelTable {
  const tbody = h("tbody", {});
  const more = h("p", { class: "muted small", hidden: true, testid: "labels-more" });
  const empty = h("p", { class: "muted small", testid: "labels-empty" }, "No labels here yet. Pick a class and draw.");
  const table = h(
    "table",
    { class: "grid compact label-table", testid: "label-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Class"), h("th", { class: "right" }, "Area"), h("th", {}, "Author"), h("th", {}, "Time"))),
    tbody,
  );
  return {
    el: h("div", {}, empty, table, more),
    render(features, classes, selected) {
      const ordered = features
        .filter((f) => f.getId() !== undefined)
        .sort((a, b) => (propsOf(b)?.updated_at ?? "").localeCompare(propsOf(a)?.updated_at ?? "") || Number(b.getId()) - Number(a.getId()));
      const now = Date.now();
      replace(
        tbody,
        ordered.slice(0, MAX_ROWS).map((f) => {
          const p = propsOf(f)!;
          const name = classes.find((c) => c.value === p.class_value)?.name ?? p.class_name ?? String(p.class_value);
          const row = h(
            "tr",
            {
              testid: "label-row",
              class: selected.has(f.getId() as number) ? "selected" : "",
              "data-feature-id": String(f.getId()),
              "data-version": String(p.version),
              "data-class-value": String(p.class_value),
              title: p.confidence !== null && p.confidence !== undefined ? `confidence ${(p.confidence * 100).toFixed(0)} %` : "",
            },
            h("td", {}, h("span", { class: "swatch", style: `background: ${rgb(classColor(classes, p.class_value))}` }), " ", name),
            h("td", { class: "right nowrap" }, formatArea(f.getGeometry())),
            h("td", {}, p.editor && p.editor !== p.author ? `${p.author ?? "?"} · ${p.editor}` : (p.author ?? "")),
            h("td", { class: "nowrap muted", title: p.updated_at }, formatTime(p.updated_at, now)),
          );
          row.addEventListener("click", () => onClick(f));
          return row;
        }),
      );
      empty.hidden = ordered.length > 0;
      table.hidden = ordered.length === 0;
      more.hidden = ordered.length <= MAX_ROWS;
      more.textContent = `Showing the ${MAX_ROWS} most recent of ${ordered.length} labels in view.`;
    },
  };
}
