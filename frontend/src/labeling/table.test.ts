import { describe, expect, it } from "vitest";
import Point from "ol/geom/Point";
import { fromExtent } from "ol/geom/Polygon";
import { fromLonLat } from "ol/proj";
import { formatArea, formatTime } from "./table";

describe("attribute table formatting", () => {
  it("gives polygon areas on the ground, not in Web Mercator units", () => {
    // A 0.001 x 0.001 degree box at 60 N is about 111 m x 56 m on the ground.
    const [x0, y0] = fromLonLat([10, 60]);
    const [x1, y1] = fromLonLat([10.001, 60.001]);
    const text = formatArea(fromExtent([x0!, y0!, x1!, y1!]));
    const m2 = Number(text.replace(/[^0-9.]/g, ""));
    expect(text.endsWith("m²")).toBe(true);
    expect(m2).toBeGreaterThan(5800);
    expect(m2).toBeLessThan(6500);
    expect(formatArea(new Point([0, 0]))).toBe("—");
  });

  it("shows recent times relatively", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(formatTime("2026-01-01T11:59:30Z", now)).toBe("just now");
    expect(formatTime("2026-01-01T11:50:00Z", now)).toBe("10 min ago");
  });
});
