/** An accuracy report: the table per class (and overall), notes, a chart, CSV/JSON downloads. */
import { h } from "../ui/dom";
import type { AccuracyReport, DetectionReport, DetectionRow, PixelReport } from "./api";
import { reportUrl } from "./api";
import { confusionHeatmap, prCurve } from "./charts";

export function num(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? "–" : Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

const TITLES: Partial<Record<keyof DetectionRow, string>> = {
  true_positives: "true positives", false_positives: "false positives", false_negatives: "missed ground truth (false negatives)",
  precision: "precision", recall: "recall", ap: "all-point average precision at the minimum IoU", ap50_95: "COCO AP averaged over IoU 0.5:0.95",
};

function detectionTable(report: DetectionReport): HTMLElement {
  const cols: [keyof DetectionRow, string][] = [["true_positives", "TP"], ["false_positives", "FP"], ["false_negatives", "FN"],
    ["precision", "P"], ["recall", "R"], ["f1", "F1"], ["ap", `AP@${report.min_iou}`], ["ap50_95", "AP50:95"]];
  const row = (r: DetectionRow, overall: boolean): HTMLElement =>
    h("tr", { class: overall ? "total" : "", testid: overall ? "accuracy-overall" : "accuracy-class" },
      h("td", {}, r.class_name), cols.map(([k]) => h("td", { "data-col": k }, num(r[k] as number | null))));
  return h("table", { class: "grid compact", testid: "accuracy-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Class"), cols.map(([k, t]) => h("th", { title: TITLES[k] ?? "" }, t)))),
    h("tbody", {}, report.classes.map((r) => row(r, false)), row(report.overall, true)));
}

function pixelTable(report: PixelReport): HTMLElement {
  return h("div", {},
    h("dl", { class: "kv", testid: "accuracy-overall" },
      h("dt", {}, "Overall accuracy"), h("dd", { "data-col": "overall_accuracy" }, num(report.overall_accuracy)),
      h("dt", {}, "Kappa"), h("dd", { "data-col": "kappa" }, num(report.kappa)),
      h("dt", {}, "Mean IoU"), h("dd", {}, num(report.mean_iou)),
      h("dt", {}, "Pixels"), h("dd", {}, report.pixels.toLocaleString())),
    h("table", { class: "grid compact", testid: "accuracy-table" },
      h("thead", {}, h("tr", {}, ["Class", "User's", "Producer's", "IoU", "F1"].map((t) => h("th", {}, t)))),
      h("tbody", {}, report.classes.map((r) => h("tr", { testid: "accuracy-class" }, h("td", {}, r.class_name),
        h("td", {}, num(r.users_accuracy)), h("td", {}, num(r.producers_accuracy)), h("td", {}, num(r.iou)), h("td", {}, num(r.f1)))))));
}

export function reportView(jobId: number, report: AccuracyReport): HTMLElement {
  const body = report.mode === "detections"
    ? [detectionTable(report), prCurve(report.classes)]
    : [pixelTable(report), h("div", { class: "small muted" }, "Confusion matrix (rows: reference, columns: predicted)"), confusionHeatmap(report)];
  return h("div", { class: "accuracy-report", testid: "accuracy-report", "data-job-id": jobId },
    body,
    report.notes.map((n) => h("p", { class: "small muted", testid: "accuracy-note" }, n)),
    h("div", { class: "row small" },
      h("a", { href: reportUrl(jobId, "csv"), download: true, testid: "accuracy-csv" }, "CSV"), " · ",
      h("a", { href: reportUrl(jobId, "json"), download: true, testid: "accuracy-json" }, "JSON")));
}
