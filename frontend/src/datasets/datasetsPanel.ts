/** The "Training data" project panel: the export form, running exports with progress, the list
 * of datasets, and the view of one dataset (counts, sample previews, download, delete). */
import "./datasets.css";
import { ApiError } from "../api/http";
import type { Job } from "../api/types";
import type { Layer } from "../labeling/types";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { h, replace, setNotice } from "../ui/dom";
import { formatDateTime } from "../ui/format";
import { progressBar } from "../ui/progress";
import { DatasetsApi, type Dataset } from "./api";
import { datasetView } from "./datasetView";
import { exportForm } from "./exportForm";

const KIND = "export_training_data";

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function datasetItem(ds: Dataset, open: (id: number) => void): HTMLElement {
  const tone = ds.status === "ready" ? "status-ready" : "status-running";
  return h(
    "li",
    { class: "dataset-item", testid: "dataset-item", "data-dataset-id": ds.id, tabindex: 0, role: "button", onclick: () => open(ds.id),
      onkeydown: (e: KeyboardEvent) => (e.key === "Enter" || e.key === " ") && open(ds.id) },
    h("div", { class: "dataset-item-head" }, h("span", { class: "dataset-item-title" }, ds.name), h("span", { class: `status ${tone}`, testid: "dataset-status" }, ds.status)),
    h("div", { class: "small muted" }, `${ds.metadata_format} · ${ds.chip_count} chips · ${ds.tile_size[0]}×${ds.tile_size[1]} · ${formatDateTime(ds.created_at)}`),
  );
}

function jobItem(job: Job, ctx: ProjectContext): HTMLElement {
  const bar = progressBar("export-job-progress");
  const failed = job.status === "failed" || job.status === "cancelled";
  bar.set(job.status === "queued" ? null : job.progress, failed ? "error" : "run");
  const cancel = ctx.canEdit && !failed
    ? h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "export-job-cancel" }, "Cancel")
    : null;
  cancel?.addEventListener("click", () => {
    cancel.disabled = true;
    ctx.api.cancelJob(job.id).then((j) => ctx.applyJob(j), () => (cancel.disabled = false));
  });
  const name = typeof job.params.out_name === "string" ? job.params.out_name : `Export #${job.id}`;
  return h(
    "li",
    { class: "dataset-item", testid: "export-job", "data-job-id": job.id },
    h("div", { class: "dataset-item-head" }, h("span", { class: "dataset-item-title" }, name), h("span", { class: `status status-${failed ? "failed" : "running"}` }, job.status), cancel),
    bar.el,
    h("div", { class: "small muted" }, job.error || job.message),
  );
}

function mountDatasetsPanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const datasets = new DatasetsApi(ctx.api);
  // Exports started or seen on this page; finished ones stay listed only if they failed.
  const jobs = new Map<number, Job>();
  const list = h("ul", { class: "dataset-list", testid: "dataset-list" });
  const jobList = h("ul", { class: "dataset-list", testid: "export-jobs" });
  const empty = h("p", { class: "muted small", testid: "datasets-empty", hidden: true }, "No datasets yet: export one above.");
  const listError = h("p", { class: "notice", hidden: true, testid: "datasets-error" });
  const form = ctx.canEdit ? exportForm(ctx.project.id, datasets, (job) => { ctx.applyJob(job); track(job); }) : null;
  const catalog = h(
    "div",
    { testid: "datasets-catalog" },
    form ? h("div", { class: "panel-section" }, h("h3", {}, "Export training data"), form.el) : null,
    h("div", { class: "panel-section" }, h("h3", {}, "Datasets"), jobList, listError, empty, list),
  );
  const detail = h("div", { hidden: true, testid: "dataset-detail" });
  let loadSeq = 0;

  async function load(): Promise<void> {
    const seq = ++loadSeq;
    try {
      const found = await datasets.list(ctx.project.id);
      if (seq !== loadSeq) return;
      // Exporting rows are shown by their job (with progress) when we know it.
      const shown = found.filter((d) => d.status === "ready" || d.job === null || !jobs.has(d.job));
      replace(list, shown.map((d) => datasetItem(d, open)));
      empty.hidden = shown.length > 0 || jobs.size > 0;
      setNotice(listError, "");
    } catch (err) {
      if (seq === loadSeq) setNotice(listError, message(err));
    }
  }

  function renderJobs(): void {
    replace(jobList, [...jobs.values()].sort((a, b) => b.id - a.id).map((j) => jobItem(j, ctx)));
  }

  function track(job: Job): void {
    if (job.kind !== KIND || job.project !== ctx.project.id) return;
    const known = jobs.has(job.id);
    if (job.status === "succeeded") {
      jobs.delete(job.id);
      if (known) void load();
    } else if (job.status === "queued" || job.status === "running" || known) {
      jobs.set(job.id, job);
      if (!known || job.status === "failed" || job.status === "cancelled") void load();
    }
    renderJobs();
  }

  async function loadLayers(): Promise<void> {
    if (!form) return;
    try {
      form.setLayers(await ctx.api.listAll<Layer>("/api/layers/", { project: ctx.project.id }));
    } catch (err) {
      setNotice(listError, message(err));
    }
  }

  function showCatalog(): void {
    detail.hidden = true;
    replace(detail);
    catalog.hidden = false;
  }

  function open(id: number): void {
    datasets.get(id).then((ds) => {
      replace(detail, datasetView(datasets, ds, {
        onBack: () => { showCatalog(); void load(); },
        onDeleted: () => { showCatalog(); void load(); },
      }));
      catalog.hidden = true;
      detail.hidden = false;
    }, (err: unknown) => setNotice(listError, message(err)));
  }

  const offs = [
    ctx.events.on("job", (job) => track(job)),
    ctx.events.on("jobs", (all) => all.forEach((job) => track(job))),
    ctx.events.on("rasters", (rasters) => form?.setRasters(rasters)),
    // Feature counts and layers change in other tabs and by other people: fresh when shown.
    ctx.events.on("panel", (id) => id === "datasets" && void loadLayers()),
    ctx.events.on("job", (job) => job.status === "succeeded" && (typeof job.result?.layer === "number" || job.kind === "import_features") && void loadLayers()),
  ];
  form?.setRasters(ctx.rasters());
  ctx.jobs().forEach((job) => (job.status === "queued" || job.status === "running") && track(job));
  container.append(catalog, detail);
  void load();
  void loadLayers();
  // Layer feature counts change while people label: refresh the choice when the form is used.
  form?.el.addEventListener("focusin", (e) => (e.target as HTMLElement).dataset.testid === "export-layer" && void loadLayers());
  return () => offs.forEach((off) => off());
}

registerProjectPanel({ id: "datasets", title: "Training data", order: 40, mount: mountDatasetsPanel });
