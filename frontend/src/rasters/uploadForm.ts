/** Raster upload: file + name, multipart POST /api/rasters/ with an upload progress bar. */
import { ApiError } from "../api/http";
import type { Raster } from "../api/types";
import type { UploadHandle } from "../api/upload";
import type { ProjectContext } from "../panels/registry";
import { h, setNotice } from "../ui/dom";
import { formatBytes } from "../ui/format";
import { progressBar } from "../ui/progress";

export function uploadForm(ctx: ProjectContext, onUploaded: (raster: Raster) => void): HTMLElement {
  const fileInput = h("input", { type: "file", name: "file", required: true, testid: "upload-file" });
  const nameInput = h("input", { type: "text", name: "name", placeholder: "Name (default: file name)", maxlength: 200, testid: "upload-name" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", testid: "upload-submit" }, "Upload");
  const cancel = h("button", { type: "button", class: "btn btn-quiet", hidden: true, testid: "upload-cancel" }, "Cancel");
  const bar = progressBar("upload-progress");
  const progressText = h("span", { class: "muted small", testid: "upload-progress-text" });
  const progressRow = h("div", { class: "upload-progress", hidden: true }, bar.el, progressText);
  const notice = h("p", { class: "notice", hidden: true, testid: "upload-error" });
  const form = h(
    "form",
    { class: "upload-form", testid: "upload-form" },
    h("div", { class: "row" }, fileInput),
    h("div", { class: "row" }, nameInput, submit, cancel),
    progressRow,
    notice,
  );

  let handle: UploadHandle<Raster> | null = null;
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    nameInput.placeholder = file ? file.name.replace(/\.[^.]+$/, "") : "Name (default: file name)";
    setNotice(notice, "");
  });
  cancel.addEventListener("click", () => handle?.abort());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = fileInput.files?.[0];
    if (!file) {
      setNotice(notice, "Choose a raster file (e.g. a GeoTIFF) first.");
      return;
    }
    setNotice(notice, "");
    submit.disabled = true;
    cancel.hidden = false;
    progressRow.hidden = false;
    bar.set(0);
    progressText.textContent = `0 / ${formatBytes(file.size)}`;
    handle = ctx.api.uploadRaster(ctx.project.id, file, nameInput.value, (p) => {
      bar.set(p.fraction);
      progressText.textContent =
        p.fraction !== null && p.fraction >= 1
          ? "Uploaded; the server is checking the file…"
          : `${formatBytes(p.loaded)} / ${formatBytes(p.total || file.size)}`;
    });
    handle.promise
      .then((raster) => {
        bar.set(1, "ok");
        progressText.textContent = `Uploaded ${formatBytes(file.size)}; processing…`;
        form.reset();
        nameInput.placeholder = "Name (default: file name)";
        onUploaded(raster);
      })
      .catch((err: unknown) => {
        bar.set(null, "error");
        progressRow.hidden = true;
        // 400 (not a raster we can read) and 413 (too big) carry a detail that says what to fix.
        setNotice(notice, err instanceof ApiError ? err.detail : String(err));
      })
      .finally(() => {
        handle = null;
        submit.disabled = false;
        cancel.hidden = true;
      });
  });
  return form;
}
