/**
 * The project's rasters. Reloads when an ingest job finishes (the raster turns ready or failed)
 * or when a job refers to a raster it does not know (a colleague's upload), and emits "rasters".
 */
import type { ApiClient } from "../api/client";
import type { Job, Raster } from "../api/types";
import type { EventBus, ProjectEvents } from "../events";
import { isFinished } from "../jobs/store";

export const INGEST_JOB_KIND = "ingest_raster";

/** The raster id a job refers to, from its result or params, if any. */
export function rasterIdOfJob(job: Job): number | null {
  for (const source of [job.result, job.params]) {
    const value = source?.raster;
    if (typeof value === "number") return value;
  }
  return null;
}

export class RasterStore {
  private list: Raster[] = [];
  private loaded = false;
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private readonly unknownJobs = new Map<number, string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly projectId: number,
    private readonly api: ApiClient,
    private readonly events: EventBus<ProjectEvents>,
  ) {
    const onJob = (job: Job): void => this.onJob(job);
    const offJob = events.on("job", onJob);
    const offJobs = events.on("jobs", (jobs) => jobs.forEach(onJob));
    this.unsubscribe = () => {
      offJob();
      offJobs();
    };
  }

  get rasters(): Raster[] {
    return this.list;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  async load(): Promise<Raster[]> {
    const rasters = await this.api.listRasters(this.projectId);
    if (!this.disposed) this.set(rasters);
    return this.list;
  }

  /** Add or replace one raster (e.g. the answer of an upload). */
  put(raster: Raster): void {
    const i = this.list.findIndex((r) => r.id === raster.id);
    const next = [...this.list];
    if (i >= 0) next[i] = raster;
    else next.unshift(raster);
    this.set(next);
  }

  remove(id: number): void {
    this.set(this.list.filter((r) => r.id !== id));
  }

  dispose(): void {
    this.disposed = true;
    this.unsubscribe();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }

  private set(rasters: Raster[]): void {
    this.list = rasters;
    this.loaded = true;
    this.events.emit("rasters", rasters);
  }

  private onJob(job: Job): void {
    const byJob = this.list.find((r) => r.job === job.id);
    const id = rasterIdOfJob(job);
    const byId = id === null ? undefined : this.list.find((r) => r.id === id);
    const raster = byJob ?? byId;
    if (raster) {
      // Our raster's ingest ended but the list still shows it processing: fetch its new state.
      if (isFinished(job.status) && raster.status === "processing") void this.refresh(raster.id);
      return;
    }
    // An ingest job of a raster we do not list: someone else uploaded one. Reload once per state.
    if (job.kind !== INGEST_JOB_KIND || !this.loaded || this.unknownJobs.get(job.id) === job.status) {
      return;
    }
    this.unknownJobs.set(job.id, job.status);
    this.scheduleReload();
  }

  /** Fetch one raster; if its job ended but it still says processing, look again a bit later. */
  private async refresh(id: number, attempt = 0): Promise<void> {
    try {
      const raster = await this.api.getRaster(id);
      if (this.disposed) return;
      this.put(raster);
      if (raster.status === "processing" && attempt < 5) {
        setTimeout(() => void this.refresh(id, attempt + 1), 1000 * (attempt + 1));
      }
    } catch {
      this.scheduleReload(); // deleted meanwhile, or a transient error: reload the list
    }
  }

  /** Coalesce bursts of job events into one list request. */
  private scheduleReload(): void {
    if (this.reloadTimer || this.disposed) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.load().catch(() => undefined);
    }, 300);
  }
}
