/** Inference jobs over the API: POST /api/jobs/ with the detect_objects / classify_pixels /
 * classify_objects / non_max_suppression kinds (params as in ARCHITECTURE.md). */
import type { ApiClient } from "../api/client";
import type { Job } from "../api/types";

export type InferenceKind = "detect_objects" | "classify_pixels" | "classify_objects" | "non_max_suppression";

export interface ToolSpec {
  kind: InferenceKind;
  title: string;
  /** Model families the tool runs (the model picker lists only these); none for NMS. */
  families: string[];
  needsRaster: boolean;
  needsLayer: boolean;
  tiled: boolean;
}

export const TOOLS: ToolSpec[] = [
  { kind: "detect_objects", title: "Detect objects", families: ["object_detection", "instance_detection"], needsRaster: true, needsLayer: false, tiled: true },
  { kind: "classify_pixels", title: "Classify pixels", families: ["pixel_classification"], needsRaster: true, needsLayer: false, tiled: true },
  { kind: "classify_objects", title: "Classify objects", families: ["object_classification"], needsRaster: true, needsLayer: true, tiled: false },
  { kind: "non_max_suppression", title: "NMS", families: [], needsRaster: false, needsLayer: true, tiled: false },
];

export const INFERENCE_KINDS: readonly string[] = TOOLS.map((t) => t.kind);

export function startInference(api: ApiClient, projectId: number, kind: InferenceKind, params: Record<string, unknown>): Promise<Job> {
  return api.http.request<Job>("/api/jobs/", { method: "POST", body: { kind, project: projectId, params } });
}

export function layerExportUrl(layerId: number, format: "geojson" | "gpkg"): string {
  return `/api/layers/${layerId}/export/?format=${format}`;
}
