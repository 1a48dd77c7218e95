/** One job in the jobs panel: kind, status, progress, message, elapsed time, cancel, details/log. */
import { ApiError } from "../api/http";
import type { Job } from "../api/types";
import type { ProjectContext } from "../panels/registry";
import { h, replace } from "../ui/dom";
import { elapsed, formatDateTime } from "../ui/format";
import { progressBar } from "../ui/progress";
import { isFinished } from "./store";

export interface JobRow {
  el: HTMLElement;
  update(job: Job): void;
  /** Refresh the elapsed time of a running job. */
  tick(now: number): void;
}

/** "ingest_raster" -> "Ingest raster". */
export function kindLabel(kind: string): string {
  const text = kind.replace(/_/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function resultList(result: Job["result"]): HTMLElement | null {
  if (!result || Object.keys(result).length === 0) return null;
  return h(
    "dl",
    { class: "kv", testid: "job-result" },
    Object.entries(result).flatMap(([k, v]) => [
      h("dt", {}, k),
      h("dd", { "data-key": k }, typeof v === "object" ? JSON.stringify(v) : String(v)),
    ]),
  );
}

export function jobRow(ctx: ProjectContext, initial: Job): JobRow {
  let job = initial;
  const kind = h("span", { class: "job-kind", testid: "job-kind" });
  const status = h("span", { class: "status", testid: "job-status" });
  const time = h("span", { class: "muted small nowrap", testid: "job-elapsed", title: "Elapsed time" });
  const cancel = h("button", { type: "button", class: "btn btn-small", testid: "job-cancel" }, "Cancel");
  const detailsBtn = h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "job-details-toggle" }, "Details");
  const bar = progressBar("job-progress");
  const percent = h("span", { class: "muted small pct", testid: "job-percent" });
  const message = h("div", { class: "job-message small", testid: "job-message" });
  // A job over several rasters (issue 17): each raster's progress, from metrics.rasters.
  const perRaster = h("div", { class: "muted small", testid: "job-rasters", hidden: true });
  const error = h("p", { class: "notice notice-error", hidden: true, testid: "job-error" });
  const actionError = h("p", { class: "notice notice-error", hidden: true, testid: "job-action-error" });
  const details = h("div", { class: "job-details", hidden: true, testid: "job-details" });

  const el = h(
    "li",
    { class: "job-row", testid: "job-row" },
    h("div", { class: "job-head" }, kind, h("span", { class: "muted small" }, `#${initial.id}`), status, h("span", { class: "spacer" }), time, cancel, detailsBtn),
    h("div", { class: "job-bar" }, bar.el, percent),
    message,
    perRaster,
    error,
    actionError,
    details,
  );

  let cancelling = false;
  cancel.addEventListener("click", () => {
    cancelling = true;
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
    ctx.api
      .cancelJob(job.id)
      .then((j) => ctx.applyJob(j))
      .catch((err: unknown) => {
        actionError.hidden = false;
        actionError.textContent = err instanceof ApiError ? err.detail : String(err);
        cancelling = false;
        cancel.disabled = false;
        cancel.textContent = "Cancel";
      });
  });

  async function loadDetails(): Promise<void> {
    replace(details, h("p", { class: "muted small" }, "Loading…"));
    try {
      const full = await ctx.api.getJob(job.id);
      ctx.applyJob(full);
      renderDetails(full);
    } catch (err) {
      replace(details, h("p", { class: "notice notice-error" }, err instanceof ApiError ? err.detail : String(err)));
    }
  }

  function renderDetails(full: Job): void {
    const log = full.log ?? [];
    replace(
      details,
      h("div", { class: "muted small" }, `Created ${formatDateTime(full.created_at)}${full.created_by ? ` by ${String(full.created_by)}` : ""}${full.queue ? ` · queue ${full.queue}` : ""}`),
      resultList(full.result) ?? h("div", { class: "muted small" }, "No result yet."),
      h("div", { class: "section-head" }, h("strong", { class: "small" }, "Log"), h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "job-log-refresh", onclick: () => void loadDetails() }, "Refresh")),
      h("pre", { class: "job-log", testid: "job-log" }, log.length ? log.join("\n") : "(empty)"),
    );
  }

  detailsBtn.addEventListener("click", () => {
    details.hidden = !details.hidden;
    detailsBtn.classList.toggle("active", !details.hidden);
    if (!details.hidden) void loadDetails();
  });

  function tick(now: number): void {
    time.textContent = elapsed(job.started_at, job.finished_at, now);
  }

  function update(next: Job): void {
    const wasFinished = isFinished(job.status);
    job = next;
    el.dataset.jobId = String(job.id);
    el.dataset.status = job.status;
    el.dataset.kind = job.kind;
    kind.textContent = kindLabel(job.kind);
    kind.title = job.kind;
    status.textContent = job.status;
    status.className = `status status-${job.status}`;
    const done = isFinished(job.status);
    const fraction = job.status === "succeeded" ? 1 : job.progress;
    bar.set(fraction, job.status === "succeeded" ? "ok" : job.status === "failed" ? "error" : done ? "idle" : "run");
    percent.textContent = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)} %`;
    message.textContent = job.message;
    message.title = job.message;
    const rasters = job.metrics?.rasters as Record<string, { progress: number }> | undefined;
    perRaster.hidden = !rasters || done;
    if (rasters) {
      const names = new Map(ctx.rasters().map((r) => [String(r.id), r.name]));
      perRaster.textContent = Object.entries(rasters).map(([id, r]) => `${names.get(id) ?? `raster ${id}`} ${Math.round(r.progress * 100)} %`).join(" · ");
    }
    error.hidden = !job.error;
    error.textContent = job.error;
    // A running job finishes its current step before it stops: keep "Cancelling…" until then.
    cancel.hidden = done;
    cancel.disabled = cancelling;
    tick(Date.now());
    // A job that just finished has a result and a complete log: refresh open details.
    if (done && !wasFinished && !details.hidden) void loadDetails();
  }

  update(initial);
  return { el, update, tick };
}
