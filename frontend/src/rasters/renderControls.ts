/**
 * Band combination (1 grey band or 3 as R, G, B) and per-band stretch (min/max pre-filled from
 * the 2-98 % statistics, presets 2-98 % and min-max) of one raster layer. Every valid change is
 * applied at once: it rebuilds the layer's tile URL.
 */
import type { Raster } from "../api/types";
import {
  bandCount,
  presetStretch,
  STRETCH_PRESETS,
  validateSettings,
  type RenderSettings,
  type Stretch,
  type StretchPreset,
} from "../map/render";
import { h, replace, setNotice } from "../ui/dom";
import { shortNumber } from "../ui/format";

const CHANNELS = ["R", "G", "B"];

export function renderControls(
  raster: Raster,
  initial: RenderSettings,
  apply: (settings: RenderSettings) => void,
): HTMLElement {
  const n = bandCount(raster);
  let preset: StretchPreset = "p2p98";
  let bands = [...initial.bands];
  // Stretch per band *number*, so switching bands back and forth keeps edited values.
  const stretches = new Map<number, Stretch>();
  initial.bands.forEach((b, i) => {
    const s = initial.rescale[i];
    if (s) stretches.set(b, [...s]);
  });
  const stretchOf = (band: number): Stretch | null => stretches.get(band) ?? presetStretch(raster, band, preset);

  const modeSelect = h(
    "select",
    { testid: "band-mode", title: "Band combination" },
    h("option", { value: "rgb", disabled: n < 2 }, "RGB composite (3 bands)"),
    h("option", { value: "single" }, "Single band (grey)"),
  );
  const bandRows = h("div", { class: "band-rows" });
  const notice = h("p", { class: "notice", hidden: true, testid: "render-error" });
  const presets = STRETCH_PRESETS.map((p) =>
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        testid: `stretch-preset-${p.id}`,
        onclick: () => {
          preset = p.id;
          for (const band of bands) stretches.delete(band);
          renderRows();
          commit();
        },
      },
      p.label,
    ),
  );
  const applyBtn = h("button", { type: "button", class: "btn btn-small btn-primary", testid: "render-apply", onclick: () => commit() }, "Apply");

  function settings(): RenderSettings {
    const rescale: Stretch[] = [];
    for (const band of bands) {
      const s = stretchOf(band);
      if (!s) return { bands: [...bands], rescale: [] }; // no statistics: server default
      rescale.push(s);
    }
    return { bands: [...bands], rescale };
  }

  function commit(): void {
    const next = settings();
    const error = validateSettings(raster, next);
    setNotice(notice, error ?? "");
    if (!error) apply(next);
  }

  function bandSelect(index: number): HTMLSelectElement {
    const select = h("select", { testid: `band-select-${index}` });
    for (let b = 1; b <= n; b += 1) select.append(h("option", { value: String(b) }, `Band ${b}`));
    select.value = String(bands[index]);
    select.addEventListener("change", () => {
      bands[index] = Number(select.value);
      renderRows();
      commit();
    });
    return select;
  }

  function numberInput(index: number, which: 0 | 1): HTMLInputElement {
    const band = bands[index]!;
    const value = stretchOf(band)?.[which];
    const input = h("input", {
      type: "number",
      step: "any",
      class: "num",
      testid: `stretch-${which === 0 ? "min" : "max"}-${index}`,
      value: value === undefined ? "" : shortNumber(value),
      title: which === 0 ? "Value drawn black" : "Value drawn white",
    });
    input.addEventListener("change", () => {
      const current = stretchOf(band) ?? [0, 1];
      const next: Stretch = [...current];
      next[which] = input.valueAsNumber;
      stretches.set(band, next);
      commit();
    });
    return input;
  }

  function renderRows(): void {
    const labels = bands.length === 3 ? CHANNELS : ["Grey"];
    replace(
      bandRows,
      bands.map((band, i) => {
        const stats = raster.statistics?.[String(band)];
        const summary = stats
          ? `Band ${band}: min ${shortNumber(stats.min)}, max ${shortNumber(stats.max)}, mean ${shortNumber(stats.mean)}, ` +
            `std ${shortNumber(stats.std)}, 2-98 % ${shortNumber(stats.p2)}–${shortNumber(stats.p98)}`
          : `Band ${band}: no statistics`;
        return h(
          "div",
          { class: "band-row", title: summary },
          h("span", { class: `chan chan-${labels[i]!.toLowerCase()}` }, labels[i]),
          bandSelect(i),
          numberInput(i, 0),
          h("span", { class: "muted" }, "–"),
          numberInput(i, 1),
        );
      }),
    );
  }

  modeSelect.value = bands.length === 3 ? "rgb" : "single";
  modeSelect.addEventListener("change", () => {
    bands = modeSelect.value === "rgb" ? (n >= 3 ? [1, 2, 3] : [1, 2, Math.min(2, n)]) : [bands[0] ?? 1];
    renderRows();
    commit();
  });
  renderRows();

  return h(
    "div",
    { class: "render-controls", testid: "render-controls" },
    h("div", { class: "row" }, modeSelect),
    bandRows,
    h("div", { class: "row" }, h("span", { class: "muted small" }, "Stretch"), ...presets, h("span", { class: "spacer" }), applyBtn),
    notice,
  );
}
