/** A small typed event bus; one per project page, dropped with it. */
import type { Job, Project, Raster } from "./api/types";
import type { ConnectionState } from "./realtime/socket";

/** Events of a project page; panels subscribe with `ctx.events.on(name, fn)`. */
export interface ProjectEvents {
  /** The project itself changed (name, description, class schema); ctx.project is updated too. */
  project: Project;
  /** One job changed (websocket event, cancel answer or resync). */
  job: Job;
  /** All jobs of the project after a (re)sync from GET /api/jobs/?project=. */
  jobs: Job[];
  /** The project's rasters changed (upload, ingest finished, delete); the full current list. */
  rasters: Raster[];
  /** Job feed connection state, for "live"/"reconnecting" indicators. */
  connection: ConnectionState;
  /** A panel's tab was shown (its id): panels refresh lists that other panels may have changed. */
  panel: string;
}

type Handler<T> = (payload: T) => void;

export class EventBus<Events extends object> {
  private readonly handlers = new Map<keyof Events, Set<Handler<never>>>();

  /** Subscribe; returns the unsubscribe function. */
  on<K extends keyof Events>(name: K, fn: Handler<Events[K]>): () => void {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(fn as Handler<never>);
    return () => this.off(name, fn);
  }

  off<K extends keyof Events>(name: K, fn: Handler<Events[K]>): void {
    this.handlers.get(name)?.delete(fn as Handler<never>);
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const fn of [...(this.handlers.get(name) ?? [])]) {
      try {
        (fn as Handler<Events[K]>)(payload);
      } catch (err) {
        // One broken panel must not stop the others from updating.
        console.error(`rasterlab: "${String(name)}" handler failed`, err);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}
