/** The "Jobs" project panel: the project's jobs, live from the job feed, newest first. */
import type { Job } from "../api/types";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { connectionBadge } from "../ui/connection";
import { h, replace } from "../ui/dom";
import { jobRow, type JobRow } from "./jobRow";
import { isFinished, sortJobs } from "./store";

type Filter = "all" | "active" | "finished";

function mountJobsPanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const rows = new Map<number, JobRow>();
  const jobs = new Map<number, Job>();
  let filter: Filter = "all";

  const list = h("ul", { class: "job-list", testid: "job-list" });
  const empty = h("p", { class: "muted small", testid: "jobs-empty" }, "No jobs yet.");
  const counts = h("span", { class: "muted small", testid: "jobs-counts" });
  const badge = connectionBadge();
  badge.el.dataset.testid = "jobs-connection";
  badge.set(ctx.connection());
  const filterSelect = h(
    "select",
    { testid: "jobs-filter", title: "Show" },
    h("option", { value: "all" }, "All"),
    h("option", { value: "active" }, "Queued & running"),
    h("option", { value: "finished" }, "Finished"),
  );
  filterSelect.addEventListener("change", () => {
    filter = filterSelect.value as Filter;
    render();
  });

  const visible = (job: Job): boolean =>
    filter === "all" || (filter === "active" ? !isFinished(job.status) : isFinished(job.status));

  function upsert(job: Job): void {
    jobs.set(job.id, job);
    const row = rows.get(job.id);
    if (row) row.update(job);
    else rows.set(job.id, jobRow(ctx, job));
  }

  function render(): void {
    const ordered = sortJobs([...jobs.values()]).filter(visible);
    replace(list, ordered.map((j) => rows.get(j.id)!.el));
    empty.hidden = ordered.length > 0;
    updateCounts();
  }

  function updateCounts(): void {
    const active = [...jobs.values()].filter((j) => !isFinished(j.status)).length;
    counts.textContent = `${jobs.size} job${jobs.size === 1 ? "" : "s"} · ${active} active`;
  }

  const offJob = ctx.events.on("job", (job) => {
    upsert(job);
    // Re-order only when a row appears or leaves the filter; otherwise the row updated itself.
    if (visible(job) !== (rows.get(job.id)!.el.parentNode === list)) render();
    else updateCounts();
  });
  const offJobs = ctx.events.on("jobs", (all) => {
    all.forEach(upsert);
    render();
  });
  const offConn = ctx.events.on("connection", (state) => badge.set(state));

  ctx.jobs().forEach(upsert);
  container.append(
    h("div", { class: "panel-section section-head" }, badge.el, counts, h("span", { class: "spacer" }), filterSelect),
    h("div", { class: "panel-section" }, empty, list),
  );
  render();

  // One timer for all rows: running jobs show their elapsed time ticking.
  const timer = window.setInterval(() => {
    const now = Date.now();
    for (const [id, row] of rows) if (!isFinished(jobs.get(id)!.status)) row.tick(now);
  }, 1000);
  return () => {
    window.clearInterval(timer);
    offJob();
    offJobs();
    offConn();
  };
}

registerProjectPanel({ id: "jobs", title: "Jobs", order: 20, mount: mountJobsPanel });
