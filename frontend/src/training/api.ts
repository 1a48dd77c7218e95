/** Training over the API: the train_model job (params in ARCHITECTURE.md) and its live metrics. */
import type { ApiClient } from "../api/client";
import type { Job } from "../api/types";

/** Model types by the dataset formats they train on, with their backbones (first: default). */
export const ARCHITECTURES: { name: string; formats: string[]; backbones: string[] }[] = [
  { name: "FasterRCNN", formats: ["PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO"], backbones: ["efficientnet_lite0", "resnet50", "mobilenet_v3_large"] },
  { name: "RetinaNet", formats: ["PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO"], backbones: ["resnet50"] },
  { name: "SingleShotDetector", formats: ["PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO"], backbones: ["mobilenet_v3_large"] },
  { name: "MaskRCNN", formats: ["RCNN_Masks", "COCO"], backbones: ["resnet50", "resnet101", "resnet152"] },
  { name: "UnetClassifier", formats: ["Classified_Tiles"], backbones: ["resnet34", "resnet18", "resnet50", "resnet101"] },
  { name: "DeepLab", formats: ["Classified_Tiles"], backbones: ["resnet50", "resnet101"] },
  { name: "FeatureClassifier", formats: ["Labeled_Tiles"], backbones: ["resnet34", "resnet18", "resnet50", "resnet101", "resnet152"] },
];

export interface TrainParams {
  in_dataset: number;
  model_type: string;
  backbone_model?: string;
  max_epochs: number;
  batch_size: number;
  learning_rate?: number;
  validation_percentage: number;
  stop_training: boolean;
  pretrained_model?: number;
  freeze_backbone_epochs?: number;
  chip_size?: number;
  processor_type: "CPU" | "GPU";
  out_name?: string;
}

export interface EpochRow {
  epoch: number;
  train_loss: number | null;
  valid_loss: number | null;
  metrics: Record<string, unknown>;
  lr?: number | null;
}

/** The `metrics` a train_model job sends each epoch (and its result's history). */
export function epochHistory(job: Job): EpochRow[] {
  const fromResult = job.result?.history;
  if (Array.isArray(fromResult)) return fromResult as EpochRow[];
  const live = job.metrics?.history;
  return Array.isArray(live) ? (live as EpochRow[]) : [];
}

export function startTraining(api: ApiClient, projectId: number, params: TrainParams): Promise<Job> {
  return api.http.request<Job>("/api/jobs/", { method: "POST", body: { kind: "train_model", project: projectId, params } });
}

/** Which starting weights a model will get (GET /api/training/start/). */
export interface TrainingStart {
  backbone: string;
  kind: "cache" | "package" | "download" | "random";
  pretrained: boolean;
  summary: string;
  advice: string;
  /** True for an administrator, who may add a weights file (POST /api/weights/). */
  can_import_weights?: boolean;
}

export interface ImportedWeights {
  backbone: string;
  filename: string;
}

/** Add a checkpoint to the weights cache (administrators; recognised by its sha256). */
export function importWeights(api: ApiClient, file: File): Promise<ImportedWeights> {
  const form = new FormData();
  form.append("file", file);
  return api.http.request<ImportedWeights>("/api/weights/", { method: "POST", body: form });
}

export function trainingStart(api: ApiClient, modelType: string, backbone: string, pretrained: string, bands?: number): Promise<TrainingStart> {
  const q = new URLSearchParams({ model_type: modelType });
  if (bands) q.set("bands", String(bands));
  if (backbone) q.set("backbone_model", backbone);
  if (pretrained) q.set("pretrained_model", pretrained);
  return api.http.request<TrainingStart>(`/api/training/start/?${q.toString()}`);
}
