/**
 * Attribute table of the labels loaded on the map: filter by class, author, review status and
 * minimum confidence, sort by any column, page through, click a row to select and zoom to it.
 * Rows are the features the map holds (the whole layer once it is zoomed out to its extent).
 */
import type Feature from "ol/Feature";
import type Geometry from "ol/geom/Geometry";
import { getArea } from "ol/sphere";
import type { ProjectClass } from "../api/types";
import { h, replace } from "../ui/dom";
import { propsOf } from "./mapLayers";
import { classColor, rgb } from "./style";
import type { FeatureProperties } from "./types";

export const PAGE_SIZE = 50;
const REVIEW_MARK: Record<string, string> = { unreviewed: "–", accepted: "✓ ok", rejected: "✗ no" };

export function formatArea(geometry: Geometry | undefined): string {
  const m2 = areaOf(geometry);
  if (m2 === null) return "—";
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(2)} km²`;
  if (m2 >= 1e4) return `${(m2 / 1e4).toFixed(2)} ha`;
  return `${m2 < 10 ? m2.toFixed(1) : Math.round(m2)} m²`;
}

function areaOf(geometry: Geometry | undefined): number | null {
  if (!geometry || !/Polygon/.test(geometry.getType())) return null;
  return getArea(geometry, { projection: "EPSG:3857" });
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

export type SortKey = "class" | "area" | "confidence" | "author" | "status" | "time";

export interface TableQuery {
  classValue: number | null;
  author: string | null;
  status: string | null;
  minConfidence: number | null;
  sort: SortKey;
  descending: boolean;
  page: number;
}

export const DEFAULT_QUERY: TableQuery = { classValue: null, author: null, status: null, minConfidence: null, sort: "time", descending: true, page: 0 };

/** A row as the table sorts and filters it (no OpenLayers: testable on its own). */
export interface Row {
  id: number;
  props: FeatureProperties;
  area: number | null;
}

export function reviewOf(p: FeatureProperties): string {
  return typeof p.review_status === "string" && p.review_status ? p.review_status : "unreviewed";
}

function sortValue(row: Row, key: SortKey, className: (v: number | null) => string): string | number {
  const p = row.props;
  switch (key) {
    case "class": return className(p.class_value);
    case "area": return row.area ?? -1;
    case "confidence": return p.confidence ?? -1;
    case "author": return p.author ?? "";
    case "status": return reviewOf(p);
    case "time": return p.updated_at ?? "";
  }
}

/** Filter, sort and cut one page; also the number of rows that pass the filter. */
export function queryRows(rows: Row[], q: TableQuery, className: (v: number | null) => string): { page: Row[]; total: number; pages: number } {
  const kept = rows.filter((r) => {
    const p = r.props;
    if (q.classValue !== null && p.class_value !== q.classValue) return false;
    if (q.author !== null && p.author !== q.author) return false;
    if (q.status !== null && reviewOf(p) !== q.status) return false;
    if (q.minConfidence !== null && p.confidence !== null && p.confidence !== undefined && p.confidence < q.minConfidence) return false;
    return true;
  });
  const dir = q.descending ? -1 : 1;
  kept.sort((a, b) => {
    const va = sortValue(a, q.sort, className);
    const vb = sortValue(b, q.sort, className);
    const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
    return c * dir || (b.id - a.id);
  });
  const pages = Math.max(1, Math.ceil(kept.length / PAGE_SIZE));
  const page = Math.min(Math.max(0, q.page), pages - 1);
  return { page: kept.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE), total: kept.length, pages };
}

export interface LabelTable {
  el: HTMLElement;
  render(features: Feature<Geometry>[], classes: ProjectClass[], selected: Set<number>): void;
}

const COLUMNS: { key: SortKey; title: string; right?: boolean }[] = [
  { key: "class", title: "Class" },
  { key: "area", title: "Area", right: true },
  { key: "confidence", title: "Conf.", right: true },
  { key: "author", title: "Author" },
  { key: "status", title: "Review" },
  { key: "time", title: "Time" },
];

export function labelTable(onClick: (feature: Feature<Geometry>) => void): LabelTable {
  const q: TableQuery = { ...DEFAULT_QUERY };
  let last: { features: Feature<Geometry>[]; classes: ProjectClass[]; selected: Set<number> } = { features: [], classes: [], selected: new Set() };
  const rerender = (): void => table.render(last.features, last.classes, last.selected);

  const classFilter = h("select", { testid: "labels-filter-class", title: "Only this class" });
  const authorFilter = h("select", { testid: "labels-filter-author", title: "Only this author" });
  const statusFilter = h("select", { testid: "labels-filter-status", title: "Only this review status" },
    h("option", { value: "" }, "Any status"), ["unreviewed", "accepted", "rejected"].map((s) => h("option", { value: s }, s)));
  const confFilter = h("input", { type: "number", min: 0, max: 1, step: 0.05, placeholder: "min conf.", testid: "labels-filter-confidence", title: "Minimum confidence (0-1); labels drawn by people have none and stay" });
  const onFilter = (): void => {
    q.classValue = classFilter.value === "" ? null : Number(classFilter.value);
    q.author = authorFilter.value === "" ? null : authorFilter.value;
    q.status = statusFilter.value === "" ? null : statusFilter.value;
    q.minConfidence = confFilter.value === "" ? null : Number(confFilter.value);
    q.page = 0;
    rerender();
  };
  for (const el of [classFilter, authorFilter, statusFilter]) el.addEventListener("change", onFilter);
  confFilter.addEventListener("input", onFilter);

  const heads = COLUMNS.map((c) => {
    const th = h("th", { class: `sortable${c.right ? " right" : ""}`, testid: `labels-sort-${c.key}`, title: `Sort by ${c.title.toLowerCase()}` }, c.title);
    th.addEventListener("click", () => {
      if (q.sort === c.key) q.descending = !q.descending;
      else {
        q.sort = c.key;
        q.descending = c.key === "time" || c.key === "area" || c.key === "confidence";
      }
      rerender();
    });
    return th;
  });
  const tbody = h("tbody", {});
  const prev = h("button", { type: "button", class: "btn btn-small", testid: "labels-page-prev" }, "‹");
  const next = h("button", { type: "button", class: "btn btn-small", testid: "labels-page-next" }, "›");
  const pageText = h("span", { class: "muted small", testid: "labels-page" });
  prev.addEventListener("click", () => { q.page -= 1; rerender(); });
  next.addEventListener("click", () => { q.page += 1; rerender(); });
  const pager = h("div", { class: "row pager" }, prev, pageText, next);
  const empty = h("p", { class: "muted small", testid: "labels-empty" }, "No labels here yet. Pick a class and draw.");
  const cols = h("colgroup", {}, COLUMNS.map((c) => h("col", { class: `c-${c.key}` })));
  const grid = h("table", { class: "grid compact label-table", testid: "label-table" }, cols, h("thead", {}, h("tr", {}, heads)), tbody);
  const filters = h("div", { class: "table-filters" }, classFilter, authorFilter, statusFilter, confFilter);

  const options = (select: HTMLSelectElement, all: string, values: [string, string][]): void => {
    const chosen = select.value;
    replace(select, h("option", { value: "" }, all), values.map(([v, t]) => h("option", { value: v, selected: v === chosen }, t)));
  };

  const table: LabelTable = {
    el: h("div", {}, filters, empty, grid, pager),
    render(features, classes, selected) {
      last = { features, classes, selected };
      const name = (v: number | null): string => classes.find((c) => c.value === v)?.name ?? String(v ?? "");
      const rows: Row[] = features.filter((f) => f.getId() !== undefined && propsOf(f)).map((f) => ({ id: Number(f.getId()), props: propsOf(f)!, area: areaOf(f.getGeometry()) }));
      const byId = new Map(features.map((f) => [Number(f.getId()), f]));
      options(classFilter, "All classes", [...new Set(rows.map((r) => r.props.class_value))].sort((a, b) => (a ?? 0) - (b ?? 0)).map((v) => [String(v), name(v)]));
      options(authorFilter, "All authors", [...new Set(rows.map((r) => r.props.author ?? ""))].filter(Boolean).sort().map((a) => [a, a]));
      const { page, total, pages } = queryRows(rows, q, name);
      // Labels drawn by people have no confidence: the column shows only for model output.
      const showConf = rows.some((r) => r.props.confidence !== null && r.props.confidence !== undefined);
      heads[2]!.hidden = !showConf;
      replace(cols, COLUMNS.filter((c) => showConf || c.key !== "confidence").map((c) => h("col", { class: `c-${c.key}` })));
      grid.classList.toggle("no-confidence", !showConf);
      q.page = Math.min(q.page, pages - 1);
      const now = Date.now();
      heads.forEach((th, i) => th.classList.toggle("sorted", COLUMNS[i]!.key === q.sort) || th.setAttribute("data-dir", q.descending ? "desc" : "asc"));
      replace(
        tbody,
        page.map((r) => {
          const p = r.props;
          const f = byId.get(r.id)!;
          const cls = classes.find((c) => c.value === p.class_value)?.name ?? p.class_name ?? String(p.class_value);
          const status = reviewOf(p);
          const row = h(
            "tr",
            {
              testid: "label-row",
              class: selected.has(r.id) ? "selected" : "",
              "data-feature-id": String(r.id),
              "data-version": String(p.version),
              "data-class-value": String(p.class_value),
              "data-review": status,
            },
            h("td", {}, h("span", { class: "swatch", style: `background: ${rgb(classColor(classes, p.class_value))}` }), " ", cls),
            h("td", { class: "right nowrap" }, formatArea(f.getGeometry())),
            showConf ? h("td", { class: "right nowrap" }, p.confidence !== null && p.confidence !== undefined ? p.confidence.toFixed(2) : "") : null,
            h("td", { class: "ellipsis", title: p.editor && p.editor !== p.author ? `edited by ${p.editor}` : "" }, p.author ?? ""),
            h("td", {}, h("span", { class: `review review-${status}`, title: status === "unreviewed" ? "not reviewed yet" : `${status}${typeof p.reviewer === "string" ? ` by ${p.reviewer}` : ""}` }, REVIEW_MARK[status] ?? status)),
            h("td", { class: "nowrap muted", title: p.updated_at }, formatTime(p.updated_at, now)),
          );
          row.addEventListener("click", () => onClick(f));
          return row;
        }),
      );
      empty.hidden = rows.length > 0;
      grid.hidden = filters.hidden = rows.length === 0;
      pager.hidden = total <= PAGE_SIZE;
      prev.disabled = q.page === 0;
      next.disabled = q.page >= pages - 1;
      pageText.textContent = total === 0 ? "none match" : `${q.page * PAGE_SIZE + 1}–${q.page * PAGE_SIZE + page.length} of ${total}`;
      if (total === 0 && rows.length) pager.hidden = false;
    },
  };
  return table;
}
