/** The "Train" project panel: Train Deep Learning Model's form (dataset, model type, backbone,
 * epochs, batch size, learning rate or "find it for me", validation %, early stopping, fine-tune
 * from a package, CPU/GPU), then the job's live loss curves, per-epoch metrics and the new model. */
import "./training.css";
import { ApiError } from "../api/http";
import type { Job } from "../api/types";
import { DatasetsApi, type Dataset } from "../datasets/api";
import { ModelsApi, type ModelPackage } from "../models/api";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { h, replace, setNotice } from "../ui/dom";
import { progressBar } from "../ui/progress";
import { ARCHITECTURES, epochHistory, startTraining, trainingStart, type EpochRow, type TrainParams } from "./api";
import { lossChart } from "./chart";
import { weightsImport } from "./weightsImport";

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function fmt(value: unknown): string {
  if (typeof value !== "number") return "–";
  if (Math.abs(value) >= 1000 || value === Math.round(value)) return String(value);
  // Learning rates and tiny losses: 1.20e-4, not 0.0001.
  return Math.abs(value) < 0.01 ? value.toExponential(2) : value.toFixed(4);
}

/** Scalar metrics only (per-class tables and confusion matrices stay in the model item). */
function scalars(metrics: Record<string, unknown> | undefined): [string, unknown][] {
  return Object.entries(metrics ?? {}).filter(([, v]) => typeof v === "number");
}

function epochTable(rows: EpochRow[]): HTMLElement {
  const names = [...new Set(rows.flatMap((r) => scalars(r.metrics).map(([k]) => k)))];
  return h(
    "table",
    { class: "train-epochs small", testid: "train-epochs" },
    h("thead", {}, h("tr", {}, h("th", {}, "Epoch"), h("th", {}, "Train loss"), h("th", {}, "Valid loss"), names.map((n) => h("th", {}, n)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, String(r.epoch)), h("td", {}, fmt(r.train_loss)), h("td", {}, fmt(r.valid_loss)), names.map((n) => h("td", {}, fmt(r.metrics?.[n])))))),
  );
}

/** Select `value` if the select still offers it; true when it did. */
function restore(select: HTMLSelectElement, value: string): boolean {
  if (!value || ![...select.options].some((o) => o.value === value)) return false;
  select.value = value;
  return true;
}

function field(label: string, input: HTMLElement, hint = ""): HTMLElement {
  return h("label", { class: "train-field" }, h("span", {}, label), input, hint ? h("span", { class: "small muted" }, hint) : null);
}

function mountTrainPanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const datasetsApi = new DatasetsApi(ctx.api);
  const modelsApi = new ModelsApi(ctx.api);
  let datasets: Dataset[] = [];
  let current: Job | null = null;

  const dataset = h("select", { testid: "train-dataset", required: true });
  const modelType = h("select", { testid: "train-model-type" });
  const backbone = h("select", { testid: "train-backbone" });
  const epochs = h("input", { type: "number", min: 1, max: 1000, value: "20", testid: "train-epochs-input" });
  const batch = h("input", { type: "number", min: 1, max: 512, value: "4", testid: "train-batch" });
  const findLr = h("input", { type: "checkbox", checked: true, testid: "train-find-lr" });
  const lr = h("input", { type: "number", step: "any", min: 0, value: "0.001", disabled: true, testid: "train-lr" });
  const validation = h("input", { type: "number", min: 0, max: 99, value: "10", testid: "train-validation" });
  const stop = h("input", { type: "checkbox", checked: true, testid: "train-stop" });
  const pretrained = h("select", { testid: "train-pretrained" }, h("option", { value: "" }, "None (train from scratch)"));
  const freeze = h("input", { type: "number", min: 0, max: 1000, value: "", placeholder: "auto", testid: "train-freeze" });
  const startInfo = h("p", { class: "small train-start", testid: "train-start" });
  const processor = h("select", { testid: "train-processor" }, h("option", { value: "CPU" }, "CPU"), h("option", { value: "GPU" }, "GPU"));
  const outName = h("input", { type: "text", maxlength: 200, placeholder: "Model name", testid: "train-out-name" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", testid: "train-submit" }, "Train");
  const notice = h("p", { class: "notice", hidden: true, testid: "train-error" });
  findLr.addEventListener("change", () => { lr.disabled = findLr.checked; });

  function fillBackbones(): void {
    const arch = ARCHITECTURES.find((a) => a.name === modelType.value);
    replace(backbone, (arch?.backbones ?? []).map((b) => h("option", { value: b }, b)));
    void showStart();
  }
  // Which starting weights the model will get (pretrained from where, or random), before it starts.
  let startSeq = 0;
  const weightsForm = weightsImport(ctx.api, () => void showStart());
  async function showStart(): Promise<void> {
    if (!modelType.value) return;
    const seq = ++startSeq;
    try {
      const bands = datasets.find((d) => d.id === Number(dataset.value))?.band_count;
      const start = await trainingStart(ctx.api, modelType.value, backbone.value, pretrained.value, bands);
      if (seq !== startSeq) return;
      startInfo.className = `small train-start ${start.pretrained ? "train-start-ok" : "train-start-warn"}`;
      replace(startInfo, h("strong", {}, start.pretrained ? "Pretrained start: " : "Random start: "), start.summary,
        start.advice ? h("span", { class: "muted" }, ` — ${start.advice}`) : null);
      weightsForm.show(!start.pretrained && start.can_import_weights === true);
    } catch (err) {
      if (seq === startSeq) replace(startInfo, message(err));
    }
  }
  backbone.addEventListener("change", () => void showStart());
  pretrained.addEventListener("change", () => void showStart());
  function fillModelTypes(): void {
    const chosen = datasets.find((d) => d.id === Number(dataset.value));
    const fits = ARCHITECTURES.filter((a) => !chosen || a.formats.includes(chosen.metadata_format));
    replace(modelType, fits.map((a) => h("option", { value: a.name }, a.name)));
    fillBackbones();
  }
  dataset.addEventListener("change", fillModelTypes);
  modelType.addEventListener("change", fillBackbones);

  const form = h(
    "form",
    { class: "train-form", testid: "train-form" },
    field("Training dataset", dataset),
    field("Model type", modelType),
    field("Backbone", backbone),
    startInfo,
    weightsForm.element,
    h("div", { class: "row" }, field("Max epochs", epochs), field("Batch size", batch)),
    h("label", { class: "train-check" }, findLr, " Find the learning rate for me"),
    field("Learning rate", lr),
    field("Validation %", validation),
    h("label", { class: "train-check" }, stop, " Stop when the model stops improving"),
    field("Fine-tune from", pretrained, "A model package of the same architecture and bands"),
    field("Freeze backbone for (epochs)", freeze, "Empty: 1 epoch when the backbone starts pretrained"),
    field("Processor", processor),
    field("Output model name", outName),
    notice,
    h("div", { class: "row" }, submit),
  );

  const bar = progressBar("train-progress");
  const statusText = h("span", { class: "small muted", testid: "train-status" });
  const cancel = h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "train-cancel", hidden: true }, "Cancel");
  const chartBox = h("div", { class: "train-chart-box" });
  const tableBox = h("div", {});
  const resultBox = h("div", { testid: "train-result" });
  const run = h("div", { class: "panel-section", hidden: true, testid: "train-run" },
    h("h3", {}, "Training"), h("div", { class: "row" }, bar.el, cancel), statusText, chartBox, tableBox, resultBox);

  cancel.addEventListener("click", () => {
    if (!current) return;
    ctx.api.cancelJob(current.id).then((job) => { ctx.applyJob(job); show(job); }, (err: unknown) => setNotice(notice, message(err)));
  });

  function show(job: Job): void {
    current = job;
    run.hidden = false;
    const rows = epochHistory(job);
    const active = job.status === "queued" || job.status === "running";
    bar.set(job.status === "queued" ? null : job.status === "succeeded" ? 1 : job.progress, active ? "run" : job.status === "succeeded" ? "ok" : "error");
    statusText.textContent = job.status === "failed" ? `Failed: ${job.error}` : `${job.status}${job.message ? ` · ${job.message}` : ""}`;
    cancel.hidden = !active || !ctx.canEdit;
    replace(chartBox, lossChart(rows));
    replace(tableBox, rows.length ? epochTable(rows) : null);
    const model = job.result?.model;
    if (job.status === "succeeded" && typeof model === "number") {
      const metrics = scalars(job.result?.metrics as Record<string, unknown> | undefined);
      const run: [string, unknown][] = [["best epoch", job.result?.best_epoch], ["learning rate", job.result?.lr]];
      metrics.push(...run.filter(([, v]) => typeof v === "number"));
      replace(resultBox,
        h("h4", {}, "Final metrics (best checkpoint)"),
        h("table", { class: "train-final small", testid: "train-final-metrics" }, metrics.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, fmt(v))))),
        h("p", {},
          h("a", { href: "#", testid: "train-open-model", onclick: (e: Event) => { e.preventDefault(); ctx.showPanel("models"); } }, "Open the Models panel"),
          " · ",
          h("a", { href: `/api/models/${model}/download/`, testid: "train-download-model" }, "Download .dlpk")));
    } else {
      replace(resultBox);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setNotice(notice, "");
    const params: TrainParams = {
      in_dataset: Number(dataset.value),
      model_type: modelType.value,
      backbone_model: backbone.value || undefined,
      max_epochs: Number(epochs.value),
      batch_size: Number(batch.value),
      learning_rate: findLr.checked ? undefined : Number(lr.value),
      validation_percentage: Number(validation.value),
      stop_training: stop.checked,
      pretrained_model: pretrained.value ? Number(pretrained.value) : undefined,
      freeze_backbone_epochs: freeze.value === "" ? undefined : Number(freeze.value),
      processor_type: processor.value === "GPU" ? "GPU" : "CPU",
      out_name: outName.value.trim() || undefined,
    };
    submit.disabled = true;
    startTraining(ctx.api, ctx.project.id, params)
      .then((job) => { ctx.applyJob(job); show(job); })
      .catch((err: unknown) => setNotice(notice, message(err)))
      .finally(() => { submit.disabled = false; });
  });

  async function load(): Promise<void> {
    try {
      const [ds, models] = await Promise.all([datasetsApi.list(ctx.project.id), modelsApi.list({ project: ctx.project.id })]);
      // Reloads (tab shown, export finished) keep what the user already chose.
      const chosen = { dataset: dataset.value, modelType: modelType.value, backbone: backbone.value, pretrained: pretrained.value };
      datasets = ds.filter((d) => d.status === "ready");
      replace(dataset, datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.metadata_format}, ${d.chip_count} chips)`)));
      replace(pretrained, h("option", { value: "" }, "None (train from scratch)"),
        models.filter((m: ModelPackage) => m.runnable).map((m) => h("option", { value: m.id }, `${m.title} (${m.architecture || m.model_name})`)));
      restore(dataset, chosen.dataset);
      restore(pretrained, chosen.pretrained);
      fillModelTypes();
      if (restore(modelType, chosen.modelType)) fillBackbones();
      restore(backbone, chosen.backbone);
      void showStart();
      submit.disabled = !ctx.canEdit || datasets.length === 0;
      if (!datasets.length) setNotice(notice, "Export training data first (Training data panel).", "info");
      else if (notice.classList.contains("notice-info")) setNotice(notice, "");
    } catch (err) {
      setNotice(notice, message(err));
    }
  }

  // The latest train_model job of this project, so a reload shows its curves again. The job feed
  // loads after the panels mount: its first "jobs" event brings them.
  function showLatest(jobs: Job[]): void {
    const latest = jobs.filter((j) => j.kind === "train_model").sort((a, b) => b.id - a.id)[0];
    if (latest && (!current || latest.id > current.id)) show(latest);
  }
  showLatest(ctx.jobs());

  const offs = [
    // Datasets exported and models uploaded in other panels meanwhile.
    ctx.events.on("panel", (id) => id === "train" && void load()),
    ctx.events.on("jobs", (jobs) => showLatest(jobs)),
    ctx.events.on("job", (job) => {
      if (job.kind === "export_training_data" && job.status === "succeeded") void load();
      if (job.kind !== "train_model" || (current && job.id < current.id)) return;
      // Events without metrics (e.g. a resync) keep the curves already drawn.
      if (!job.metrics && current?.id === job.id) job = { ...job, metrics: current.metrics };
      show(job);
      if (job.status === "succeeded") void load();
    }),
  ];

  replace(container, h("div", { class: "panel-section" }, h("h3", {}, "Train a deep learning model"), form), run);
  void load();
  return () => offs.forEach((off) => off());
}

registerProjectPanel({ id: "train", title: "Train", mount: mountTrainPanel });
