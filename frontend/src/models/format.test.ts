import { describe, expect, it } from "vitest";
import type { ModelArgument } from "./api";
import { bandsText, cellSizeText, chipSizeText, hexToRgb, metricText, parseArgumentInput, parseTags, rgbToHex } from "./format";

const threshold: ModelArgument = {
  name: "threshold", type: "float", default: 0.5, description: "", choices: null, minimum: 0, maximum: 1,
};

describe("models format", () => {
  it("converts colors both ways", () => {
    expect(rgbToHex([17, 157, 34])).toBe("#119d22");
    expect(hexToRgb("#119D22")).toEqual([17, 157, 34]);
    expect(hexToRgb("red")).toBeNull();
    expect(rgbToHex(null)).toBe("#808080");
  });
  it("describes cell sizes, chips and bands", () => {
    expect(cellSizeText({ min: 0.05, max: 0.2, wkid: 32617 })).toBe("0.05 – 0.2 m");
    expect(cellSizeText({ min: 0.3, max: 0.3, wkid: 3857 })).toBe("0.3 m");
    expect(cellSizeText({ min: 1, max: null, wkid: 2193 })).toBe("≥ 1 (EPSG:2193 units)");
    expect(cellSizeText(null)).toBe("");
    expect(chipSizeText(256, 256)).toBe("256 × 256 px");
    expect(bandsText([0, 1, 2])).toBe("1, 2, 3");
    expect(metricText(0.95355)).toBe("0.954");
  });
  it("parses form input", () => {
    expect(parseArgumentInput(threshold, " 0.3 ")).toBe(0.3);
    expect(parseArgumentInput(threshold, "")).toBeUndefined();
    expect(parseTags("forest, OSBS , forest,,")).toEqual(["forest", "OSBS"]);
  });
});
