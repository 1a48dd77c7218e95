/** Raster collections, acquisition dates and change between dates (issue 17). */
import type { ApiClient } from "../api/client";
import type { ProjectClass, Raster } from "../api/types";

export interface CollectionItem {
  raster: number;
  name: string;
  acquired: string | null;
  status: string;
  bounds: [number, number, number, number] | null;
  crs: string;
  count: number | null;
  dtype: string;
}

export interface Collection {
  id: number;
  project: number;
  name: string;
  description: string;
  rasters: number[];
  items: CollectionItem[];
}

export interface Side { raster: number; name: string; acquired: string | null }

export interface AreasByDate {
  job: number;
  unit: string;
  classes: ProjectClass[];
  dates: { raster: number; source: number | null; name: string; acquired: string | null; areas: Record<string, number>; pixels: Record<string, number> }[];
}

export interface ChangeMatrix {
  classes: ProjectClass[];
  from: Side;
  to: Side;
  class_values: number[];
  pixels: number[][];
  areas: number[][];
}

export interface DetectionChange {
  type: "FeatureCollection";
  from: Side;
  to: Side;
  counts: { persisted: number; appeared: number; disappeared: number };
  features: { type: "Feature"; id: number; geometry: unknown; properties: Record<string, unknown> }[];
}

export class CollectionsApi {
  constructor(private readonly api: ApiClient) {}

  list(project: number): Promise<Collection[]> {
    return this.api.listAll<Collection>("/api/collections/", { project });
  }
  create(project: number, name: string, rasters: number[]): Promise<Collection> {
    return this.api.http.request<Collection>("/api/collections/", { method: "POST", body: { project, name, rasters } });
  }
  update(id: number, patch: Partial<Pick<Collection, "name" | "rasters">>): Promise<Collection> {
    return this.api.http.request<Collection>(`/api/collections/${id}/`, { method: "PATCH", body: patch });
  }
  remove(id: number): Promise<void> {
    return this.api.http.request<void>(`/api/collections/${id}/`, { method: "DELETE" });
  }
  setAcquired(raster: number, acquired: string | null): Promise<Raster> {
    return this.api.http.request<Raster>(`/api/rasters/${raster}/`, { method: "PATCH", body: { acquired } });
  }
  areas(job: number): Promise<AreasByDate> {
    return this.api.http.request<AreasByDate>(`/api/change/${job}/areas/`);
  }
  matrix(job: number, from?: number, to?: number): Promise<ChangeMatrix> {
    return this.api.http.request<ChangeMatrix>(`/api/change/${job}/matrix/`, { query: { from, to } });
  }
  detections(job: number, from?: number, to?: number, minIou = 0.3): Promise<DetectionChange> {
    return this.api.http.request<DetectionChange>(`/api/change/${job}/detections/`, { query: { from, to, min_iou: minIou } });
  }
}
