/** A "live" / "reconnecting…" indicator for a websocket feed. */
import type { ConnectionState } from "../realtime/socket";
import { h } from "./dom";

export function connectionBadge(): { el: HTMLElement; set(state: ConnectionState): void } {
  const el = h("span", { class: "conn", testid: "connection" });
  const labels: Record<ConnectionState, string> = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    closed: "offline",
  };
  return {
    el,
    set(state) {
      el.textContent = labels[state];
      el.dataset.state = state;
      el.className = `conn conn-${state}`;
    },
  };
}
