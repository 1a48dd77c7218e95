import { describe, expect, it } from "vitest";
import { elapsed, formatBytes, formatDuration, shortNumber } from "./format";

describe("format", () => {
  it("formats durations, sizes and stretch numbers", () => {
    expect(formatDuration(4200)).toBe("4 s");
    expect(formatDuration(125_000)).toBe("2 min 05 s");
    expect(formatDuration(3_720_000)).toBe("1 h 02 min");
    expect(elapsed(null, null, 0)).toBe("");
    expect(elapsed("2025-01-01T00:00:00Z", "2025-01-01T00:00:07Z", 0)).toBe("7 s");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(shortNumber(255)).toBe("255");
    expect(shortNumber(0.000123456789)).toBe("0.000123457");
  });
});
