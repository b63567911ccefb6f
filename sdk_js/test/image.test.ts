import { describe, expect, it } from "vitest";
import { fitWithin, orientationTransform, orientedSize, readImageInfo, sniff } from "../src/image";

/** A JPEG header: SOI, an APP1 Exif block with one Orientation entry, SOF0 with the size. */
function jpeg(width: number, height: number, orientation: number | null, order: "II" | "MM" = "II"): Uint8Array {
  const le = order === "II";
  const u16 = (v: number) => (le ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff]);
  const u32 = (v: number) => (le ? [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24] : [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  const bytes = [0xff, 0xd8];
  if (orientation !== null) {
    const tiff = [...order.split("").map((c) => c.charCodeAt(0)), ...u16(42), ...u32(8), ...u16(2),
      ...u16(0x010f), ...u16(2), ...u32(4), ...u32(0), // Make: an entry before the one we want
      ...u16(0x0112), ...u16(3), ...u32(1), ...u16(orientation), 0, 0, ...u32(0)];
    const body = [..."Exif".split("").map((c) => c.charCodeAt(0)), 0, 0, ...tiff];
    bytes.push(0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  }
  bytes.push(0xff, 0xdb, 0x00, 0x04, 0x00, 0x00); // a (short) quantisation table segment
  bytes.push(0xff, 0xc0, 0x00, 0x0b, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x01, 0x01, 0x11, 0x00);
  bytes.push(0xff, 0xda, 0x00, 0x02);
  return new Uint8Array(bytes);
}

describe("sniff and readImageInfo", () => {
  it("reads size and orientation from JPEG headers in both byte orders", () => {
    for (const order of ["II", "MM"] as const) {
      for (let o = 1; o <= 8; o++) {
        expect(readImageInfo(jpeg(4000, 3000, o, order))).toEqual({ kind: "jpeg", width: 4000, height: 3000, orientation: o });
      }
    }
    expect(readImageInfo(jpeg(640, 480, null))).toEqual({ kind: "jpeg", width: 640, height: 480, orientation: 1 });
  });

  it("treats a bad orientation value or a truncated EXIF block as upright", () => {
    expect(readImageInfo(jpeg(10, 20, 9))?.orientation).toBe(1);
    const cut = jpeg(10, 20, 6).subarray(0, 20);
    expect(readImageInfo(cut)?.orientation).toBe(1);
  });

  it("reads PNG and WebP sizes", () => {
    const png = new Uint8Array(24);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0x03, 0x20, 0, 0, 0x02, 0x58]);
    expect(readImageInfo(png)).toEqual({ kind: "png", width: 800, height: 600, orientation: 1 });
    const webp = new Uint8Array(30);
    webp.set([..."RIFF"].map((c) => c.charCodeAt(0)), 0);
    webp.set([..."WEBPVP8X"].map((c) => c.charCodeAt(0)), 8);
    webp.set([0x1f, 0x03, 0x00, 0x57, 0x02, 0x00], 24); // 800 - 1, 600 - 1, little endian 24-bit
    expect(readImageInfo(webp)).toEqual({ kind: "webp", width: 800, height: 600, orientation: 1 });
  });

  it("refuses anything else", () => {
    expect(sniff(new TextEncoder().encode("GIF89a......"))).toBeNull();
    expect(readImageInfo(new TextEncoder().encode("<svg xmlns=...>"))).toBeNull();
    expect(readImageInfo(new Uint8Array(0))).toBeNull();
    expect(sniff(new Uint8Array([0xff, 0xd8]))).toBeNull();
  });
});

describe("orientation geometry", () => {
  // Where the stored image's corners must land in the upright picture (EXIF 2.32, Orientation).
  // Corners: top-left, top-right, bottom-left of a w x h stored image.
  const w = 4;
  const h = 2;
  const expected: Record<number, [number, number][]> = {
    1: [[0, 0], [w, 0], [0, h]],
    2: [[w, 0], [0, 0], [w, h]],
    3: [[w, h], [0, h], [w, 0]],
    4: [[0, h], [w, h], [0, 0]],
    5: [[0, 0], [0, w], [h, 0]],
    6: [[h, 0], [h, w], [0, 0]],
    7: [[h, w], [h, 0], [0, w]],
    8: [[0, w], [0, 0], [h, w]],
  };
  it.each(Object.keys(expected).map(Number))("orientation %i puts the stored corners upright", (o) => {
    const [a, b, c, d, e, f] = orientationTransform(o, w, h);
    const apply = ([x, y]: [number, number]) => [a * x + c * y + e, b * x + d * y + f];
    expect([[0, 0], [w, 0], [0, h]].map((p) => apply(p as [number, number]))).toEqual(expected[o]);
    expect(orientedSize(o, w, h)).toEqual(o >= 5 ? [h, w] : [w, h]);
  });

  it("fits the long side without upscaling", () => {
    expect(fitWithin(4000, 3000, 1280)).toEqual([1280, 960]);
    expect(fitWithin(3000, 4000, 1280)).toEqual([960, 1280]);
    expect(fitWithin(640, 480, 1280)).toEqual([640, 480]);
    expect(fitWithin(10000, 1, 1000)).toEqual([1000, 1]);
  });
});
