/** Model packages over the API: types and calls (GET/POST /api/models/, PATCH, info, download). */
import type { ApiClient } from "../api/client";
import { uploadMultipart, type UploadHandle, type UploadProgress } from "../api/upload";

export type Rgb = [number, number, number];

export interface ModelClass {
  value: number;
  name: string;
  /** null: the package gives no color. */
  color: Rgb | null;
}

export interface CellSizeRange {
  min: number | null;
  max: number | null;
  /** Spatial reference of the sizes (e.g. 3857: meters). */
  wkid: number | null;
}

export interface ModelImage {
  name: string;
  url: string;
}

export interface ModelPackage {
  id: number;
  title: string;
  description: string;
  tags: string[];
  project: number;
  project_name: string;
  shared: boolean;
  can_edit: boolean;
  source: "upload" | "training" | "export";
  framework: string;
  model_type: string;
  model_name: string;
  architecture: string;
  backbone: string;
  family: string | null;
  runnable: boolean;
  runnable_reason: string;
  model_io: ModelIo | Record<string, never>;
  classes: ModelClass[];
  image_height: number | null;
  image_width: number | null;
  extract_bands: (number | string)[] | null;
  is_multispectral: boolean | null;
  cell_size: CellSizeRange | null;
  metrics: Record<string, unknown>;
  argument_defaults: Record<string, unknown>;
  emd: Record<string, unknown>;
  emd_name: string;
  file_name: string;
  size: number;
  sha256: string;
  images: ModelImage[];
  download_url: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** Inputs and outputs found in an ONNX / TorchScript file (empty for PyTorch packages). */
export interface ModelTensor {
  name: string;
  shape: (number | string | null)[];
  type: string;
}
export interface ModelIo {
  runtime: "onnx" | "torchscript";
  opset: number | null;
  producer: string;
  inputs: ModelTensor[];
  outputs: ModelTensor[];
  io: { input?: string; scaling: string; outputs: Record<string, string>; labels: string };
}

export interface ModelArgument {
  name: string;
  type: "int" | "float" | "bool" | "str" | "choice";
  default: unknown;
  description: string;
  choices: string[] | null;
  minimum: number | null;
  maximum: number | null;
}

export interface ModelInfo {
  id: number;
  family: string | null;
  runnable: boolean;
  runnable_reason: string;
  arguments: ModelArgument[];
}

export interface ModelPatch {
  title?: string;
  description?: string;
  tags?: string[];
  shared?: boolean;
  classes?: ModelClass[];
  cell_size?: { min: number | null; max: number | null } | null;
  argument_defaults?: Record<string, unknown> | null;
}

export interface ModelFilter {
  project?: number;
  search?: string;
  model_type?: string;
}

export const MODEL_TYPES = [
  "ObjectDetection",
  "InstanceDetection",
  "ImageClassification",
  "ObjectClassification",
  "PanopticSegmentation",
  "SuperResolution",
  "ImageTranslation",
  "ChangeDetection",
] as const;

export class ModelsApi {
  constructor(readonly api: ApiClient) {}

  list(filter: ModelFilter): Promise<ModelPackage[]> {
    return this.api.listAll<ModelPackage>("/api/models/", {
      project: filter.project,
      search: filter.search?.trim() || undefined,
      model_type: filter.model_type || undefined,
    });
  }
  get(id: number): Promise<ModelPackage> {
    return this.api.http.request<ModelPackage>(`/api/models/${id}/`);
  }
  info(id: number): Promise<ModelInfo> {
    return this.api.http.request<ModelInfo>(`/api/models/${id}/info/`);
  }
  update(id: number, patch: ModelPatch): Promise<ModelPackage> {
    return this.api.http.request<ModelPackage>(`/api/models/${id}/`, { method: "PATCH", body: patch });
  }
  /** Start an export_onnx job (a new ONNX package of the same project once it succeeds). */
  exportOnnx(id: number): Promise<{ id: number; kind: string; status: string }> {
    return this.api.http.request(`/api/models/${id}/export-onnx/`, { method: "POST", body: {} });
  }
  remove(id: number): Promise<void> {
    return this.api.http.request<void>(`/api/models/${id}/`, { method: "DELETE" });
  }
  upload(projectId: number, file: File, onProgress: (p: UploadProgress) => void): UploadHandle<ModelPackage> {
    const form = new FormData();
    form.append("project", String(projectId));
    form.append("file", file, file.name);
    return uploadMultipart<ModelPackage>("/api/models/", form, this.api.http.csrf, onProgress);
  }
}
