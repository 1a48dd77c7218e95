/** The "Inference" project panel: Detect objects, Classify pixels, Classify objects and NMS forms
 * (model picker, arguments pre-filled from the package, extent drawn on the map or the whole
 * raster, CPU/GPU), live progress of the job, and its result on the map. */
import "./inference.css";
import Feature from "ol/Feature";
import VectorLayer from "ol/layer/Vector";
import VectorSource from "ol/source/Vector";
import type { Polygon } from "ol/geom";
import { ApiError } from "../api/http";
import type { Job, Raster } from "../api/types";
import { CollectionsApi, type Collection } from "../collections/api";
import { LabelsApi } from "../labeling/api";
import { geojson } from "../labeling/mapLayers";
import { ShapeDraw } from "../labeling/shapeDraw";
import { boxFrom } from "../labeling/shapes";
import type { Layer } from "../labeling/types";
import { ModelsApi, type ModelArgument, type ModelPackage } from "../models/api";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { h, replace, setNotice } from "../ui/dom";
import { progressBar } from "../ui/progress";
import { INFERENCE_KINDS, startInference, TOOLS, type ToolSpec } from "./api";
import { classifiedResult, detectionsResult, thresholdOf } from "./results";

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function argumentInput(arg: ModelArgument): HTMLInputElement | HTMLSelectElement {
  const common = { name: arg.name, title: arg.description, testid: `arg-${arg.name}` };
  if (arg.type === "bool") return h("input", { ...common, type: "checkbox", checked: Boolean(arg.default) });
  if (arg.type === "choice" && arg.choices) {
    return h("select", common, arg.choices.map((c) => h("option", { value: c, selected: c === arg.default }, c)));
  }
  const numeric = arg.type === "int" || arg.type === "float";
  return h("input", { ...common, type: numeric ? "number" : "text", step: arg.type === "int" ? 1 : "any",
    min: arg.minimum ?? undefined, max: arg.maximum ?? undefined, value: arg.default === null || arg.default === undefined ? "" : String(arg.default) });
}

/** "batch_size" -> "Batch size"; ArcGIS's CamelCase names keep their words. */
export function humanize(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " ").trim().toLowerCase()
    .replace(/\b(nms|iou|tta|gpu|cpu)\b/g, (w) => w.toUpperCase());
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "0 to 1", "at least 1", "at most 8": the valid range from the model's info. */
export function rangeText(arg: Pick<ModelArgument, "minimum" | "maximum">): string {
  const { minimum: lo, maximum: hi } = arg;
  if (lo !== null && hi !== null) return `${lo} to ${hi}`;
  if (lo !== null) return `at least ${lo}`;
  if (hi !== null) return `at most ${hi}`;
  return "";
}

/** One argument: its name in words, the input, and the model's description with the range. */
function argumentField(arg: ModelArgument, input: HTMLInputElement | HTMLSelectElement): HTMLElement {
  const range = rangeText(arg);
  const help = [arg.description, range && `Range: ${range}.`].filter(Boolean).join(" ");
  const helpEl = help ? h("span", { class: "help", testid: `argument-help-${arg.name}` }, help) : null;
  if (arg.type === "bool") {
    return h("div", { class: "field field-wide", testid: `argument-${arg.name}` },
      h("label", { class: "check" }, input, h("span", {}, humanize(arg.name))), helpEl);
  }
  return h("label", { class: "field", testid: `argument-${arg.name}`, title: arg.name }, h("span", {}, humanize(arg.name)), input, helpEl);
}

function argumentValue(arg: ModelArgument, input: HTMLInputElement | HTMLSelectElement): unknown {
  if (arg.type === "bool") return (input as HTMLInputElement).checked;
  if (input.value === "") return undefined;
  if (arg.type === "int") return Math.round(Number(input.value));
  if (arg.type === "float") return Number(input.value);
  return input.value;
}

function mountInferencePanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const models = new ModelsApi(ctx.api);
  const labels = new LabelsApi(ctx.api);
  let tool: ToolSpec = TOOLS[0];
  let packages: ModelPackage[] = [];
  let layers: Layer[] = [];
  let collections: Collection[] = [];
  let args: { arg: ModelArgument; input: HTMLInputElement | HTMLSelectElement }[] = [];
  let current: Job | null = null;
  const shownResults = new Set<number>();
  let shownArguments = "";

  // extent drawing -----------------------------------------------------------------------------
  const extentSource = new VectorSource();
  const extentLayer = new VectorLayer({ source: extentSource, zIndex: 60 });
  ctx.map.addLayer(extentLayer);
  let draw: ShapeDraw | null = null;
  const extentText = h("span", { class: "small muted", testid: "extent-text" }, "Whole raster");
  const stopDrawing = (): void => {
    if (draw) ctx.map.removeInteraction(draw);
    draw = null;
  };
  const drawButton = h("button", { type: "button", class: "btn btn-small", testid: "draw-extent", onclick: () => {
    stopDrawing();
    draw = new ShapeDraw(boxFrom, (geometry) => {
      extentSource.clear();
      extentSource.addFeature(new Feature(geometry));
      extentText.textContent = "Drawn extent";
      setTimeout(stopDrawing);
    });
    ctx.map.addInteraction(draw);
    extentText.textContent = "Drag a box on the map (or click two corners)…";
  } }, "Draw extent");
  const clearButton = h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "clear-extent", onclick: () => {
    stopDrawing();
    extentSource.clear();
    extentText.textContent = "Whole raster";
  } }, "Whole raster");
  const extentGeometry = (): unknown => {
    const feature = extentSource.getFeatures()[0];
    return feature ? geojson.writeGeometryObject(feature.getGeometry() as Polygon) : null;
  };

  // form ---------------------------------------------------------------------------------------
  const toolSelect = h("select", { testid: "inference-tool" }, TOOLS.map((t) => h("option", { value: t.kind }, t.title)));
  const modelSelect = h("select", { testid: "inference-model", required: true });
  const rasterSelect = h("select", { testid: "inference-raster", required: true });
  const layerSelect = h("select", { testid: "inference-layer", required: true });
  const processor = h("select", { testid: "inference-processor" }, h("option", { value: "CPU" }, "CPU"), h("option", { value: "GPU" }, "GPU"));
  const outName = h("input", { type: "text", placeholder: "optional", testid: "inference-out-name" });
  const nmsRun = h("input", { type: "checkbox", testid: "inference-run-nms" });
  const overlap = h("input", { type: "number", min: 0, max: 1, step: 0.05, value: "0.1", testid: "inference-overlap" });
  const agnostic = h("input", { type: "checkbox", testid: "inference-class-agnostic" });
  const argsBox = h("div", { class: "inference-args", testid: "inference-args" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-small", testid: "inference-run", disabled: !ctx.canEdit }, "Run");
  const notice = h("p", { class: "notice", hidden: true, testid: "inference-error" });
  const field = (label: string, input: HTMLElement, testid?: string): HTMLElement => h("label", { class: "field", testid }, h("span", {}, label), input);
  const rasterField = field("Raster", rasterSelect);
  const layerField = field("Input layer", layerSelect);
  const modelField = field("Model", modelSelect);
  const extentField = h("div", { class: "field" }, h("span", {}, "Extent"), h("div", { class: "row" }, drawButton, clearButton, extentText));
  const nmsField = h("label", { class: "check" }, nmsRun, h("span", {}, "Remove overlaps (NMS) after detection"));
  const overlapField = field("Max overlap ratio", overlap);
  const agnosticField = h("label", { class: "check" }, agnostic, h("span", {}, "Across classes"));
  const overlapPair = h("div", { class: "inference-pair" }, overlapField, h("div", { class: "field" }, h("span", {}, "\u00a0"), agnosticField));
  const form = h("form", { class: "inference-form", testid: "inference-form" }, field("Tool", toolSelect), rasterField, layerField, modelField,
    extentField, h("div", { class: "inference-pair" }, field("Processor", processor), field("Output name", outName)), argsBox,
    nmsField, overlapPair, notice, h("div", { class: "row" }, submit));

  // progress and results -------------------------------------------------------------------------
  const bar = progressBar("inference-progress");
  const status = h("span", { class: "small", testid: "inference-status" });
  const cancel = h("button", { type: "button", class: "btn btn-small btn-quiet", hidden: true, testid: "inference-cancel",
    onclick: () => current && ctx.api.cancelJob(current.id).then((job) => ctx.applyJob(job)) }, "Cancel");
  const progressRow = h("div", { class: "inference-progress", hidden: true }, bar.el, h("div", { class: "row" }, status, cancel));
  const results = h("div", { class: "inference-results", testid: "inference-results" });
  const resultsEmpty = h("p", { class: "muted small", testid: "inference-results-empty" }, "No results yet: run a model above.");

  function renderTool(): void {
    tool = TOOLS.find((t) => t.kind === toolSelect.value) ?? TOOLS[0];
    rasterField.hidden = !tool.needsRaster;
    layerField.hidden = !tool.needsLayer;
    modelField.hidden = tool.families.length === 0;
    // A hidden field must not block the form.
    rasterSelect.required = !rasterField.hidden;
    layerSelect.required = !layerField.hidden;
    modelSelect.required = !modelField.hidden;
    extentField.hidden = !tool.tiled;
    nmsField.hidden = tool.kind !== "detect_objects";
    overlapField.hidden = tool.kind !== "detect_objects" && tool.kind !== "non_max_suppression";
    agnosticField.hidden = overlapField.hidden;
    overlapPair.hidden = overlapField.hidden;
    const usable = packages.filter((p) => tool.families.includes(p.family ?? ""));
    const chosen = modelSelect.value;
    replace(modelSelect, usable.length ? usable.map((p) => h("option", { value: String(p.id), disabled: !p.runnable, title: p.runnable_reason }, `${p.title}${p.runnable ? "" : " (cannot run)"}`))
      : [h("option", { value: "" }, "No model of this kind: upload or train one")]);
    if (usable.some((p) => String(p.id) === chosen)) modelSelect.value = chosen;
    if (modelSelect.value !== shownArguments) void loadArguments();
  }

  async function loadArguments(): Promise<void> {
    replace(argsBox);
    args = [];
    shownArguments = modelSelect.value;
    const id = Number(modelSelect.value);
    if (!id || modelField.hidden) return;
    try {
      const info = await models.info(id);
      args = info.arguments.map((arg) => ({ arg, input: argumentInput(arg) }));
      replace(argsBox, args.map(({ arg, input }) => argumentField(arg, input)));
    } catch (err) {
      setNotice(notice, message(err));
    }
  }

  let lastRasters: Raster[] = ctx.rasters();
  function setRasters(rasters: Raster[]): void {
    lastRasters = rasters;
    const ready = rasters.filter((r) => r.status === "ready" && (r.kind ?? "image") === "image");
    const chosen = rasterSelect.value;
    replace(rasterSelect, ready.map((r) => h("option", { value: String(r.id), selected: String(r.id) === chosen }, r.name)),
      // A collection (issue 17): one job over all of its rasters, value "c<id>".
      collections.length ? h("optgroup", { label: "Collections" }, collections.map((c) => h("option", { value: `c${c.id}`, selected: `c${c.id}` === chosen, testid: `inference-collection-${c.id}` }, `${c.name} (${c.rasters.length} rasters)`))) : null);
  }

  async function loadLists(): Promise<void> {
    try {
      [packages, layers, collections] = await Promise.all([models.list({ project: ctx.project.id }), labels.listLayers(ctx.project.id),
        new CollectionsApi(ctx.api).list(ctx.project.id)]);
      setRasters(lastRasters);
      const layerChosen = layerSelect.value;
      replace(layerSelect, layers.map((l) => h("option", { value: String(l.id), selected: String(l.id) === layerChosen }, `${l.name} (${l.feature_count})`)));
      renderTool();
    } catch (err) {
      setNotice(notice, message(err));
    }
  }

  function params(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (tool.needsRaster && rasterSelect.value.startsWith("c")) out.in_collection = Number(rasterSelect.value.slice(1));
    else if (tool.needsRaster) out.in_raster = Number(rasterSelect.value);
    if (tool.needsLayer) out.in_layer = Number(layerSelect.value);
    if (tool.families.length) {
      out.in_model = Number(modelSelect.value);
      const values: Record<string, unknown> = {};
      for (const { arg, input } of args) {
        const v = argumentValue(arg, input);
        if (v !== undefined) values[arg.name] = v;
      }
      out.arguments = values;
      out.processor_type = processor.value;
    }
    if (tool.tiled) out.processing_extent = extentGeometry();
    if (tool.kind === "detect_objects") out.run_nms = nmsRun.checked;
    if (!overlapField.hidden) {
      out.max_overlap_ratio = Number(overlap.value);
      out.class_agnostic = agnostic.checked;
    }
    if (outName.value.trim()) out.out_name = outName.value.trim();
    return out;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setNotice(notice, "");
    submit.disabled = true;
    startInference(ctx.api, ctx.project.id, tool.kind, params())
      .then((job) => { ctx.applyJob(job); track(job); })
      .catch((err: unknown) => setNotice(notice, message(err)))
      .finally(() => (submit.disabled = !ctx.canEdit));
  });

  function track(job: Job): void {
    if (!INFERENCE_KINDS.includes(job.kind)) return;
    if (current && current.id !== job.id && job.status !== "queued" && job.status !== "running") return;
    current = job;
    progressRow.hidden = false;
    const active = job.status === "queued" || job.status === "running";
    cancel.hidden = !active || !ctx.canEdit;
    bar.set(job.status === "queued" ? null : job.progress, active ? "run" : job.status === "succeeded" ? "ok" : "error");
    status.textContent = job.status === "failed" ? `Failed: ${job.error}` : `${job.status}: ${job.message}`;
    // A job over several rasters: progress of each (metrics.rasters, issue 17).
    const perRaster = job.metrics?.rasters as Record<string, { progress: number }> | undefined;
    if (perRaster && active) {
      const name = (id: string): string => lastRasters.find((r) => String(r.id) === id)?.name ?? `raster ${id}`;
      status.textContent += " · " + Object.entries(perRaster).map(([id, r]) => `${name(id)} ${Math.round(r.progress * 100)}%`).join(", ");
    }
    if (job.status === "succeeded") void showResult(job);
  }

  /** Newest first: a result goes before the first one of an older job. */
  function place(el: HTMLElement, jobId: number): void {
    el.dataset.jobId = String(jobId);
    const after = Array.from(results.children).find((c) => Number((c as HTMLElement).dataset.jobId) < jobId);
    results.insertBefore(el, after ?? null);
    resultsEmpty.hidden = true;
  }

  async function showResult(job: Job, onMap = true): Promise<void> {
    const result = job.result ?? {};
    const key = job.id;
    if (shownResults.has(key)) return;
    shownResults.add(key);
    try {
      if (typeof result.layer === "number") {
        const layer = await labels.getLayer(result.layer);
        place(detectionsResult(ctx, layer, { minConfidence: thresholdOf(job), visible: onMap, job }), job.id);
        if (onMap) void loadLists();
      } else if (typeof result.raster === "number") {
        const rasters = onMap ? await ctx.reloadRasters() : ctx.rasters();
        // One classified raster per input raster (a job over several rasters lists them all).
        const ids = Array.isArray(result.rasters) ? (result.rasters as number[]) : [result.raster];
        for (const raster of rasters.filter((r) => ids.includes(r.id))) place(classifiedResult(ctx, raster), job.id);
      }
    } catch (err) {
      // An earlier run's output may have been deleted since: nothing to list.
      if (!(err instanceof ApiError && err.status === 404)) setNotice(notice, message(err));
    }
  }

  /** Earlier runs (after a reload): listed, the newest one on the map. */
  function showEarlier(jobs: Job[]): void {
    const done = jobs.filter((j) => j.status === "succeeded" && INFERENCE_KINDS.includes(j.kind)).sort((a, b) => b.id - a.id);
    done.forEach((job, i) => void showResult(job, i === 0 && !results.children.length));
  }

  toolSelect.addEventListener("change", renderTool);
  modelSelect.addEventListener("change", () => void loadArguments());
  const offs = [
    ctx.events.on("job", (job) => track(job)),
    // A model trained (or a layer made) meanwhile is offered at once.
    ctx.events.on("job", (job) => job.status === "succeeded" && ["train_model", "import_features"].includes(job.kind) && void loadLists()),
    ctx.events.on("jobs", (jobs) => showEarlier(jobs)),
    ctx.events.on("rasters", (rasters) => setRasters(rasters)),
    // Models and layers made in other panels meanwhile: refresh the lists whenever the tab is shown.
    ctx.events.on("panel", (id) => {
      // The drawn extent belongs to this tab: off the map while another one is shown.
      extentLayer.setVisible(id === "inference");
      if (id === "inference") void loadLists();
      else stopDrawing();
    }),
  ];
  setRasters(ctx.rasters());
  showEarlier(ctx.jobs());
  container.append(
    h("div", { class: "panel-section" }, h("h3", {}, "Run a model"), form, progressRow),
    h("div", { class: "panel-section" }, h("h3", {}, "Results"), resultsEmpty, results),
  );
  renderTool();
  void loadLists();
  return () => {
    offs.forEach((off) => off());
    stopDrawing();
    ctx.map.removeLayer(extentLayer);
  };
}

registerProjectPanel({ id: "inference", title: "Inference", order: 35, mount: mountInferencePanel });
