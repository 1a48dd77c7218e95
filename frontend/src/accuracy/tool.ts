/** "Compute accuracy" on a result (a detections layer or a classified raster): pick the ground
 * truth, start a compute_accuracy job, follow it, then show its report and, for detections, the
 * true / false positives and missed ground truth on the map. */
import "./accuracy.css";
import { transformExtent } from "ol/proj";
import { ApiError } from "../api/http";
import type { Job, Raster } from "../api/types";
import { LabelsApi } from "../labeling/api";
import type { Layer } from "../labeling/types";
import type { ProjectContext } from "../panels/registry";
import { h, replace, setNotice } from "../ui/dom";
import { ACCURACY_KIND, reportOf, startAccuracy } from "./api";
import { outcomesLayer, type OutcomesLayer } from "./outcomesLayer";
import { reportView } from "./report";

export type AccuracyTarget = { layer: Layer } | { raster: Raster };

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

/** The job's params name this target as its result. */
export function scoresTarget(job: Job, target: AccuracyTarget): boolean {
  return "layer" in target ? job.params.in_detected_features === target.layer.id : job.params.in_classified_raster === target.raster.id;
}

function viewExtent(ctx: ProjectContext): Record<string, unknown> {
  const [w, s, e, n] = transformExtent(ctx.map.getView().calculateExtent(ctx.map.getSize()), "EPSG:3857", "EPSG:4326");
  return { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
}

export function accuracyTool(ctx: ProjectContext, target: AccuracyTarget): HTMLElement {
  const detections = "layer" in target;
  const selfId = "layer" in target ? target.layer.id : target.raster.id;
  const truth = h("select", { testid: "accuracy-truth", required: true });
  const minIou = h("input", { type: "number", min: 0.05, max: 1, step: 0.05, value: "0.5", testid: "accuracy-min-iou" });
  const accepted = h("input", { type: "checkbox", testid: "accuracy-only-accepted" });
  const inView = h("input", { type: "checkbox", testid: "accuracy-in-view" });
  const run = h("button", { type: "submit", class: "btn btn-primary btn-small", testid: "accuracy-run", disabled: !ctx.canEdit }, "Compute");
  const notice = h("p", { class: "notice", hidden: true, testid: "accuracy-error" });
  const status = h("span", { class: "small", testid: "accuracy-status" });
  const reportHost = h("div", { class: "accuracy-report-host" });
  const form = h("form", { class: "accuracy-form", hidden: true, testid: "accuracy-form" },
    h("label", { class: "field" }, h("span", {}, "Ground truth"), truth),
    detections ? h("label", { class: "field" }, h("span", {}, "Min. IoU"), minIou) : null,
    h("label", { class: "check" }, accepted, h("span", {}, "Only accepted labels")),
    h("label", { class: "check", title: "Default: where the ground truth is" }, inView, h("span", {}, "Only the current map view")),
    notice, h("div", { class: "row" }, run, status));
  const open = h("button", { type: "button", class: "btn btn-small", testid: "accuracy-open", title: "Score this result against ground truth" }, "Compute accuracy");
  let current: number | null = null;
  let overlay: OutcomesLayer | null = null;

  async function fillTruth(): Promise<void> {
    const layers = (await new LabelsApi(ctx.api).listLayers(ctx.project.id)).filter((l) => !(detections && l.id === selfId));
    const options = layers.map((l) => h("option", { value: `layer:${l.id}`, selected: l.kind === "labels" }, `${l.name} (${l.feature_count})`));
    if (!detections) {
      const refs = ctx.rasters().filter((r) => r.id !== selfId && r.status === "ready" && r.count === 1);
      options.push(...refs.map((r) => h("option", { value: `raster:${r.id}` }, `${r.name} (raster)`)));
    }
    replace(truth, options.length ? options : [h("option", { value: "" }, "No layer to compare with: draw labels first")]);
  }

  function params(): Record<string, unknown> {
    const [kind, id] = truth.value.split(":");
    const out: Record<string, unknown> = { only_accepted: accepted.checked };
    out[detections ? "in_detected_features" : "in_classified_raster"] = selfId;
    out[kind === "raster" ? "in_reference_raster" : "in_ground_truth_features"] = Number(id);
    if (detections) out.min_iou = Number(minIou.value);
    if (inView.checked) out.processing_extent = viewExtent(ctx);
    return out;
  }

  function show(job: Job): void {
    const report = reportOf(job);
    if (!report) return;
    overlay?.setVisible(false);
    overlay = null;
    const mapToggle = report.mode === "detections"
      ? h("label", { class: "check small" }, h("input", { type: "checkbox", testid: "accuracy-map", onchange: (e: Event) => {
        const on = (e.target as HTMLInputElement).checked;
        if (overlay) return overlay.setVisible(on);
        outcomesLayer(ctx, job.id).then((o) => { overlay = o; o.setVisible((e.target as HTMLInputElement).checked); },
          (err: unknown) => setNotice(notice, message(err)));
      } }), h("span", {}, "Show on the map: "), h("span", { class: "tp" }, "true +"), " ", h("span", { class: "fp" }, "false +"), " ", h("span", { class: "missed" }, "missed"))
      : null;
    replace(reportHost, reportView(job.id, report), mapToggle);
  }

  function track(job: Job): void {
    if (job.kind !== ACCURACY_KIND || job.id !== current) return;
    status.textContent = job.status === "failed" ? `Failed: ${job.error}` : job.status === "succeeded" ? "Done" : `${job.status}: ${job.message}`;
    if (job.status === "succeeded") show(job);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setNotice(notice, "");
    run.disabled = true;
    startAccuracy(ctx.api, ctx.project.id, params())
      .then((job) => { current = job.id; ctx.applyJob(job); track(job); })
      .catch((err: unknown) => setNotice(notice, message(err)))
      .finally(() => (run.disabled = !ctx.canEdit));
  });
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    if (!form.hidden) void fillTruth().catch((err: unknown) => setNotice(notice, message(err)));
  });
  ctx.onDispose(ctx.events.on("job", track));
  // The newest earlier run of this result, after a reload.
  const earlier = ctx.jobs().filter((j) => j.kind === ACCURACY_KIND && j.status === "succeeded" && scoresTarget(j, target)).sort((a, b) => b.id - a.id)[0];
  if (earlier) {
    current = earlier.id;
    show(earlier);
  }
  return h("div", { class: "accuracy-tool", testid: "accuracy-tool" }, h("div", { class: "row" }, open), form, reportHost);
}
