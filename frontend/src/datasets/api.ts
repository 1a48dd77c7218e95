/** Training datasets over the API: GET /api/datasets/, detail, delete, and the export job. */
import type { ApiClient } from "../api/client";
import type { Job } from "../api/types";

export const METADATA_FORMATS = [
  "PASCAL_VOC_rectangles",
  "KITTI_rectangles",
  "RCNN_Masks",
  "Classified_Tiles",
  "Labeled_Tiles",
  "COCO",
] as const;
export type MetadataFormat = (typeof METADATA_FORMATS)[number];
export const CHIP_FORMATS = ["TIFF", "PNG", "JPEG"] as const;

export interface ClassStat {
  value: number;
  name: string;
  images: number;
  features: number;
  pixels: number;
}

export interface DatasetSample {
  index: number;
  name: string;
  image: string;
  preview: string;
}

export interface Dataset {
  id: number;
  project: number;
  name: string;
  status: "exporting" | "ready";
  job: number | null;
  metadata_format: MetadataFormat;
  image_chip_format: string;
  chip_count: number;
  feature_count: number;
  /** [x, y] in pixels. */
  tile_size: [number, number];
  band_count: number;
  dtype: string;
  classes: { value: number; name: string; color: [number, number, number] }[];
  class_stats: ClassStat[];
  warnings: string[];
  size_bytes: number;
  params: Record<string, unknown>;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  can_delete: boolean;
  /** Only in GET /api/datasets/{id}/. */
  samples?: DatasetSample[];
}

/** The params of an export_training_data job (ARCHITECTURE.md). */
export interface ExportParams {
  in_rasters: number[];
  in_layer: number;
  metadata_format: MetadataFormat;
  tile_size_x: number;
  tile_size_y: number;
  stride_x: number;
  stride_y: number;
  cell_size?: number | null;
  output_nofeature_tiles: boolean;
  min_polygon_overlap_ratio: number;
  rotation_angle: number;
  image_chip_format: (typeof CHIP_FORMATS)[number];
  start_index?: number;
  crop_mode?: "FIXED_SIZE" | "BOUNDING_BOX";
  blacken_around_feature?: boolean;
  out_name?: string;
  /** Only features a reviewer accepted. */
  only_accepted?: boolean;
}

export class DatasetsApi {
  constructor(private readonly api: ApiClient) {}

  list(projectId: number): Promise<Dataset[]> {
    return this.api.listAll<Dataset>("/api/datasets/", { project: projectId });
  }
  get(id: number): Promise<Dataset> {
    return this.api.http.request<Dataset>(`/api/datasets/${id}/`);
  }
  remove(id: number): Promise<void> {
    return this.api.http.request<void>(`/api/datasets/${id}/`, { method: "DELETE" });
  }
  downloadUrl(id: number): string {
    return `/api/datasets/${id}/download/`;
  }
  startExport(projectId: number, params: ExportParams): Promise<Job> {
    return this.api.http.request<Job>("/api/jobs/", {
      method: "POST",
      body: { kind: "export_training_data", project: projectId, params },
    });
  }
}
