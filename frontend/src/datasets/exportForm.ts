/** The "Export training data" form: rasters, label layer, format, chip size, stride, options.
 * Defaults follow ArcGIS's tool (256 px chips, stride half a chip, TIFF, native cell size). */
import { ApiError } from "../api/http";
import type { Job, Raster } from "../api/types";
import type { Layer } from "../labeling/types";
import { h, replace, setNotice } from "../ui/dom";
import { CHIP_FORMATS, METADATA_FORMATS, type DatasetsApi, type ExportParams, type MetadataFormat } from "./api";

export const FORMAT_HELP: Record<MetadataFormat, string> = {
  PASCAL_VOC_rectangles: "Boxes in one XML file per chip: object detection (Faster R-CNN, RetinaNet, SSD, YOLO).",
  KITTI_rectangles: "Boxes in one text file per chip (KITTI): object detection.",
  RCNN_Masks: "One instance mask per object: instance segmentation (Mask R-CNN).",
  Classified_Tiles: "A class mask per chip (0 = no data): pixel classification (U-Net, DeepLab).",
  Labeled_Tiles: "One chip per feature labeled with its class: object classification.",
  COCO: "COCO instances JSON (boxes + polygons) for the whole dataset. arcgis.learn reads it as dataset_type=\"COCO_rectangles\" (add imagery_type=\"ms\" unless 3-band 8-bit).",
};

function numberInput(testid: string, value: number | "", attrs: Record<string, unknown> = {}): HTMLInputElement {
  return h("input", { type: "number", value: String(value), testid, ...attrs });
}

function field(label: string, input: HTMLElement, help?: string): HTMLElement {
  return h("label", {}, label, input, help ? h("span", { class: "help" }, help) : null);
}

function checkbox(testid: string, checked: boolean): HTMLInputElement {
  return h("input", { type: "checkbox", checked, testid });
}

export interface ExportFormHandle {
  el: HTMLElement;
  setRasters(rasters: Raster[]): void;
  setLayers(layers: Layer[]): void;
}

