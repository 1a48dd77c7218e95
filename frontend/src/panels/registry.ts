/**
 * The extension point of the project page: a feature adds a side-bar tab with one import of a
 * module that calls `registerProjectPanel({...})`. Panels are shown in registration order
 * (or by `order`, lower first); the built-in "Layers" (10) and "Jobs" (20) come first.
 */
import type OlMap from "ol/Map";
import type { ApiClient } from "../api/client";
import type { Job, Project, Raster } from "../api/types";
import type { EventBus, ProjectEvents } from "../events";
import type { RasterLayers } from "../map/rasterLayers";
import type { ConnectionState } from "../realtime/socket";

export interface ProjectContext {
  project: Project;
  map: OlMap;
  api: ApiClient;
  /** `ctx.events.on("job", fn)`, `on("jobs", fn)`, `on("rasters", fn)`, `on("connection", fn)`. */
  events: EventBus<ProjectEvents>;
  user: { id: number | null; username: string };
  /** Owners and editors may change things; viewers only look. */
  canEdit: boolean;
  /** The raster layers on the map (visibility, opacity, render settings, zoom to). */
  rasterLayers: RasterLayers;
  /** Current state, for panels that mount after events were sent. */
  rasters(): Raster[];
  jobs(): Job[];
  connection(): ConnectionState;
  /** Apply a job the panel got from the API (e.g. a cancel answer, a created job). */
  applyJob(job: Job): void;
  /** Reload the raster list (e.g. after creating a raster). */
  reloadRasters(): Promise<Raster[]>;
  /** Show another panel's tab. */
  showPanel(id: string): void;
  /** Run `fn` when the page is left (close sockets, remove map layers and interactions). */
  onDispose(fn: () => void): void;
}

export interface ProjectPanel {
  /** Stable id, used in data-testid="tab-<id>" and "panel-<id>". */
  id: string;
  title: string;
  /** Lower first; default: after the built-ins in registration order. */
  order?: number;
  /** Build the panel into `container` once per project page. May return a cleanup function. */
  mount(container: HTMLElement, ctx: ProjectContext): void | (() => void);
}

const panels: ProjectPanel[] = [];

export function registerProjectPanel(panel: ProjectPanel): void {
  const existing = panels.findIndex((p) => p.id === panel.id);
  // Re-registering (hot reload) replaces the panel instead of duplicating its tab.
  if (existing >= 0) panels.splice(existing, 1, panel);
  else panels.push(panel);
}

export function projectPanels(): ProjectPanel[] {
  return panels
    .map((panel, index) => ({ panel, index }))
    .sort((a, b) => (a.panel.order ?? 100) - (b.panel.order ?? 100) || a.index - b.index)
    .map((x) => x.panel);
}
