/**
 * Live layer feed: `/ws/layers/{id}/` events applied through handlers, with the resync protocol of
 * apps/labeling/consumers.py: every committed change has the next seq of the layer; we keep the
 * highest seq up to which we have seen every change ("contiguous") and, after a reconnect or when
 * a gap stays open, fetch `GET /api/layers/{id}/features/?since=<contiguous>`.
 */
import { ReconnectingSocket, wsUrl, type ConnectionState } from "../realtime/socket";
import type { LabelsApi } from "./api";
import type { ApiFeature, LayerEvent, PresenceUser, UserRef } from "./types";
import type { ProjectClass } from "../api/types";

/** Contiguous-seq bookkeeping (no I/O). */
export class SeqTracker {
  private contiguous: number | null = null;
  private readonly ahead = new Set<number>();

  get value(): number | null {
    return this.contiguous;
  }

  get started(): boolean {
    return this.contiguous !== null;
  }

  /** First known complete state (a load or the socket's hello); later calls are ignored. */
  start(seq: number): void {
    if (this.contiguous === null) this.contiguous = seq;
    this.drain();
  }

  /** An event with this seq was applied. */
  see(seq: number): void {
    if (this.contiguous === null || seq <= this.contiguous) return;
    this.ahead.add(seq);
    this.drain();
  }

  /** A resync answered: everything up to `seq` is known. */
  reset(seq: number): void {
    if (this.contiguous === null || seq > this.contiguous) this.contiguous = seq;
    for (const s of [...this.ahead]) if (s <= this.contiguous) this.ahead.delete(s);
    this.drain();
  }

  /** Changes after `value` were seen but one before them was not (yet). */
  get hasGap(): boolean {
    return this.ahead.size > 0;
  }

  private drain(): void {
    if (this.contiguous === null) return;
    while (this.ahead.delete(this.contiguous + 1)) this.contiguous += 1;
  }
}

/** Apply a server feature only when it is newer than the one held (replays are harmless). */
export function isNewer(incoming: number, held: number | undefined): boolean {
  return held === undefined || incoming > held;
}

export interface LiveHandlers {
  upsert(feature: ApiFeature, user: UserRef | null): void;
  remove(id: number, user: UserRef | null): void;
  /** A bulk change (import, class remap): reload what is shown. */
  reload(reason: string): void;
  presence(users: PresenceUser[]): void;
  classes(classes: ProjectClass[]): void;
  renamed(name: string): void;
  deleted(): void;
  state(state: ConnectionState): void;
  /** Each event as it arrives (e.g. for "last change by" notices). */
  event?(event: LayerEvent): void;
}

const GAP_WAIT_MS = 1500;

export class LayerLive {
  readonly tracker = new SeqTracker();
  private readonly socket: ReconnectingSocket;
  private gapTimer: ReturnType<typeof setTimeout> | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;
  private disposed = false;

  constructor(
    private readonly layerId: number,
    private readonly api: LabelsApi,
    private readonly handlers: LiveHandlers,
  ) {
    this.socket = new ReconnectingSocket(wsUrl(`/ws/layers/${layerId}/`), {
      onMessage: (data) => this.onMessage(data as LayerEvent),
      onState: (state) => handlers.state(state),
    });
  }

  get state(): ConnectionState {
    return this.socket.state;
  }

  /** The seq of a features answer (the first one starts the tracker). */
  loaded(seq: number): void {
    this.tracker.start(seq);
  }

  /** Fetch what changed since the contiguous seq. Calls made meanwhile run once more after it. */
  resync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    const since = this.tracker.value;
    if (since === null) return Promise.resolve();
    this.syncing = this.api
      .features(this.layerId, { since })
      .then((answer) => {
        if (this.disposed) return;
        for (const f of answer.features) this.handlers.upsert(f, null);
        for (const id of answer.deleted ?? []) this.handlers.remove(id, null);
        this.tracker.reset(answer.seq);
      })
      .catch((err: unknown) => console.warn("rasterlab: layer resync failed", err))
      .finally(() => {
        this.syncing = null;
        if (this.again && !this.disposed) {
          this.again = false;
          void this.resync();
        }
      });
    return this.syncing;
  }

  dispose(): void {
    this.disposed = true;
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.socket.close();
  }

  private onMessage(event: LayerEvent): void {
    if (this.disposed || !event || typeof event !== "object") return;
    this.handlers.event?.(event);
    switch (event.type) {
      case "hello":
        // Changes between our first load and this (re)connection: fetch them.
        if (!this.tracker.started) this.tracker.start(event.seq);
        else if (event.seq > (this.tracker.value ?? 0)) void this.resync();
        break;
      case "feature.created":
      case "feature.updated":
        this.handlers.upsert(event.feature, event.user);
        this.seen(event.seq);
        break;
      case "feature.deleted":
        this.handlers.remove(event.feature.id, event.user);
        this.seen(event.seq);
        break;
      case "layer.changed":
        this.handlers.reload(event.reason);
        this.tracker.reset(event.seq);
        break;
      case "presence":
        this.handlers.presence(event.users);
        break;
      case "classes.changed":
        this.handlers.classes(event.classes);
        break;
      case "layer.updated":
        this.handlers.renamed(event.name);
        break;
      case "layer.deleted":
        this.handlers.deleted();
        break;
      default:
        break;
    }
  }

  private seen(seq: number): void {
    this.tracker.see(seq);
    if (this.tracker.hasGap && !this.gapTimer) {
      // Events can overtake each other across web processes; give the missing one a moment.
      this.gapTimer = setTimeout(() => {
        this.gapTimer = null;
        if (this.tracker.hasGap) void this.resync();
      }, GAP_WAIT_MS);
    }
  }
}
