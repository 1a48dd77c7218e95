/** One dataset: summary, per-class counts, a grid of sample chips with labels, download, delete. */
import { ApiError } from "../api/http";
import { h, setNotice } from "../ui/dom";
import { formatBytes, formatDateTime } from "../ui/format";
import type { Dataset, DatasetsApi } from "./api";

export interface DatasetViewHandlers {
  onBack(): void;
  onDeleted(): void;
}

function row(label: string, value: string | number): HTMLElement {
  return h("tr", {}, h("th", {}, label), h("td", {}, String(value)));
}

export function datasetView(datasets: DatasetsApi, ds: Dataset, handlers: DatasetViewHandlers): HTMLElement {
  const colors = new Map(ds.classes.map((c) => [c.value, c.color]));
  const notice = h("p", { class: "notice", hidden: true, testid: "dataset-error" });
  const back = h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "dataset-back", onclick: handlers.onBack }, "← Datasets");
  const ready = ds.status === "ready";
  const download = ready
    ? h("a", { class: "btn btn-small btn-primary", href: datasets.downloadUrl(ds.id), download: `${ds.name}.zip`, testid: "dataset-download" }, "Download zip")
    : null;
  const remove = ds.can_delete && ready
    ? h("button", { type: "button", class: "btn btn-small btn-danger", testid: "dataset-delete" }, "Delete")
    : null;
  remove?.addEventListener("click", () => {
    if (!window.confirm(`Delete the dataset "${ds.name}"? Its chips and labels are removed.`)) return;
    remove.disabled = true;
    datasets.remove(ds.id).then(handlers.onDeleted, (err: unknown) => {
      remove.disabled = false;
      setNotice(notice, err instanceof ApiError ? err.detail : String(err));
    });
  });
  const summary = h(
    "table",
    { class: "dataset-stats", testid: "dataset-summary" },
    row("Status", ds.status),
    row("Format", `${ds.metadata_format} · ${ds.image_chip_format}`),
    row("Chips", ds.chip_count),
    row("Chip size", `${ds.tile_size[0]} × ${ds.tile_size[1]} px`),
    row("Bands", ds.band_count ? `${ds.band_count} × ${ds.dtype}` : "—"),
    row("Size", formatBytes(ds.size_bytes)),
    row("Created", `${formatDateTime(ds.created_at)}${ds.created_by ? ` by ${ds.created_by}` : ""}`),
  );
  const masks = ds.metadata_format === "Classified_Tiles" || ds.metadata_format === "RCNN_Masks";
  const classes = h(
    "table",
    { class: "dataset-stats", testid: "dataset-classes" },
    h("tr", {}, h("th", {}, "Class"), h("th", {}, "Chips"), h("th", {}, "Features"), masks ? h("th", {}, "Pixels") : null),
    ds.class_stats.map((c) => {
      const color = colors.get(c.value);
      return h(
        "tr",
        { testid: "dataset-class-row" },
        h("td", {}, h("span", { class: "swatch", style: color ? `background: rgb(${color.join(",")})` : "" }), c.name),
        h("td", { class: "num" }, c.images),
        h("td", { class: "num" }, c.features),
        masks ? h("td", { class: "num" }, c.pixels) : null,
      );
    }),
  );
  const samples = ds.samples ?? [];
  const grid = h(
    "div",
    { class: "sample-grid", testid: "dataset-samples" },
    samples.map((s) => h("a", { href: s.preview, target: "_blank", rel: "noopener", title: s.name }, h("img", { src: s.preview, alt: s.name, loading: "lazy", testid: "dataset-sample" }))),
  );
  return h(
    "div",
    { class: "panel-section", testid: "dataset-view", "data-dataset-id": ds.id },
    h("div", { class: "row" }, back),
    h("h3", { testid: "dataset-title" }, ds.name),
    notice,
    summary,
    ds.warnings.length ? h("ul", { class: "small muted" }, ds.warnings.map((w) => h("li", {}, w))) : null,
    h("h4", {}, "Per class"),
    classes,
    h("h4", {}, "Sample chips"),
    samples.length ? grid : h("p", { class: "muted small" }, ready ? "No chips." : "Exporting…"),
    h("div", { class: "row" }, download, remove),
  );
}