export function exportForm(projectId: number, datasets: DatasetsApi, onStarted: (job: Job) => void): ExportFormHandle {
  const rasters = h("select", { multiple: true, required: true, testid: "export-rasters" });
  const layer = h("select", { required: true, testid: "export-layer" });
  const format = h("select", { testid: "export-format" }, METADATA_FORMATS.map((f) => h("option", { value: f }, f)));
  const formatHelp = h("span", { class: "help", testid: "export-format-help" });
  const tileX = numberInput("export-tile-x", 256, { min: 1, max: 8192, step: 1, required: true });
  const tileY = numberInput("export-tile-y", 256, { min: 1, max: 8192, step: 1, required: true });
  const strideX = numberInput("export-stride-x", 128, { min: 1, max: 8192, step: 1, required: true });
  const strideY = numberInput("export-stride-y", 128, { min: 1, max: 8192, step: 1, required: true });
  const cellSize = numberInput("export-cell-size", "", { min: 0, step: "any", placeholder: "native" });
  const chipFormat = h("select", { testid: "export-chip-format" }, CHIP_FORMATS.map((f) => h("option", { value: f }, f)));
  const noFeature = checkbox("export-nofeature", false);
  const onlyAccepted = checkbox("export-accepted-only", false);
  const overlap = numberInput("export-min-overlap", 0, { min: 0, max: 1, step: 0.05 });
  const rotation = numberInput("export-rotation", 0, { min: 0, max: 359, step: 1 });
  const cropMode = h("select", { testid: "export-crop-mode" }, h("option", { value: "FIXED_SIZE" }, "Fixed size"), h("option", { value: "BOUNDING_BOX" }, "Bounding box"));
  const blacken = checkbox("export-blacken", false);
  const labeledOptions = h("div", { class: "pair", hidden: true }, field("Crop mode", cropMode, "Chip centred on each feature, or its bounding box resized to the chip size."), h("label", { class: "check" }, blacken, "Blacken around feature"));
  const name = h("input", { type: "text", maxlength: 200, placeholder: "Layer - format", testid: "export-name" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-small", testid: "export-submit" }, "Export");
  const notice = h("p", { class: "notice", hidden: true, testid: "export-error" });

  // Strides follow the chip size until edited (ArcGIS: half a chip).
  let strideTouched = false;
  strideX.addEventListener("input", () => (strideTouched = true));
  strideY.addEventListener("input", () => (strideTouched = true));
  const syncStride = (): void => {
    if (strideTouched) return;
    strideX.value = String(Math.max(1, Math.floor(Number(tileX.value) / 2)));
    strideY.value = String(Math.max(1, Math.floor(Number(tileY.value) / 2)));
  };
  tileX.addEventListener("input", syncStride);
  tileY.addEventListener("input", syncStride);
  const syncFormat = (): void => {
    formatHelp.textContent = FORMAT_HELP[format.value as MetadataFormat];
    labeledOptions.hidden = format.value !== "Labeled_Tiles";
  };
  format.addEventListener("change", syncFormat);
  syncFormat();

  const form = h(
    "form",
    { class: "form export-form", testid: "export-form" },
    field("Rasters", rasters, "Ready rasters to cut chips from (Ctrl/⌘-click for several); chips are numbered across them."),
    field("Label layer", layer, "Features with a class become the labels."),
    field("Metadata format", format),
    formatHelp,
    h("div", { class: "pair" }, field("Chip width (px)", tileX), field("Chip height (px)", tileY)),
    h("div", { class: "pair" }, field("Stride X (px)", strideX), field("Stride Y (px)", strideY)),
    h("span", { class: "help" }, "Stride smaller than the chip size makes overlapping chips."),
    h("div", { class: "pair" }, field("Cell size", cellSize, "Resample to this cell size (raster units); empty: native."), field("Image format", chipFormat, "TIFF keeps all bands and the data type; PNG/JPEG need 8-bit data.")),
    h("div", { class: "pair" }, field("Min. polygon overlap", overlap, "0..1: drop label parts covering less of their feature."), field("Rotation angle (°)", rotation, "> 0 adds rotated copies of each chip.")),
    labeledOptions,
    h("label", { class: "check" }, noFeature, "Also export chips without features"),
    h("label", { class: "check", title: "Labels a reviewer accepted in the Labels tab; others are left out" }, onlyAccepted, "Only reviewed and accepted labels"),
    field("Dataset name", name),
    notice,
    h("div", { class: "row" }, submit),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = Array.from(rasters.selectedOptions).map((o) => Number(o.value));
    if (!chosen.length) return setNotice(notice, "Choose at least one raster.");
    if (!layer.value) return setNotice(notice, "Choose a label layer.");
    const params: ExportParams = {
      in_rasters: chosen,
      in_layer: Number(layer.value),
      metadata_format: format.value as MetadataFormat,
      tile_size_x: Number(tileX.value),
      tile_size_y: Number(tileY.value),
      stride_x: Number(strideX.value),
      stride_y: Number(strideY.value),
      cell_size: cellSize.value === "" ? null : Number(cellSize.value),
      output_nofeature_tiles: noFeature.checked,
      min_polygon_overlap_ratio: Number(overlap.value || 0),
      rotation_angle: Number(rotation.value || 0),
      image_chip_format: chipFormat.value as ExportParams["image_chip_format"],
    };
    if (params.metadata_format === "Labeled_Tiles") {
      params.crop_mode = cropMode.value as ExportParams["crop_mode"];
      params.blacken_around_feature = blacken.checked;
    }
    if (name.value.trim()) params.out_name = name.value.trim();
    if (onlyAccepted.checked) params.only_accepted = true;
    setNotice(notice, "");
    submit.disabled = true;
    datasets
      .startExport(projectId, params)
      .then((job) => {
        name.value = "";
        onStarted(job);
      })
      .catch((err: unknown) => setNotice(notice, err instanceof ApiError ? err.detail : String(err)))
      .finally(() => (submit.disabled = false));
  });

  return {
    el: form,
    setRasters(list) {
      const kept = new Set(Array.from(rasters.selectedOptions).map((o) => o.value));
      const ready = list.filter((r) => r.status === "ready" && (r.kind ?? "image") === "image");
      replace(rasters, ready.map((r) => h("option", { value: String(r.id), selected: kept.has(String(r.id)) || ready.length === 1 }, r.name)));
    },
    setLayers(list) {
      const kept = layer.value;
      replace(layer, list.map((l) => h("option", { value: String(l.id), selected: String(l.id) === kept }, `${l.name} (${l.feature_count})`)));
    },
  };
}
