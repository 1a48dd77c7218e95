/** The "Time" tab (issue 17): raster collections, their acquisition dates, a time slider that steps
 * the map through them, results of jobs over a collection filtered to the step's raster, and the
 * change between two dates. */
import VectorLayer from "ol/layer/Vector";
import VectorSource from "ol/source/Vector";
import { Stroke, Style } from "ol/style";
import type Feature from "ol/Feature";
import { ApiError } from "../api/http";
import type { Job } from "../api/types";
import { geojson } from "../labeling/mapLayers";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { h, replace, setNotice } from "../ui/dom";
import { CollectionsApi, type Collection } from "./api";
import { changeSection } from "./change";
import { collectionJobs, outputFor, timeSteps, type Step } from "./timeline";
import "./collections.css";

const MAX_FEATURES = 20_000;

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function mountTimePanel(container: HTMLElement, ctx: ProjectContext): void {
  const api = new CollectionsApi(ctx.api);
  let collections: Collection[] = [];
  let current: Collection | null = null;
  let steps: Step[] = [];
  let index = 0;
  let job: Job | null = null;
  const notice = h("p", { class: "notice", hidden: true });
  const select = h("select", { testid: "collection-select", onchange: () => show(collections.find((c) => c.id === Number(select.value)) ?? null) });
  const body = h("div", { class: "time-body" });

  // Results of the chosen job, filtered to the step's raster (detections) or showing its output (classified).
  const source = new VectorSource();
  const vector = new VectorLayer({ source, zIndex: 52, style: new Style({ stroke: new Stroke({ color: "#ffcc00", width: 2 }) }) });
  ctx.map.addLayer(vector);
  ctx.onDispose(() => ctx.map.removeLayer(vector));
  const resultCount = h("span", { class: "muted small", testid: "time-result-count" });
  let loading: AbortController | null = null;

  const applyStep = (): void => {
    const step = steps[index];
    if (!step) return;
    for (const s of steps) if (ctx.rasterLayers.has(s.raster)) ctx.rasterLayers.setVisible(s.raster, s.raster === step.raster && job?.kind !== "classify_pixels");
    label.textContent = step.label;
    label.dataset.raster = String(step.raster);
    source.clear();
    resultCount.textContent = "";
    if (job?.kind === "classify_pixels") {
      const shown = outputFor(job, step.raster);
      for (const out of (job.result?.rasters as number[]) ?? []) if (ctx.rasterLayers.has(out)) ctx.rasterLayers.setVisible(out, out === shown);
    } else if (job?.kind === "detect_objects" && job.result?.layer) {
      loading?.abort();
      loading = new AbortController();
      const raster = step.raster;
      ctx.api.http.request<{ features: unknown[] }>(`/api/layers/${job.result.layer}/features/`, { query: { raster, limit: MAX_FEATURES }, signal: loading.signal })
        .then((fc) => {
          source.addFeatures(geojson.readFeatures(fc) as Feature[]);
          resultCount.textContent = `${fc.features.length} detections on this date`;
        }, () => undefined);
    }
  };
  const slider = h("input", { type: "range", min: 0, max: 0, step: 1, value: "0", testid: "time-slider",
    oninput: () => { index = Number(slider.value); applyStep(); } });
  const label = h("span", { class: "time-label", testid: "time-label" });

  const datesList = (c: Collection): HTMLElement => h("ul", { class: "time-dates" }, c.items.map((item) => {
    const input = h("input", { type: "date", value: item.acquired?.slice(0, 10) ?? "", disabled: !ctx.canEdit, testid: `acquired-${item.raster}`,
      onchange: () => {
        api.setAcquired(item.raster, input.value ? `${input.value}T00:00:00Z` : null)
          .then(() => reload(c.id), (err: unknown) => setNotice(notice, message(err)));
      } });
    return h("li", { class: "row small" }, h("span", { class: "ellipsis" }, item.name), h("span", { class: "spacer" }), input);
  }));

  const resultPicker = (c: Collection): HTMLElement => {
    const jobs = collectionJobs(ctx.jobs(), c);
    const change = h("div", {});
    const pick = h("select", { testid: "time-result", onchange: () => choose() },
      h("option", { value: "" }, jobs.length ? "No result" : "No job over this collection yet"),
      jobs.map((j) => h("option", { value: String(j.id) }, `#${j.id} ${j.kind} · ${String(j.params.out_name ?? "")}`)));
    const choose = (): void => {
      job = jobs.find((j) => j.id === Number(pick.value)) ?? null;
      vector.setVisible(job?.kind === "detect_objects");
      replace(change, job ? changeSection(ctx, job, steps) : "");
      applyStep();
    };
    return h("div", { class: "time-result" }, h("label", { class: "row small" }, "Result ", pick, resultCount), change);
  };

  function show(c: Collection | null): void {
    current = c;
    job = null;
    source.clear();
    if (!c) {
      replace(body, h("p", { class: "muted small" }, collections.length ? "Pick a collection." : "No collection yet: make one from the project's rasters."));
      return;
    }
    steps = timeSteps(c.items);
    index = Math.min(index, steps.length - 1);
    slider.max = String(Math.max(steps.length - 1, 0));
    slider.value = String(index);
    replace(body,
      h("div", { class: "time-slider" }, slider, label),
      datesList(c),
      resultPicker(c),
      ctx.canEdit ? h("button", { class: "btn small danger", testid: "collection-delete", onclick: () => {
        api.remove(c.id).then(() => reload(null), (err: unknown) => setNotice(notice, message(err)));
      } }, "Delete collection") : "");
    applyStep();
  }

  async function reload(keep: number | null): Promise<void> {
    try {
      collections = await api.list(ctx.project.id);
    } catch (err) {
      setNotice(notice, message(err));
      return;
    }
    replace(select, h("option", { value: "" }, "Collections…"), collections.map((c) => h("option", { value: String(c.id) }, `${c.name} (${c.rasters.length})`)));
    const next = collections.find((c) => c.id === (keep ?? current?.id)) ?? collections[0] ?? null;
    select.value = next ? String(next.id) : "";
    show(next);
  }

  const form = (): HTMLElement => {
    const name = h("input", { type: "text", placeholder: "Collection name", testid: "collection-name" });
    const images = ctx.rasters().filter((r) => r.status === "ready" && (r.kind ?? "image") === "image");
    const boxes = images.map((r) => h("input", { type: "checkbox", value: String(r.id), testid: `collection-raster-${r.id}` }));
    const create = (): void => {
      const chosen = boxes.filter((b) => b.checked).map((b) => Number(b.value));
      api.create(ctx.project.id, name.value.trim() || "Collection", chosen)
        .then((c) => { holder.hidden = true; return reload(c.id); }, (err: unknown) => setNotice(notice, message(err)));
    };
    return h("div", { class: "time-form" }, name,
      h("ul", { class: "time-dates" }, images.map((r, i) => h("li", {}, h("label", { class: "row small" }, boxes[i], ` ${r.name} `,
        h("span", { class: "muted" }, r.acquired ? r.acquired.slice(0, 10) : ""))))),
      h("button", { class: "btn small primary", testid: "collection-create", onclick: create }, "Create"));
  };
  const holder = h("div", { hidden: true });
  const newButton = h("button", { class: "btn small", testid: "collection-new", hidden: !ctx.canEdit,
    onclick: () => { holder.hidden = !holder.hidden; if (!holder.hidden) replace(holder, form()); } }, "New collection");

  replace(container, h("div", { class: "panel-section" },
    h("div", { class: "row" }, select, h("span", { class: "spacer" }), newButton), holder, notice, body));
  ctx.events.on("panel", (id) => { if (id === "time") void reload(null); });
  ctx.events.on("jobs", () => { if (current && !job) show(current); });
  void reload(null);
}

registerProjectPanel({ id: "time", title: "Time", order: 38, mount: mountTimePanel });
