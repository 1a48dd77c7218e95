/** The model page's "Accuracy" section: every compute_accuracy run of a result this model made
 * (GET /api/models/{id}/accuracy/), so a team sees how it does across areas and dates. */
import "./accuracy.css";
import { ApiError, type Http } from "../api/http";
import { h, replace } from "../ui/dom";
import { formatDateTime } from "../ui/format";
import { modelRuns, reportUrl, type AccuracyRun } from "./api";
import { num } from "./report";

function headline(run: AccuracyRun): string {
  const m = run.headline;
  if (run.mode === "detections") return `P ${num(m.precision)} · R ${num(m.recall)} · F1 ${num(m.f1)} · AP ${num(m.ap)} · AP50:95 ${num(m.ap50_95)}`;
  if (run.mode === "pixels") return `OA ${num(m.overall_accuracy)} · κ ${num(m.kappa)} · mIoU ${num(m.mean_iou)}`;
  return "";
}

function runsList(runs: AccuracyRun[]): HTMLElement {
  if (!runs.length) return h("p", { class: "muted small", testid: "model-accuracy-empty" }, "No accuracy runs yet: use “Compute accuracy” on a result of this model (Inference tab).");
  return h("ul", { class: "accuracy-runs", testid: "model-accuracy" }, runs.map((r) => h("li", { testid: "model-accuracy-run", "data-job-id": r.job },
    h("div", { class: "row" }, h("strong", {}, r.raster || "(raster deleted)"), h("span", { class: "spacer" }),
      h("span", { class: "muted", title: r.created_by ?? "" }, formatDateTime(r.finished_at ?? r.created_at))),
    h("div", { class: "muted ellipsis", title: `${r.result} vs ${r.ground_truth}` }, `${r.result} vs ${r.ground_truth}`),
    h("div", { class: "row" },
      h("span", { class: "scores", testid: "model-accuracy-headline" }, r.status === "succeeded" ? `${headline(r)}${r.min_iou ? ` @IoU ${r.min_iou}` : ""}` : r.status),
      h("span", { class: "spacer" }),
      r.status === "succeeded" ? [h("a", { href: reportUrl(r.job, "csv"), download: true }, "CSV"), " · ", h("a", { href: reportUrl(r.job, "json"), download: true }, "JSON")] : null))));
}

export function modelAccuracySection(http: Http, modelId: number): HTMLElement {
  const host = h("div", {}, h("p", { class: "muted small" }, "Loading accuracy runs…"));
  modelRuns(http, modelId).then((runs) => replace(host, runsList(runs)),
    (err: unknown) => replace(host, h("p", { class: "notice notice-error" }, err instanceof ApiError ? err.detail : String(err))));
  return h("div", { class: "panel-section", testid: "model-accuracy-section" }, h("h3", {}, "Accuracy"), host);
}
