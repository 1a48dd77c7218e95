/** Calls of the layers / features API, on the app's ApiClient (session cookie + CSRF). */
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/http";
import type { Project, ProjectClass } from "../api/types";
import { uploadMultipart, type UploadHandle } from "../api/upload";
import type { ApiFeature, FeatureCollection, FeatureFilter, GeoJsonGeometry, Layer } from "./types";

export class LabelsApi {
  constructor(private readonly api: ApiClient) {}

  listLayers(projectId: number): Promise<Layer[]> {
    return this.api.listAll<Layer>("/api/layers/", { project: projectId });
  }
  getLayer(id: number): Promise<Layer> {
    return this.api.http.request<Layer>(`/api/layers/${id}/`);
  }
  features(layerId: number, filter: FeatureFilter = {}, signal?: AbortSignal): Promise<FeatureCollection> {
    return this.api.http.request<FeatureCollection>(`/api/layers/${layerId}/features/`, {
      query: {
        bbox: filter.bbox?.map((v) => v.toFixed(7)).join(","),
        since: filter.since,
        class_value: filter.class_value,
        min_confidence: filter.min_confidence,
        limit: filter.limit,
      },
      signal,
    });
  }
  feature(layerId: number, id: number): Promise<ApiFeature> {
    return this.api.http.request<ApiFeature>(`/api/layers/${layerId}/features/${id}/`);
  }
  create(layerId: number, geometry: GeoJsonGeometry, properties: Record<string, unknown>): Promise<ApiFeature> {
    return this.api.http.request<ApiFeature>(`/api/layers/${layerId}/features/`, {
      method: "POST",
      body: { type: "Feature", geometry, properties },
    });
  }
  /** A versioned change: rejects with a ConflictError (409) when someone changed it meanwhile. */
  update(layerId: number, id: number, version: number, change: { geometry?: GeoJsonGeometry; properties?: Record<string, unknown> }): Promise<ApiFeature> {
    return this.api.http
      .request<ApiFeature>(`/api/layers/${layerId}/features/${id}/`, {
        method: "PATCH",
        body: { type: "Feature", ...(change.geometry ? { geometry: change.geometry } : {}), properties: { ...(change.properties ?? {}), version } },
      })
      .catch(asConflict);
  }
  remove(layerId: number, id: number, version: number): Promise<void> {
    return this.api.http
      .request<void>(`/api/layers/${layerId}/features/${id}/`, { method: "DELETE", query: { version } })
      .catch(asConflict);
  }
  putClasses(projectId: number, classes: ProjectClass[], remap?: Record<string, number>): Promise<Project> {
    return this.api.http.request<Project>(`/api/projects/${projectId}/classes/`, {
      method: "PUT",
      body: remap && Object.keys(remap).length ? { classes, remap } : { classes },
    });
  }
  importFile(layerId: number, file: File, classField: string, repair: boolean): UploadHandle<{ count?: number; job?: number }> {
    const form = new FormData();
    form.append("file", file, file.name);
    if (classField.trim()) form.append("class_field", classField.trim());
    if (repair) form.append("repair", "true");
    return uploadMultipart(`/api/layers/${layerId}/import/`, form, this.api.http.csrf, () => undefined);
  }
  exportUrl(layerId: number, format: "geojson" | "gpkg"): string {
    return `/api/layers/${layerId}/export/?format=${format}`;
  }
  tileUrl(layerId: number, minConfidence: number | null): string {
    const q = minConfidence ? `?min_confidence=${minConfidence}` : "";
    return `/api/layers/${layerId}/tiles/{z}/{x}/{y}.mvt${q}`;
  }
}

/** A 409: the feature changed since the version sent; `current` is the server's feature now. */
export class ConflictError extends ApiError {
  constructor(
    detail: string,
    readonly current: ApiFeature | null,
  ) {
    super(409, detail, null);
    this.name = "ConflictError";
  }
}

function asConflict(err: unknown): never {
  if (err instanceof ApiError && err.status === 409) {
    const body = err.body as { feature?: ApiFeature } | null;
    throw new ConflictError(err.detail, body?.feature ?? null);
  }
  throw err;
}
