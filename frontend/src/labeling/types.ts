/** Shapes of the layers / features API and the `/ws/layers/{id}/` events (see apps/labeling/consumers.py). */
import type { ProjectClass } from "../api/types";

export type LayerKind = "labels" | "detections" | "classified";

export interface Layer {
  id: number;
  project: number;
  name: string;
  kind: LayerKind;
  source_job: number | null;
  feature_count: number;
  seq: number;
  classes: ProjectClass[];
  created_at: string;
  updated_at: string;
  /** Only from GET /api/layers/{id}/: class value (as a string) -> feature count. */
  class_counts?: Record<string, number>;
  /** Only from GET /api/layers/{id}/: [w, s, e, n] (EPSG:4326) of all features, null when empty. */
  extent?: [number, number, number, number] | null;
  review_counts?: Record<ReviewStatus, number>;
  user_counts?: UserCounts[];
}

export type ReviewStatus = "unreviewed" | "accepted" | "rejected";

export interface UserCounts {
  user: string | null;
  labels: number;
  accepted: number;
  rejected: number;
  reviewed: number;
}

export interface FeatureProperties {
  class_value: number | null;
  class_name: string;
  confidence: number | null;
  raster: number | null;
  version: number;
  seq: number;
  author: string | null;
  editor: string | null;
  created_at: string;
  updated_at: string;
  [attribute: string]: unknown;
}

export interface GeoJsonGeometry {
  type: string;
  coordinates: unknown;
}

export interface ApiFeature {
  type: "Feature";
  id: number;
  geometry: GeoJsonGeometry;
  properties: FeatureProperties;
}

export interface FeatureCollection {
  type: "FeatureCollection";
  layer: number;
  seq: number;
  features: ApiFeature[];
  /** With ?since=: ids deleted after that seq. */
  deleted?: number[];
  truncated?: boolean;
}

export interface UserRef {
  id: number;
  username: string;
}

export interface PresenceUser extends UserRef {
  connections: number;
}

export type LayerEvent =
  | { type: "hello"; layer: number; seq: number; user: UserRef }
  | { type: "feature.created" | "feature.updated" | "feature.deleted"; layer: number; seq: number; feature: ApiFeature; user: UserRef | null; sent_at: number }
  | { type: "layer.changed"; layer: number; seq: number; reason: string; count: number; user: UserRef | null }
  | { type: "layer.updated"; layer: number; name: string }
  | { type: "layer.deleted"; layer: number }
  | { type: "classes.changed"; layer: number; classes: ProjectClass[] }
  | { type: "presence"; layer: number; users: PresenceUser[] }
  | { type: "pong"; seq: number | null }
  | { type: "error"; detail: string };

export interface FeatureFilter {
  bbox?: [number, number, number, number];
  since?: number;
  class_value?: string;
  min_confidence?: number;
  limit?: number;
}
