/** The edit form of a model package: title, description, tags, sharing, class names and
 * colors, recommended cell size and inference argument defaults (PATCH /api/models/{id}/). */
import { ApiError } from "../api/http";
import { h, setNotice } from "../ui/dom";
import type { ModelArgument, ModelPackage, ModelPatch, ModelsApi } from "./api";
import { hexToRgb, parseArgumentInput, parseTags, rgbToHex } from "./format";

function numberText(v: number | null | undefined): string {
  return v === null || v === undefined ? "" : String(v);
}

function argumentInput(arg: ModelArgument, stored: unknown): HTMLInputElement | HTMLSelectElement {
  const testid = `model-arg-${arg.name}`;
  const current = stored === undefined || stored === null ? "" : String(stored);
  if (arg.type === "bool" || arg.type === "choice") {
    const options = arg.type === "bool" ? ["true", "false"] : (arg.choices ?? []);
    const select = h(
      "select",
      { testid },
      h("option", { value: "" }, `package default (${String(arg.default)})`),
      options.map((o) => h("option", { value: o }, o)),
    );
    select.value = current;
    return select;
  }
  const input = h("input", {
    type: arg.type === "str" ? "text" : "number",
    step: arg.type === "int" ? "1" : "any",
    placeholder: `default ${String(arg.default)}`,
    testid,
  });
  if (arg.minimum !== null) input.min = String(arg.minimum);
  if (arg.maximum !== null && arg.name !== "padding") input.max = String(arg.maximum);
  input.value = current;
  return input;
}

export function editForm(
  models: ModelsApi,
  pkg: ModelPackage,
  args: ModelArgument[],
  onSaved: (pkg: ModelPackage) => void,
  onCancel: () => void,
): HTMLFormElement {
  const title = h("input", { value: pkg.title, maxlength: 200, required: true, testid: "model-edit-title" });
  const description = h("textarea", { rows: 3, testid: "model-edit-description" });
  description.value = pkg.description;
  const tags = h("input", { value: pkg.tags.join(", "), placeholder: "comma, separated", testid: "model-edit-tags" });
  const shared = h("input", { type: "checkbox", checked: pkg.shared, testid: "model-edit-shared" });

  // Colors the user did not touch are sent back as they were (possibly "none").
  const colorTouched = new Set<number>();
  const classRows = pkg.classes.map((c, i) => {
    const name = h("input", { value: c.name, maxlength: 200, required: true, testid: `model-class-name-${i}` });
    const color = h("input", { type: "color", value: rgbToHex(c.color), title: "Class color", testid: `model-class-color-${i}` });
    color.addEventListener("input", () => colorTouched.add(i));
    color.addEventListener("change", () => colorTouched.add(i));
    return { cls: c, name, color, el: h("div", { class: "model-class-row" }, h("span", { class: "muted small class-value" }, c.value), color, name) };
  });

  const cellMin = h("input", { type: "number", step: "any", min: "0", value: numberText(pkg.cell_size?.min), placeholder: "min", testid: "model-cell-min" });
  const cellMax = h("input", { type: "number", step: "any", min: "0", value: numberText(pkg.cell_size?.max), placeholder: "max", testid: "model-cell-max" });

  const argInputs = args.map((arg) => ({ arg, input: argumentInput(arg, pkg.argument_defaults[arg.name]) }));

  const notice = h("p", { class: "notice", hidden: true, testid: "model-edit-error" });
  const save = h("button", { type: "submit", class: "btn btn-small btn-primary", testid: "model-save" }, "Save");
  const cancel = h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "model-edit-cancel", onclick: onCancel }, "Cancel");

  const form = h(
    "form",
    { class: "form model-edit", testid: "model-edit-form" },
    h("label", {}, "Title", title),
    h("label", {}, "Description", description),
    h("label", {}, "Tags", tags),
    h("label", { class: "check" }, shared, "Shared: every user can see and download it (read-only)"),
    pkg.classes.length ? h("fieldset", {}, h("legend", {}, "Classes (names and colors; values are fixed)"), classRows.map((r) => r.el)) : null,
    h("fieldset", {}, h("legend", {}, "Recommended cell size"), h("div", { class: "row" }, cellMin, h("span", { class: "muted" }, "to"), cellMax)),
    argInputs.length
      ? h(
          "fieldset",
          {},
          h("legend", {}, "Default arguments (empty: the package default)"),
          argInputs.map(({ arg, input }) => h("label", { title: arg.description }, arg.name, input)),
        )
      : null,
    notice,
    h("div", { class: "actions" }, cancel, save),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setNotice(notice, "");
    const patch: ModelPatch = {
      title: title.value.trim(),
      description: description.value.trim(),
      tags: parseTags(tags.value),
      shared: shared.checked,
    };
    if (classRows.length) {
      patch.classes = classRows.map((r, i) => ({
        value: r.cls.value,
        name: r.name.value.trim(),
        color: colorTouched.has(i) ? hexToRgb(r.color.value) : r.cls.color,
      }));
    }
    const min = cellMin.value.trim() === "" ? null : Number(cellMin.value);
    const max = cellMax.value.trim() === "" ? null : Number(cellMax.value);
    if (pkg.cell_size || min !== null || max !== null) patch.cell_size = min === null && max === null ? null : { min, max };
    if (argInputs.length) {
      const defaults: Record<string, unknown> = {};
      for (const { arg, input } of argInputs) {
        const value = parseArgumentInput(arg, input.value);
        if (value !== undefined) defaults[arg.name] = value;
      }
      patch.argument_defaults = Object.keys(defaults).length ? defaults : null;
    }
    save.disabled = true;
    models
      .update(pkg.id, patch)
      .then(onSaved)
      .catch((err: unknown) => setNotice(notice, err instanceof ApiError ? err.detail : String(err)))
      .finally(() => {
        save.disabled = false;
      });
  });
  return form;
}
