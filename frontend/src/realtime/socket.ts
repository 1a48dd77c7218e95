/**
 * A websocket that reconnects with exponential backoff and jitter.
 *
 * `onOpen` runs on every (re)connection: callers resync there (e.g. GET /api/jobs/?project=),
 * because events sent while the socket was down are lost.
 */

const DEFAULT_FATAL_CODES: readonly number[] = [4401, 4403, 4404];

export type ConnectionState = "connecting" | "live" | "reconnecting" | "closed";

export interface ReconnectingSocketOptions {
  onMessage: (data: unknown) => void;
  onOpen?: (reconnect: boolean) => void;
  onState?: (state: ConnectionState) => void;
  /** First retry delay in ms (doubles on each failure up to maxDelayMs). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Close codes after which retrying is pointless (the server's "not logged in" 4401, "no access"
   * 4403, "not found" 4404): the socket goes to "closed" instead of reconnecting.
   */
  fatalCloseCodes?: readonly number[];
  /** Injected for tests. */
  random?: () => number;
  createSocket?: (url: string) => WebSocket;
}

/** Delay before retry number `attempt` (0-based): base * 2^attempt capped, +-25 % jitter. */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const raw = Math.min(max, base * 2 ** Math.min(attempt, 20));
  const jitter = 0.75 + 0.5 * random();
  return Math.round(Math.min(max, raw * jitter));
}

/** ws:// or wss:// URL on the page's own origin. */
export function wsUrl(path: string, loc: Pick<Location, "protocol" | "host"> = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${path}`;
}

export class ReconnectingSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closedByUser = false;
  private everOpened = false;
  private stateValue: ConnectionState = "connecting";
  private readonly base: number;
  private readonly max: number;
  private readonly random: () => number;
  private readonly create: (url: string) => WebSocket;
  private readonly onOnline = (): void => this.retryNow();

  constructor(
    private readonly url: string,
    private readonly options: ReconnectingSocketOptions,
  ) {
    this.base = options.baseDelayMs ?? 500;
    this.max = options.maxDelayMs ?? 15_000;
    this.random = options.random ?? Math.random;
    this.create = options.createSocket ?? ((u) => new WebSocket(u));
    globalThis.addEventListener?.("online", this.onOnline);
    this.connect();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  close(): void {
    this.closedByUser = true;
    globalThis.removeEventListener?.("online", this.onOnline);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.close();
    this.socket = null;
    this.setState("closed");
  }

  /** Skip the remaining backoff (e.g. the browser came back online). */
  retryNow(): void {
    if (this.closedByUser || this.socket) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  private connect(): void {
    if (this.closedByUser) return;
    let socket: WebSocket;
    try {
      socket = this.create(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.setState("live");
      this.options.onOpen?.(reconnect);
    });
    socket.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.options.onMessage(data);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if ((this.options.fatalCloseCodes ?? DEFAULT_FATAL_CODES).includes(event.code)) {
        this.close();
        return;
      }
      this.scheduleReconnect();
    });
    // "error" is always followed by "close"; nothing to do here.
  }

  private scheduleReconnect(): void {
    if (this.closedByUser) return;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const delay = backoffDelay(this.attempt, this.base, this.max, this.random);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.options.onState?.(state);
  }
}
