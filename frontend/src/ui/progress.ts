/** A thin progress bar: role=progressbar with aria-valuenow 0..100 and data-progress 0..1. */
import { h } from "./dom";

export interface ProgressBar {
  el: HTMLElement;
  /** 0..1, or null for an indeterminate (animated) bar. */
  set(fraction: number | null, tone?: "run" | "ok" | "error" | "idle"): void;
}

export function progressBar(testid: string): ProgressBar {
  const fill = h("div", { class: "progress-fill" });
  const el = h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, testid },
    fill,
  );
  return {
    el,
    set(fraction, tone = "run") {
      el.className = `progress progress-${tone}`;
      if (fraction === null) {
        el.classList.add("progress-indeterminate");
        el.removeAttribute("aria-valuenow");
        el.dataset.progress = "";
        fill.style.width = "";
        return;
      }
      const f = Math.max(0, Math.min(1, fraction));
      el.setAttribute("aria-valuenow", String(Math.round(f * 100)));
      el.dataset.progress = String(f);
      fill.style.width = `${(f * 100).toFixed(1)}%`;
    },
  };
}
