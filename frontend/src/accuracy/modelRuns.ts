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

function runsTable(runs: AccuracyRun[]): HTMLElement {
  if (!runs.length) return h("p", { class: "muted small", testid: "model-accuracy-empty" }, "No accuracy runs yet: use “Compute accuracy” on a result of this model (Inference tab).");
  return h("table", { class: "grid compact accuracy-runs", testid: "model-accuracy" },
    h("thead", {}, h("tr", {}, ["Date", "Raster", "Result", "Ground truth", "Scores", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, runs.map((r) => h("tr", { testid: "model-accuracy-run", "data-job-id": r.job },
      h("td", { title: r.created_by ?? "" }, formatDateTime(r.finished_at ?? r.created_at)),
      h("td", {}, r.raster || "–"),
      h("td", {}, r.result),
      h("td", {}, r.ground_truth),
      h("td", { testid: "model-accuracy-headline" }, r.status === "succeeded" ? `${headline(r)}${r.min_iou ? ` (IoU ${r.min_iou})` : ""}` : r.status),
      h("td", {}, r.status === "succeeded" ? [h("a", { href: reportUrl(r.job, "csv"), download: true }, "CSV"), " ", h("a", { href: reportUrl(r.job, "json"), download: true }, "JSON")] : null)))));
}

export function modelAccuracySection(http: Http, modelId: number): HTMLElement {
  const host = h("div", {}, h("p", { class: "muted small" }, "Loading accuracy runs…"));
  modelRuns(http, modelId).then((runs) => replace(host, runsTable(runs)),
    (err: unknown) => replace(host, h("p", { class: "notice notice-error" }, err instanceof ApiError ? err.detail : String(err))));
  return h("div", { class: "panel-section", testid: "model-accuracy-section" }, h("h3", {}, "Accuracy"), host);
}
