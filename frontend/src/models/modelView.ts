/** One model package: properties, classes, metrics, images, the arguments it takes at
 * inference, and (for its project's editors) edit and delete. */
import { modelAccuracySection } from "../accuracy/modelRuns";
import { ApiError } from "../api/http";
import { h, replace, setNotice } from "../ui/dom";
import { formatBytes, formatDateTime } from "../ui/format";
import type { ModelArgument, ModelPackage, ModelsApi } from "./api";
import { editForm } from "./editForm";
import { exportOnnxButton, modelIoSection } from "./modelIo";
import { argumentDefaultText, bandsText, cellSizeText, chipSizeText, familyText, metricText, rgbToHex } from "./format";

export interface ModelViewHooks {
  onBack(): void;
  onChanged(pkg: ModelPackage): void;
  onDeleted(id: number): void;
}

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function kv(rows: [string, string | Node | null | undefined, string?][]): HTMLElement {
  const dl = h("dl", { class: "kv", testid: "model-props" });
  for (const [key, value, testid] of rows) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(h("dt", {}, key), h("dd", { testid: testid ?? undefined }, value));
  }
  return dl;
}

function classTable(pkg: ModelPackage): HTMLElement {
  if (!pkg.classes.length) return h("p", { class: "muted small" }, "The package lists no classes.");
  return h(
    "table",
    { class: "grid compact", testid: "model-classes" },
    h("thead", {}, h("tr", {}, h("th", {}, "Value"), h("th", {}, "Color"), h("th", {}, "Name"))),
    h(
      "tbody",
      {},
      pkg.classes.map((c) =>
        h(
          "tr",
          { testid: "model-class" },
          h("td", {}, c.value),
          h("td", {}, c.color
            ? h("span", { class: "swatch", style: `background: ${rgbToHex(c.color)}`, title: rgbToHex(c.color), "data-color": rgbToHex(c.color), testid: "model-class-swatch" })
            : h("span", { class: "muted small" }, "none")),
          h("td", {}, c.name),
        ),
      ),
    ),
  );
}

function perClassTable(table: Record<string, unknown>): HTMLElement {
  const rows = Object.entries(table);
  const columns = [...new Set(rows.flatMap(([, v]) => (v && typeof v === "object" ? Object.keys(v) : [])))];
  return h(
    "table",
    { class: "grid compact" },
    h("thead", {}, h("tr", {}, h("th", {}, "Class"), columns.map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      rows.map(([name, v]) =>
        h("tr", {}, h("td", {}, name), columns.map((c) => h("td", {}, metricText((v as Record<string, unknown>)[c])))),
      ),
    ),
  );
}

function metricsSection(pkg: ModelPackage): HTMLElement | null {
  const m = pkg.metrics;
  if (!Object.keys(m).length) return null;
  const parts: Node[] = [];
  const scalars: [string, string][] = Object.entries(m)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k.replace(/_/g, " "), metricText(v)]);
  if (scalars.length) parts.push(kv(scalars));
  const ap = m.average_precision_score as Record<string, unknown> | undefined;
  if (ap && typeof ap === "object") {
    parts.push(h("div", { class: "small muted" }, "Average precision per class"));
    parts.push(perClassTable(Object.fromEntries(Object.entries(ap).map(([k, v]) => [k, { AP: v }]))));
  }
  const pcm = m.per_class_metrics as Record<string, unknown> | undefined;
  if (pcm && typeof pcm === "object") {
    parts.push(h("div", { class: "small muted" }, "Per-class metrics"));
    parts.push(perClassTable(pcm));
  }
  return h("div", { class: "panel-section", testid: "model-metrics" }, h("h3", {}, "Metrics"), parts);
}

function imagesSection(pkg: ModelPackage): HTMLElement | null {
  if (!pkg.images.length) return null;
  const caption = (name: string): string => {
    const base = name.split("/").pop()!.replace(/\.png$/i, "");
    return ({ loss_graph: "Loss curve", show_results: "Sample results", confusion_matrix: "Confusion matrix", lr_finder: "Learning rate finder" } as Record<string, string>)[base] ?? base.replace(/_/g, " ");
  };
  return h(
    "div",
    { class: "panel-section", testid: "model-images" },
    h("h3", {}, "Training results"),
    pkg.images.map((img) =>
      h(
        "figure",
        { class: "model-figure" },
        h("a", { href: img.url, target: "_blank", rel: "noopener" }, h("img", { src: img.url, alt: caption(img.name), loading: "lazy" })),
        h("figcaption", { class: "small muted" }, caption(img.name)),
      ),
    ),
  );
}

function argumentsTable(args: ModelArgument[]): HTMLElement {
  if (!args.length) return h("p", { class: "muted small" }, "This model takes no inference arguments in Rasterlab.");
  const range = (a: ModelArgument): string => {
    if (a.choices) return a.choices.join(" | ");
    if (a.minimum !== null && a.maximum !== null) return `${a.minimum} – ${a.maximum}`;
    if (a.minimum !== null) return `≥ ${a.minimum}`;
    return a.type;
  };
  return h(
    "table",
    { class: "grid compact model-args", testid: "model-arguments" },
    h("thead", {}, h("tr", {}, h("th", {}, "Argument"), h("th", {}, "Default"), h("th", {}, "Range"))),
    h(
      "tbody",
      {},
      args.map((a) =>
        h(
          "tr",
          { testid: `model-argument-${a.name}`, title: a.description },
          h("td", {}, h("div", { class: "arg-name" }, a.name), h("div", { class: "small muted" }, a.description)),
          h("td", { class: "nowrap", testid: "model-argument-default" }, argumentDefaultText(a)),
          h("td", { class: "small muted" }, range(a)),
        ),
      ),
    ),
  );
}

