/** Compute accuracy over the API: POST /api/jobs/ {kind: "compute_accuracy"}, the report
 * (job.result), its CSV/JSON downloads, TP/FP outcomes and a model's runs. */
import type { ApiClient } from "../api/client";
import type { Http } from "../api/http";
import type { Job } from "../api/types";

export const ACCURACY_KIND = "compute_accuracy";

/** Scores of one class (class_value null: all classes). */
export interface DetectionRow {
  class_value: number | null;
  class_name: string;
  detections: number;
  ground_truth: number;
  true_positives: number;
  false_positives: number;
  false_negatives: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  ap: number | null;
  ap50: number | null;
  ap50_95: number | null;
  curve?: { recall: number[]; precision: number[] };
}

export interface PixelRow {
  class_value: number;
  class_name: string;
  reference_pixels: number;
  predicted_pixels: number;
  users_accuracy: number | null;
  producers_accuracy: number | null;
  f1: number | null;
  iou: number | null;
}

export interface DetectionReport {
  mode: "detections";
  min_iou: number;
  overall: DetectionRow;
  classes: DetectionRow[];
  notes: string[];
  outcomes: { true_positives: number; false_positives: number; missed: number };
  in_detected_features?: number;
  in_ground_truth_features?: number;
}

export interface PixelReport {
  mode: "pixels";
  pixels: number;
  overall_accuracy: number | null;
  kappa: number | null;
  mean_iou: number | null;
  class_values: number[];
  class_names: string[];
  confusion: number[][];
  classes: PixelRow[];
  notes: string[];
}

export type AccuracyReport = DetectionReport | PixelReport;

export interface Outcomes {
  detections_layer: number;
  ground_truth_layer: number;
  true_positives: number[];
  false_positives: number[];
  matched: number[];
  missed: number[];
}

export interface AccuracyRun {
  job: number;
  project: number;
  status: string;
  mode: "detections" | "pixels" | null;
  created_at: string;
  finished_at: string | null;
  created_by: string | null;
  result: string;
  ground_truth: string;
  raster: string;
  min_iou: number | null;
  headline: Record<string, number | null>;
  error: string;
}

export function startAccuracy(api: ApiClient, projectId: number, params: Record<string, unknown>): Promise<Job> {
  return api.http.request<Job>("/api/jobs/", { method: "POST", body: { kind: ACCURACY_KIND, project: projectId, params } });
}

export function reportOf(job: Pick<Job, "result">): AccuracyReport | null {
  const mode = job.result?.mode;
  return mode === "detections" || mode === "pixels" ? (job.result as unknown as AccuracyReport) : null;
}

export function outcomes(http: Http, jobId: number): Promise<Outcomes> {
  return http.request<Outcomes>(`/api/accuracy/${jobId}/outcomes/`);
}

export async function modelRuns(http: Http, modelId: number): Promise<AccuracyRun[]> {
  return (await http.request<{ results: AccuracyRun[] }>(`/api/models/${modelId}/accuracy/`)).results;
}

export function reportUrl(jobId: number, format: "csv" | "json"): string {
  return `/api/accuracy/${jobId}/report.${format}`;
}
