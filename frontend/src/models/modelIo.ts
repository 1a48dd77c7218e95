/** ONNX / TorchScript packages (issue 18): the inputs and outputs found in the file, and the
 * "Export to ONNX" button of models Rasterlab runs with PyTorch. */
import { ApiError } from "../api/http";
import { h, setNotice } from "../ui/dom";
import type { ModelIo, ModelPackage, ModelsApi, ModelTensor } from "./api";

function shapeText(shape: ModelTensor["shape"]): string {
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

function tensorRows(kind: string, tensors: ModelTensor[], roles: Record<string, string>): HTMLElement[] {
  const roleOf = (name: string) => Object.entries(roles).find(([, n]) => n === name)?.[0] ?? "";
  return tensors.map((t) =>
    h("tr", {}, h("td", {}, kind), h("td", {}, h("code", {}, t.name)), h("td", {}, shapeText(t.shape)), h("td", {}, t.type), h("td", {}, roleOf(t.name))),
  );
}

export function modelIoSection(pkg: ModelPackage): HTMLElement | null {
  const io = pkg.model_io as ModelIo;
  if (!io || !io.runtime) return null;
  const runtime = io.runtime === "onnx" ? `ONNX${io.opset ? ` (opset ${io.opset})` : ""}` : "TorchScript";
  const input: Record<string, string> = io.io.input ? { image: io.io.input } : {};
  return h(
    "div",
    { class: "panel-section", testid: "model-io" },
    h("h3", {}, "Inputs and outputs"),
    h("p", { class: "small muted" }, `${runtime}${io.producer ? ` · made by ${io.producer}` : ""} · input scaling: ${io.io.scaling}`),
    h(
      "table",
      { class: "grid compact" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "Name"), h("th", {}, "Shape"), h("th", {}, "Type"), h("th", {}, "Used as"))),
      h("tbody", {}, [...tensorRows("in", io.inputs, input), ...tensorRows("out", io.outputs, io.io.outputs)]),
    ),
  );
}

/** "Export to ONNX": for editors, on PyTorch models Rasterlab runs; the job shows in the Jobs panel. */
export function exportOnnxButton(models: ModelsApi, pkg: ModelPackage, notice: HTMLElement): HTMLElement | null {
  const foreign = ["onnx", "torchscript"].includes(pkg.framework.toLowerCase());
  if (!pkg.can_edit || !pkg.runnable || foreign) return null;
  const button = h("button", { type: "button", class: "btn btn-small", testid: "model-export-onnx", title: "A new ONNX package of this model, checked against it on test chips" }, "Export to ONNX");
  button.addEventListener("click", () => {
    button.disabled = true;
    models.exportOnnx(pkg.id).then(
      (job) => setNotice(notice, `Export started (job ${job.id}); the ONNX package appears in the catalog when it succeeds.`, "info"),
      (err: unknown) => {
        button.disabled = false;
        setNotice(notice, err instanceof ApiError ? err.detail : String(err));
      },
    );
  });
  return button;
}