export function modelView(models: ModelsApi, pkg: ModelPackage, hooks: ModelViewHooks, saved = false): HTMLElement {
  const notice = h("p", { class: "notice", hidden: true, testid: "model-notice" });
  if (saved) setNotice(notice, "Saved. The download carries the change.", "info");
  const argsHost = h("div", {}, h("p", { class: "muted small" }, "Loading arguments…"));
  const editHost = h("div", { class: "panel-section", hidden: true });
  let args: ModelArgument[] | null = null;
  const argsLoaded = models.info(pkg.id).then(
    (info) => {
      args = info.arguments;
      replace(argsHost, argumentsTable(info.arguments));
    },
    (err: unknown) => replace(argsHost, h("p", { class: "notice notice-error" }, message(err))),
  );

  const download = h("a", { class: "btn btn-small", href: pkg.download_url, download: "", testid: "model-download" }, "Download .dlpk");
  const edit = h("button", { type: "button", class: "btn btn-small", hidden: !pkg.can_edit, testid: "model-edit" }, "Edit");
  const del = h("button", { type: "button", class: "btn btn-small btn-danger", hidden: !pkg.can_edit, testid: "model-delete" }, "Delete");
  edit.addEventListener("click", () => {
    edit.disabled = true;
    void argsLoaded.then(() => {
      const form = editForm(models, pkg, args ?? [], (updated) => hooks.onChanged(updated), () => {
        editHost.hidden = true;
        edit.disabled = false;
      });
      replace(editHost, h("h3", {}, "Edit"), form);
      editHost.hidden = false;
      form.querySelector("input")?.focus();
    });
  });
  del.addEventListener("click", () => {
    if (!window.confirm(`Delete the model “${pkg.title}”? Its package file is removed too.`)) return;
    models.remove(pkg.id).then(() => hooks.onDeleted(pkg.id), (err: unknown) => setNotice(notice, message(err)));
  });

  const status = pkg.runnable
    ? h("span", { class: "status status-ready", testid: "model-runnable", title: pkg.runnable_reason }, "runnable")
    : h("span", { class: "status status-failed", testid: "model-runnable" }, "not runnable");

  return h(
    "div",
    { class: "model-view", testid: "model-view", "data-model-id": pkg.id },
    h(
      "div",
      { class: "panel-section" },
      h("div", { class: "section-head" }, h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "model-back", onclick: hooks.onBack }, "← Catalog"), h("span", { class: "spacer" })),
      h("h2", { class: "model-title", testid: "model-title" }, pkg.title),
      h("div", { class: "row model-badges" }, status, pkg.shared ? h("span", { class: "badge", testid: "model-shared" }, "shared") : null, pkg.tags.map((t) => h("span", { class: "badge tag" }, t))),
      pkg.runnable ? null : h("p", { class: "small muted", testid: "model-runnable-reason" }, pkg.runnable_reason),
      pkg.description ? h("p", { class: "model-description", testid: "model-description" }, pkg.description) : null,
      h("div", { class: "row" }, download, exportOnnxButton(models, pkg, notice), edit, del),
      notice,
    ),
    editHost,
    h(
      "div",
      { class: "panel-section" },
      h("h3", {}, "Properties"),
      kv([
        ["Type", pkg.model_type, "model-prop-type"],
        ["Use", familyText(pkg.family)],
        ["Architecture", pkg.architecture || pkg.model_name, "model-prop-architecture"],
        ["Model name", pkg.model_name !== pkg.architecture ? pkg.model_name : ""],
        ["Backbone", pkg.backbone, "model-prop-backbone"],
        ["Framework", pkg.framework],
        ["Chip size", chipSizeText(pkg.image_height, pkg.image_width), "model-prop-chip"],
        ["Bands", bandsText(pkg.extract_bands), "model-prop-bands"],
        ["Cell size", cellSizeText(pkg.cell_size), "model-prop-cellsize"],
        ["Project", pkg.project_name],
        ["File", `${pkg.file_name || pkg.emd_name} · ${formatBytes(pkg.size)}`],
        ["Added", `${formatDateTime(pkg.created_at)}${pkg.created_by ? ` by ${pkg.created_by}` : ""}${pkg.source === "training" ? " (trained)" : pkg.source === "export" ? " (exported)" : ""}`],
        ["SHA-256", h("span", { title: pkg.sha256 }, pkg.sha256.slice(0, 16) + "…")],
      ]),
    ),
    modelIoSection(pkg),
    h("div", { class: "panel-section" }, h("h3", {}, "Classes"), classTable(pkg)),
    metricsSection(pkg),
    modelAccuracySection(models.api.http, pkg.id),
    imagesSection(pkg),
    h("div", { class: "panel-section" }, h("h3", {}, "Arguments"), argsHost),
  );
}
