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

describe("attribute table query", () => {
  const row = (id: number, props: Partial<import("./types").FeatureProperties>, area: number | null = null): import("./table").Row => ({
    id,
    area,
    props: { class_value: 1, class_name: "", confidence: null, raster: null, version: 1, seq: id, author: "ann", editor: null, created_at: "", updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)).toISOString(), ...props },
  });
  const name = (v: number | null): string => (v === 1 ? "Tree" : "Snag");

  it("filters by class, author, status and confidence, and pages", async () => {
    const { queryRows, DEFAULT_QUERY, PAGE_SIZE } = await import("./table");
    const rows = Array.from({ length: 120 }, (_, i) => row(i + 1, { class_value: i % 2 ? 1 : 2, author: i % 3 ? "ann" : "bob", confidence: i / 120, review_status: i < 10 ? "accepted" : "" }));
    const all = queryRows(rows, DEFAULT_QUERY, name);
    expect(all.total).toBe(120);
    expect(all.page.length).toBe(PAGE_SIZE);
    expect(all.page[0]!.id).toBe(120); // newest first
    expect(queryRows(rows, { ...DEFAULT_QUERY, page: 2 }, name).page.length).toBe(20);
    expect(queryRows(rows, { ...DEFAULT_QUERY, classValue: 2 }, name).total).toBe(60);
    expect(queryRows(rows, { ...DEFAULT_QUERY, author: "bob" }, name).total).toBe(40);
    expect(queryRows(rows, { ...DEFAULT_QUERY, status: "accepted" }, name).total).toBe(10);
    expect(queryRows(rows, { ...DEFAULT_QUERY, minConfidence: 0.5 }, name).total).toBe(60);
  });

  it("sorts by area and by class name", async () => {
    const { queryRows, DEFAULT_QUERY } = await import("./table");
    const rows = [row(1, { class_value: 2 }, 5), row(2, { class_value: 1 }, 50), row(3, { class_value: 2 }, null)];
    expect(queryRows(rows, { ...DEFAULT_QUERY, sort: "area", descending: true }, name).page.map((r) => r.id)).toEqual([2, 1, 3]);
    expect(queryRows(rows, { ...DEFAULT_QUERY, sort: "class", descending: false }, name).page.map((r) => r.id)).toEqual([3, 1, 2]); // ties: newest first
  });
});
