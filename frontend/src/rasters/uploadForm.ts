/**
 * Raster upload: file + name, multipart POST /api/rasters/ with an upload progress bar.
 * Each upload gets its own row (progress, cancel, error), so the next file can be chosen while
 * one is still sending.
 */
import { ApiError } from "../api/http";
import type { Raster } from "../api/types";
import type { ProjectContext } from "../panels/registry";
import { h, setNotice } from "../ui/dom";
import { icon } from "../ui/icons";
import { formatBytes } from "../ui/format";
import { progressBar } from "../ui/progress";

const NAME_PLACEHOLDER = "Name (default: file name)";

function uploadRow(ctx: ProjectContext, file: File, name: string, onUploaded: (raster: Raster) => void): HTMLElement {
  const bar = progressBar("upload-progress");
  const text = h("span", { class: "muted small nowrap", testid: "upload-progress-text" }, `0 / ${formatBytes(file.size)}`);
  const cancel = h("button", { type: "button", class: "icon-btn", title: "Cancel the upload", testid: "upload-cancel" }, icon("close"));
  const error = h("p", { class: "notice", hidden: true, testid: "upload-error" });
  const row = h(
    "li",
    { class: "upload-row", testid: "upload-row" },
    h("div", { class: "upload-head" }, h("span", { class: "layer-name" }, name || file.name), text, cancel),
    bar.el,
    error,
  );
  bar.set(0);
  const handle = ctx.api.uploadRaster(ctx.project.id, file, name, (p) => {
    bar.set(p.fraction);
    text.textContent =
      p.fraction !== null && p.fraction >= 1
        ? "checking…"
        : `${formatBytes(p.loaded)} / ${formatBytes(p.total || file.size)}`;
  });
  cancel.addEventListener("click", () => {
    if (row.dataset.state === "uploading") handle.abort();
    else row.remove(); // dismiss a finished row's error
  });
  row.dataset.state = "uploading";
  handle.promise
    .then((raster) => {
      row.remove();
      onUploaded(raster);
    })
    .catch((err: unknown) => {
      row.dataset.state = "failed";
      bar.set(1, "error");
      text.textContent = "failed";
      cancel.title = "Dismiss";
      // 400 (a file we cannot read) and 413 (too big) carry a detail that says what to fix.
      setNotice(error, `${file.name}: ${err instanceof ApiError ? err.detail : String(err)}`);
    });
  return row;
}

export function uploadForm(ctx: ProjectContext, onUploaded: (raster: Raster) => void): HTMLElement {
  const fileInput = h("input", { type: "file", name: "file", required: true, testid: "upload-file" });
  const nameInput = h("input", { type: "text", name: "name", placeholder: NAME_PLACEHOLDER, maxlength: 255, testid: "upload-name" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", testid: "upload-submit" }, "Upload");
  const notice = h("p", { class: "notice", hidden: true, testid: "upload-form-error" });
  const rows = h("ul", { class: "upload-list", testid: "upload-list" });
  const form = h(
    "form",
    { class: "upload-form", testid: "upload-form" },
    h("div", { class: "row" }, fileInput),
    h("div", { class: "row" }, nameInput, submit),
    notice,
    rows,
  );

  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    nameInput.placeholder = file ? file.name.replace(/\.[^.]+$/, "") : NAME_PLACEHOLDER;
    setNotice(notice, "");
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = fileInput.files?.[0];
    if (!file) {
      setNotice(notice, "Choose a raster file (e.g. a GeoTIFF) first.");
      return;
    }
    setNotice(notice, "");
    rows.append(uploadRow(ctx, file, nameInput.value.trim(), onUploaded));
    form.reset();
    nameInput.placeholder = NAME_PLACEHOLDER;
  });
  return form;
}
