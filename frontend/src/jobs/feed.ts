/**
 * Live job feed of a project: `/ws/projects/{id}/jobs/` events into the JobStore and the page's
 * event bus; a resync from GET /api/jobs/?project= on every (re)connection.
 */
import type { ApiClient } from "../api/client";
import type { Job } from "../api/types";
import type { EventBus, ProjectEvents } from "../events";
import { ReconnectingSocket, wsUrl } from "../realtime/socket";
import { JobStore } from "./store";

/**
 * The job carried by a websocket message, or null. Accepts the project feed's
 * `{type: "job.progress", job: {...}}` and the per-job feed's flat `{type, id, status, ...}`.
 */
export function jobFromMessage(data: unknown): Partial<Job> & { id: number } | null {
  if (!data || typeof data !== "object") return null;
  const msg = data as Record<string, unknown>;
  if (msg.type !== undefined && msg.type !== "job.progress") return null;
  const candidate = (msg.job && typeof msg.job === "object" ? msg.job : msg) as Record<string, unknown>;
  if (typeof candidate.id !== "number") return null;
  const { type: _type, ...job } = candidate;
  return job as Partial<Job> & { id: number };
}

export class JobFeed {
  readonly store = new JobStore();
  private readonly socket: ReconnectingSocket;
  private syncing: Promise<void> | null = null;
  private resyncAgain = false;
  private disposed = false;

  constructor(
    private readonly projectId: number,
    private readonly api: ApiClient,
    private readonly events: EventBus<ProjectEvents>,
  ) {
    this.socket = new ReconnectingSocket(wsUrl(`/ws/projects/${projectId}/jobs/`), {
      onMessage: (data) => this.onMessage(data),
      onOpen: () => void this.resync(),
      onState: (state) => this.events.emit("connection", state),
    });
    // Show the jobs at once, even before (or without) a websocket.
    void this.resync();
  }

  get connection(): ReconnectingSocket["state"] {
    return this.socket.state;
  }

  /** Apply a job known to be current (e.g. the answer of a cancel request). */
  apply(job: Job): void {
    if (this.disposed) return;
    this.events.emit("job", this.store.upsert(job));
  }

  /**
   * Reload the job list. A request made while one is in flight runs again after it, because the
   * running one may have been answered before the socket (re)opened.
   */
  resync(): Promise<void> {
    if (this.syncing) {
      this.resyncAgain = true;
      return this.syncing;
    }
    this.syncing = this.api
      .listJobs({ project: this.projectId })
      .then((jobs) => {
        if (!this.disposed) this.events.emit("jobs", this.store.sync(jobs));
      })
      .catch((err: unknown) => console.warn("rasterlab: job resync failed", err))
      .finally(() => {
        this.syncing = null;
        if (this.resyncAgain && !this.disposed) {
          this.resyncAgain = false;
          void this.resync();
        }
      });
    return this.syncing;
  }

  dispose(): void {
    this.disposed = true;
    this.socket.close();
  }

  private onMessage(data: unknown): void {
    const partial = jobFromMessage(data);
    if (!partial || this.disposed) return;
    const current = this.store.get(partial.id);
    if (!current && partial.created_at === undefined) {
      // A flat event for a job we have never seen: fetch its full shape.
      this.api.getJob(partial.id).then((job) => this.apply(job), () => undefined);
      return;
    }
    this.apply({ ...(current as Job), ...partial } as Job);
  }
}
