import { describe, expect, it, vi } from "vitest";
import { backoffDelay, ReconnectingSocket, wsUrl } from "./socket";

describe("reconnect backoff", () => {
  it("doubles from the base up to the cap, with bounded jitter", () => {
    const mid = (): number => 0.5; // no jitter
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, 500, 15000, mid))).toEqual([500, 1000, 2000, 4000, 15000]);
    expect(backoffDelay(0, 1000, 15000, () => 0)).toBe(750);
    expect(backoffDelay(0, 1000, 15000, () => 1)).toBe(1250);
    expect(backoffDelay(99, 1000, 15000, () => 1)).toBe(15000);
  });

  it("builds same-origin ws and wss URLs", () => {
    expect(wsUrl("/ws/projects/3/jobs/", { protocol: "http:", host: "h:8000" })).toBe("ws://h:8000/ws/projects/3/jobs/");
    expect(wsUrl("/ws/jobs/1/", { protocol: "https:", host: "example.org" })).toBe("wss://example.org/ws/jobs/1/");
  });
});

describe("ReconnectingSocket", () => {
  class FakeSocket extends EventTarget {
    static made: FakeSocket[] = [];
    constructor(readonly url: string) {
      super();
      FakeSocket.made.push(this);
    }
    open(): void {
      this.dispatchEvent(new Event("open"));
    }
    message(data: unknown): void {
      this.dispatchEvent(Object.assign(new Event("message"), { data: JSON.stringify(data) }));
    }
    drop(code = 1006): void {
      this.dispatchEvent(Object.assign(new Event("close"), { code }));
    }
    close(): void {}
  }

  it("reconnects with backoff, reports its state and resyncs on every open", () => {
    vi.useFakeTimers();
    FakeSocket.made = [];
    const states: string[] = [];
    const opens: boolean[] = [];
    const messages: unknown[] = [];
    const socket = new ReconnectingSocket("ws://x/ws/projects/1/jobs/", {
      onMessage: (d) => messages.push(d),
      onOpen: (reconnect) => opens.push(reconnect),
      onState: (s) => states.push(s),
      random: () => 0.5,
      createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
    });
    FakeSocket.made[0]!.open();
    FakeSocket.made[0]!.message({ type: "job.progress", job: { id: 1 } });
    FakeSocket.made[0]!.drop();
    expect(socket.state).toBe("reconnecting");
    vi.advanceTimersByTime(499);
    expect(FakeSocket.made.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.made.length).toBe(2);
    FakeSocket.made[1]!.drop(); // the second try fails: wait twice as long
    vi.advanceTimersByTime(999);
    expect(FakeSocket.made.length).toBe(2);
    vi.advanceTimersByTime(1);
    FakeSocket.made[2]!.open();
    expect(opens).toEqual([false, true]);
    expect(states).toEqual(["live", "reconnecting", "live"]);
    expect(messages).toEqual([{ type: "job.progress", job: { id: 1 } }]);
    // "Not found" is final: no more retries.
    FakeSocket.made[2]!.drop(4404);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made.length).toBe(3);
    expect(socket.state).toBe("closed");
    vi.useRealTimers();
  });
});
