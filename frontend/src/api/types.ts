/** Shapes of the public API v1 (see /api/schema/ and docs ARCHITECTURE "Public API contract"). */

export type Role = "owner" | "editor" | "reviewer" | "viewer";

export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface ProjectClass {
  value: number;
  name: string;
  color: [number, number, number];
}

export interface Project {
  id: number;
  name: string;
  description: string;
  classes: ProjectClass[];
  role: Role;
  created_at: string;
}

export interface ProjectInput {
  name: string;
  description?: string;
  classes?: ProjectClass[];
}

export interface Member {
  username: string;
  role: Role;
  email?: string;
  /** Only in the answer that invited a new account: its one-time password. */
  password?: string;
}

export type RasterStatus = "processing" | "ready" | "failed";

export interface BandStatistics {
  min: number;
  max: number;
  mean: number;
  std: number;
  p2: number;
  p98: number;
}

export interface Raster {
  id: number;
  project: number;
  name: string;
  /** "image" (uploaded imagery) or "classified" (drawn with its class colours; no band/stretch choice). */
  kind?: string;
  status: RasterStatus;
  error: string;
  crs: string | null;
  /** [west, south, east, north] in EPSG:4326. */
  bounds: [number, number, number, number] | null;
  width: number | null;
  height: number | null;
  count: number | null;
  dtype: string | null;
  nodata: number | null;
  resolution: [number, number] | null;
  /** Keyed by 1-based band number as a string. */
  statistics: Record<string, BandStatistics> | null;
  job: number | null;
  /** Class colours of a classified raster. */
  classes?: ProjectClass[];
  /** When the imagery was captured (ISO 8601, from the file's tags or set by a user). */
  acquired?: string | null;
  created_at?: string;
}

export interface TileJson {
  tilejson: string;
  tiles: string[];
  bounds?: [number, number, number, number];
  minzoom?: number;
  maxzoom?: number;
  center?: [number, number, number];
}

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ["queued", "running"];

export interface Job {
  id: number;
  kind: string;
  project: number | null;
  params: Record<string, unknown>;
  status: JobStatus;
  progress: number;
  message: string;
  result: Record<string, unknown> | null;
  error: string;
  /** Only in GET /api/jobs/{id}/; websocket events carry no log. */
  log?: string[];
  created_by?: string | number | null;
  queue?: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  metrics?: Record<string, unknown>;
}

export interface JobFilter {
  project: number;
  status?: JobStatus;
  kind?: string;
}
