/**
 * Draw a two-point shape (rectangle, circle) either by dragging (press, drag, release) or by two
 * clicks (first corner / centre, then the other corner / a point of the rim). The press is taken
 * from the map, so a drag draws instead of panning.
 */
import Feature from "ol/Feature";
import type OlMap from "ol/Map";
import type MapBrowserEvent from "ol/MapBrowserEvent";
import type { Coordinate } from "ol/coordinate";
import type Polygon from "ol/geom/Polygon";
import PointerInteraction from "ol/interaction/Pointer";
import VectorLayer from "ol/layer/Vector";
import VectorSource from "ol/source/Vector";
import { Fill, Stroke, Style } from "ol/style";

/** Below this many pixels of movement a press-release is a click, not a drag. */
const CLICK_TOLERANCE_PX = 5;

const SKETCH = new Style({
  stroke: new Stroke({ color: "rgba(0, 153, 255, 1)", width: 2, lineDash: [6, 4] }),
  fill: new Fill({ color: "rgba(0, 153, 255, 0.12)" }),
});

export class ShapeDraw extends PointerInteraction {
  private start: Coordinate | null = null;
  private startPixel: number[] | null = null;
  private dragged = false;
  /** The first click is down: the next click (or release after a drag) finishes. */
  private clicked = false;
  private readonly sketch = new Feature<Polygon>();
  private readonly overlay = new VectorLayer({ source: new VectorSource(), style: SKETCH, zIndex: 200 });

  constructor(
    private readonly shape: (a: Coordinate, b: Coordinate) => Polygon,
    private readonly done: (geometry: Polygon) => void,
  ) {
    super();
  }

  get drawing(): boolean {
    return this.start !== null;
  }

  abort(): void {
    this.start = null;
    this.startPixel = null;
    this.clicked = false;
    this.overlay.getSource()?.clear();
  }

  override setMap(map: OlMap | null): void {
    const old = this.getMap();
    if (old) old.removeLayer(this.overlay);
    this.abort();
    super.setMap(map);
    if (map) map.addLayer(this.overlay);
  }

  /** Two quick clicks are the two corners, never a double-click zoom. */
  override handleEvent(e: MapBrowserEvent<PointerEvent>): boolean {
    if (e.type === "dblclick") return false;
    return super.handleEvent(e);
  }

  protected override handleDownEvent(e: MapBrowserEvent<PointerEvent>): boolean {
    if (e.originalEvent.button !== 0) return false;
    if (!this.clicked) {
      this.start = e.coordinate.slice();
      this.startPixel = e.pixel.slice();
    }
    this.dragged = false;
    return true;
  }

  protected override handleDragEvent(e: MapBrowserEvent<PointerEvent>): void {
    if (!this.start || !this.startPixel) return;
    const [dx, dy] = [e.pixel[0] - this.startPixel[0], e.pixel[1] - this.startPixel[1]];
    if (Math.hypot(dx, dy) > CLICK_TOLERANCE_PX) this.dragged = true;
    if (this.dragged) this.update(e.coordinate);
  }

  protected override handleMoveEvent(e: MapBrowserEvent<PointerEvent>): void {
    if (this.clicked && this.start) this.update(e.coordinate);
  }

  protected override handleUpEvent(e: MapBrowserEvent<PointerEvent>): boolean {
    if (!this.start) return false;
    if (this.dragged || this.clicked) {
      const movedPx = this.startPixel ? Math.hypot(e.pixel[0] - this.startPixel[0], e.pixel[1] - this.startPixel[1]) : 0;
      const start = this.start;
      this.abort();
      // A second click on the first one's spot is a slip, not a shape.
      if (movedPx > CLICK_TOLERANCE_PX) this.done(this.shape(start, e.coordinate));
    } else {
      this.clicked = true;
      this.update(e.coordinate);
    }
    return false;
  }

  private update(to: Coordinate): void {
    if (!this.start) return;
    this.sketch.setGeometry(this.shape(this.start, to));
    const source = this.overlay.getSource()!;
    if (!source.hasFeature(this.sketch)) source.addFeature(this.sketch);
  }
}
