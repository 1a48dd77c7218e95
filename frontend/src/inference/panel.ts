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
import { classifiedResult, detectionsResult } from "./results";

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
  const outName = h("input", { type: "text", placeholder: "Output name (optional)", testid: "inference-out-name" });
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
  const nmsField = h("div", { class: "field" }, h("label", { class: "row small" }, nmsRun, " Remove overlaps (NMS) after detection"));
  const overlapField = field("Max overlap ratio", overlap);
  const agnosticField = h("label", { class: "row small" }, agnostic, " Across classes");
  const form = h("form", { class: "inference-form", testid: "inference-form" }, field("Tool", toolSelect), rasterField, layerField, modelField,
    extentField, argsBox, nmsField, overlapField, agnosticField, field("Processor", processor), outName, h("div", { class: "row" }, submit), notice);

  // progress and results -------------------------------------------------------------------------
  const bar = progressBar("inference-progress");
  const status = h("span", { class: "small", testid: "inference-status" });
  const cancel = h("button", { type: "button", class: "btn btn-small btn-quiet", hidden: true, testid: "inference-cancel",
    onclick: () => current && ctx.api.cancelJob(current.id).then((job) => ctx.applyJob(job)) }, "Cancel");
  const progressRow = h("div", { class: "inference-progress", hidden: true }, bar.el, h("div", { class: "row" }, status, cancel));
  const results = h("div", { class: "inference-results", testid: "inference-results" });

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
      replace(argsBox, args.map(({ arg, input }) => field(arg.name, input, `argument-${arg.name}`)));
    } catch (err) {
      setNotice(notice, message(err));
    }
  }

  function setRasters(rasters: Raster[]): void {
    const ready = rasters.filter((r) => r.status === "ready" && (r.kind ?? "image") === "image");
    const chosen = rasterSelect.value;
    replace(rasterSelect, ready.map((r) => h("option", { value: String(r.id), selected: String(r.id) === chosen }, r.name)));
  }

  async function loadLists(): Promise<void> {
    try {
      [packages, layers] = await Promise.all([models.list({ project: ctx.project.id }), labels.listLayers(ctx.project.id)]);
      const layerChosen = layerSelect.value;
      replace(layerSelect, layers.map((l) => h("option", { value: String(l.id), selected: String(l.id) === layerChosen }, `${l.name} (${l.feature_count})`)));
      renderTool();
    } catch (err) {
      setNotice(notice, message(err));
    }
  }

  function params(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (tool.needsRaster) out.in_raster = Number(rasterSelect.value);
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
    if (job.status === "succeeded") void showResult(job);
  }

  async function showResult(job: Job): Promise<void> {
    const result = job.result ?? {};
    const key = job.id;
    if (shownResults.has(key)) return;
    shownResults.add(key);
    try {
      if (typeof result.layer === "number") {
        const layer = await labels.getLayer(result.layer);
        results.prepend(detectionsResult(ctx, layer));
        void loadLists();
      } else if (typeof result.raster === "number") {
        const rasters = await ctx.reloadRasters();
        const raster = rasters.find((r) => r.id === result.raster);
        if (raster) results.prepend(classifiedResult(ctx, raster));
      }
    } catch (err) {
      setNotice(notice, message(err));
    }
  }

  toolSelect.addEventListener("change", renderTool);
  modelSelect.addEventListener("change", () => void loadArguments());
  const offs = [
    ctx.events.on("job", (job) => track(job)),
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
  container.append(form, progressRow, h("h3", {}, "Results"), results);
  renderTool();
  void loadLists();
  return () => {
    offs.forEach((off) => off());
    stopDrawing();
    ctx.map.removeLayer(extentLayer);
  };
}

registerProjectPanel({ id: "inference", title: "Inference", order: 35, mount: mountInferencePanel });
