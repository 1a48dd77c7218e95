/** Class picker (colors, keys 1-9, counts) and the class schema editor (value, name, color). */
import { ApiError } from "../api/http";
import type { ProjectClass } from "../api/types";
import { h, replace, setNotice } from "../ui/dom";
import type { LabelsApi } from "./api";
import { rgb } from "./style";

export interface ClassPicker {
  el: HTMLElement;
  current(): number | null;
  pick(value: number): void;
  render(classes: ProjectClass[], counts: Map<number, number>): void;
}

export function classPicker(onPick: (value: number) => void): ClassPicker {
  const el = h("div", { class: "class-picker", testid: "class-picker" });
  let current: number | null = null;
  let classes: ProjectClass[] = [];
  let counts = new Map<number, number>();

  const render = (): void => {
    if (current !== null && !classes.some((c) => c.value === current)) current = null;
    if (current === null && classes.length) current = classes[0]!.value;
    replace(
      el,
      classes.length === 0
        ? h("p", { class: "muted small" }, "No classes yet: define them under “Classes” below.")
        : classes.map((c, i) =>
            h(
              "button",
              {
                type: "button",
                class: `class-pick${c.value === current ? " active" : ""}`,
                testid: "class-pick",
                "data-value": c.value,
                title: i < 9 ? `Key ${i + 1}` : c.name,
                onclick: () => {
                  current = c.value;
                  render();
                  onPick(c.value);
                },
              },
              h("span", { class: "swatch", style: `background: ${rgb(c.color)}` }),
              h("span", { class: "class-key" }, i < 9 ? String(i + 1) : ""),
              h("span", { class: "class-name" }, c.name),
              h("span", { class: "class-count badge", testid: "class-count" }, String(counts.get(c.value) ?? 0)),
            ),
          ),
    );
  };
  return {
    el,
    current: () => current,
    pick(value) {
      current = value;
      render();
    },
    render(next, nextCounts) {
      classes = next;
      counts = nextCounts;
      render();
    },
  };
}

/** New classes' colours: saturated, and none close to vegetation, soil or water. */
export const PALETTE: [number, number, number][] = [
  [255, 221, 0], [255, 0, 170], [0, 229, 255], [255, 106, 0], [170, 0, 255], [255, 40, 40], [0, 90, 255], [255, 255, 255],
];

function hex(color: [number, number, number]): string {
  return "#" + color.map((c) => c.toString(16).padStart(2, "0")).join("");
}

function fromHex(value: string): [number, number, number] {
  const n = parseInt(value.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * Edit the schema; saving a change that would orphan labels asks where to move them (remap).
 * `onSaved` gets the new class list.
 */
export function classEditor(api: LabelsApi, projectId: number, initial: () => ProjectClass[], onSaved: (classes: ProjectClass[]) => void): { el: HTMLElement; reset(): void } {
  const rows = h("tbody", {});
  const remapBox = h("div", { class: "remap", hidden: true, testid: "class-remap" });
  const notice = h("p", { class: "notice", hidden: true, testid: "class-error" });
  const remapSelects = new Map<string, HTMLSelectElement>();

  const row = (c: Partial<ProjectClass>): HTMLElement => {
    const value = h("input", { type: "number", min: 1, step: 1, value: c.value !== undefined ? String(c.value) : "", class: "cls-value", testid: "class-edit-value" });
    const name = h("input", { value: c.name ?? "", class: "cls-name", testid: "class-edit-name", placeholder: "name" });
    const color = h("input", { type: "color", value: hex(c.color ?? [255, 0, 0]), class: "cls-color", testid: "class-edit-color" });
    const tr = h("tr", { testid: "class-edit-row" }, h("td", {}, value), h("td", {}, name), h("td", {}, color));
    const remove = h("button", { type: "button", class: "icon-btn danger", title: "Remove class", onclick: () => tr.remove() }, "✕");
    tr.append(h("td", {}, remove));
    return tr;
  };
  const reset = (): void => {
    replace(rows, initial().map(row));
    remapBox.hidden = true;
    remapSelects.clear();
    setNotice(notice, "");
  };
  const read = (): ProjectClass[] =>
    [...rows.querySelectorAll<HTMLTableRowElement>("tr")].map((tr) => ({
      value: Number(tr.querySelector<HTMLInputElement>(".cls-value")!.value),
      name: tr.querySelector<HTMLInputElement>(".cls-name")!.value.trim(),
      color: fromHex(tr.querySelector<HTMLInputElement>(".cls-color")!.value),
    }));

  const add = h("button", { type: "button", class: "btn btn-small", testid: "class-add" }, "Add class");
  add.addEventListener("click", () => {
    const used = read().map((c) => c.value);
    rows.append(row({ value: (used.length ? Math.max(...used) : 0) + 1, name: "", color: PALETTE[rows.children.length % PALETTE.length]! }));
  });
  const save = h("button", { type: "button", class: "btn btn-small btn-primary", testid: "class-save" }, "Save classes");
  save.addEventListener("click", () => {
    const classes = read();
    const remap: Record<string, number> = {};
    for (const [old, select] of remapSelects) if (select.value) remap[old] = Number(select.value);
    save.disabled = true;
    api
      .putClasses(projectId, classes, remap)
      .then((project) => {
        onSaved(project.classes);
        reset();
        setNotice(notice, "Classes saved.", "info");
      })
      .catch((err: unknown) => {
        const inUse = err instanceof ApiError && err.status === 409 ? (err.body as { in_use?: Record<string, number> } | null)?.in_use : undefined;
        if (inUse) showRemap(inUse, classes);
        setNotice(notice, err instanceof ApiError ? err.detail : String(err));
      })
      .finally(() => {
        save.disabled = false;
      });
  });

  const showRemap = (inUse: Record<string, number>, classes: ProjectClass[]): void => {
    remapSelects.clear();
    const lines = Object.entries(inUse).map(([old, n]) => {
      const select = h("select", { testid: "class-remap-select", "data-old": old }, h("option", { value: "" }, "choose…"), classes.map((c) => h("option", { value: String(c.value) }, `${c.value} ${c.name}`)));
      remapSelects.set(old, select);
      return h("label", { class: "row" }, `Move the ${n} label${n === 1 ? "" : "s"} of class ${old} to`, select);
    });
    replace(remapBox, h("p", { class: "small" }, "Some labels use classes you removed. Move them to another class, then save again:"), lines);
    remapBox.hidden = false;
  };

  const el = h(
    "div",
    { class: "class-editor", testid: "class-editor" },
    h("table", { class: "grid compact" }, h("thead", {}, h("tr", {}, h("th", {}, "Value"), h("th", {}, "Name"), h("th", {}, "Color"), h("th", {}))), rows),
    remapBox,
    notice,
    h("div", { class: "actions" }, add, save),
  );
  reset();
  return { el, reset };
}
