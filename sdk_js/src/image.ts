/**
 * Photos before upload: sniff the type, read the size and EXIF orientation from the header,
 * then decode, turn upright, downscale and re-encode as JPEG in the browser. Re-encoding drops
 * every metadata block (EXIF GPS included), so only pixels leave the shopper's device.
 *
 * The header readers and the geometry are pure functions, tested on their own.
 */

export type ImageKind = "jpeg" | "png" | "webp";

export interface ImageInfo {
  kind: ImageKind;
  /** Stored pixel size, before any orientation is applied; 0 when the header is truncated. */
  width: number;
  height: number;
  /** EXIF orientation 1-8 (1 = upright); always 1 for PNG and WebP without EXIF. */
  orientation: number;
}

/** Images larger than this are refused before decoding (decoding one could exhaust memory). */
export const MAX_INPUT_PIXELS = 50_000_000;
export const MAX_INPUT_BYTES = 40 * 1024 * 1024;

/** The image type from its first bytes, or null for anything but JPEG, PNG and WebP. */
export function sniff(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (
    bytes.length >= 8 &&
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b)
  ) {
    return "png";
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
  return null;
}

/** Type, stored size and orientation from the header; null when the type is not allowed. */
export function readImageInfo(bytes: Uint8Array): ImageInfo | null {
  const kind = sniff(bytes);
  if (kind === "jpeg") return { kind, ...readJpeg(bytes) };
  if (kind === "png") {
    const ok = bytes.length >= 24 && ascii(bytes, 12, 4) === "IHDR";
    return { kind, width: ok ? u32(bytes, 16, false) : 0, height: ok ? u32(bytes, 20, false) : 0, orientation: 1 };
  }
  if (kind === "webp") return { kind, ...readWebpSize(bytes), orientation: 1 };
  return null;
}

function readJpeg(bytes: Uint8Array): { width: number; height: number; orientation: number } {
  let width = 0;
  let height = 0;
  let orientation = 1;
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) break;
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, start of scan
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (length < 2) break;
    const body = pos + 4;
    if (marker === 0xe1 && orientation === 1 && ascii(bytes, body, 6) === "Exif\0\0") {
      orientation = readExifOrientation(bytes, body + 6, Math.min(bytes.length, pos + 2 + length));
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && body + 5 <= bytes.length) {
      height = (bytes[body + 1] << 8) | bytes[body + 2];
      width = (bytes[body + 3] << 8) | bytes[body + 4];
    }
    pos += 2 + length;
  }
  return { width, height, orientation };
}

/** The Orientation tag (0x0112) of IFD0 in the TIFF block at `start`; 1 when absent or bad. */
export function readExifOrientation(bytes: Uint8Array, start: number, end: number): number {
  if (start + 8 > end) return 1;
  const order = ascii(bytes, start, 2);
  if (order !== "II" && order !== "MM") return 1;
  const little = order === "II";
  if (u16(bytes, start + 2, little) !== 42) return 1;
  const ifd = start + u32(bytes, start + 4, little);
  if (ifd + 2 > end) return 1;
  const count = u16(bytes, ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return 1;
    if (u16(bytes, entry, little) === 0x0112) {
      const value = u16(bytes, entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function readWebpSize(bytes: Uint8Array): { width: number; height: number } {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === "VP8X" && bytes.length >= 30) {
    return { width: 1 + u24(bytes, 24), height: 1 + u24(bytes, 27) };
  }
  if (chunk === "VP8L" && bytes.length >= 25) {
    const b = bytes.subarray(21, 25);
    return { width: 1 + (((b[1] & 0x3f) << 8) | b[0]), height: 1 + (((b[3] & 0x0f) << 10) | (b[2] << 2) | (b[1] >> 6)) };
  }
  if (chunk === "VP8 " && bytes.length >= 30) {
    return { width: u16(bytes, 26, true) & 0x3fff, height: u16(bytes, 28, true) & 0x3fff };
  }
  return { width: 0, height: 0 };
}

/** Size after orientation `o` is applied to a `width` x `height` image. */
export function orientedSize(o: number, width: number, height: number): [number, number] {
  return o >= 5 ? [height, width] : [width, height];
}

/** Output size: at most `maxSide` on the long side, never upscaled, at least 1 pixel. */
export function fitWithin(width: number, height: number, maxSide: number): [number, number] {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

/**
 * The canvas transform `[a, b, c, d, e, f]` that draws an image stored with EXIF orientation
 * `o`, scaled to `w` x `h` (stored axes), upright into a canvas of `orientedSize(o, w, h)`.
 */
export function orientationTransform(o: number, w: number, h: number): [number, number, number, number, number, number] {
  switch (o) {
    case 2:
      return [-1, 0, 0, 1, w, 0];
    case 3:
      return [-1, 0, 0, -1, w, h];
    case 4:
      return [1, 0, 0, -1, 0, h];
    case 5:
      return [0, 1, 1, 0, 0, 0];
    case 6:
      return [0, 1, -1, 0, h, 0];
    case 7:
      return [0, -1, -1, 0, h, w];
    case 8:
      return [0, -1, 1, 0, 0, w];
    default:
      return [1, 0, 0, 1, 0, 0];
  }
}

/** Why a photo was refused before upload. */
export class PhotoError extends Error {
  constructor(readonly reason: "type" | "size" | "decode") {
    super(`photo refused: ${reason}`);
    this.name = "PhotoError";
  }
}

export interface PreparedPhoto {
  blob: Blob;
  width: number;
  height: number;
}

/**
 * Decode `file`, turn it upright, fit it in `maxSide` and re-encode it as JPEG.
 * Browsers apply EXIF orientation when decoding; where one has not (its decoded size is the
 * stored size of a rotated image), the rotation is applied here instead.
 */
export async function preparePhoto(file: Blob, maxSide: number, quality: number): Promise<PreparedPhoto> {
  if (file.size > MAX_INPUT_BYTES) throw new PhotoError("size");
  const head = new Uint8Array(await file.slice(0, 256 * 1024).arrayBuffer());
  const info = readImageInfo(head);
  if (!info) throw new PhotoError("type");
  if (info.width * info.height > MAX_INPUT_PIXELS) throw new PhotoError("size");
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new PhotoError("decode");
  }
  try {
    const [uprightW, uprightH] = orientedSize(info.orientation, info.width, info.height);
    const needsRotation =
      info.orientation >= 5 && info.width !== info.height && bitmap.width === info.width && bitmap.height === info.height;
    const o = needsRotation ? info.orientation : 1;
    const [outW, outH] = fitWithin(needsRotation ? uprightW : bitmap.width, needsRotation ? uprightH : bitmap.height, maxSide);
    const canvas = document.createElement("canvas");
    canvas.width = outW;
    canvas.height = outH;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new PhotoError("decode");
    ctx.fillStyle = "#fff"; // JPEG has no alpha: flatten transparent PNGs on white
    ctx.fillRect(0, 0, outW, outH);
    const [drawW, drawH] = o >= 5 ? [outH, outW] : [outW, outH];
    ctx.setTransform(...orientationTransform(o, drawW, drawH));
    ctx.drawImage(bitmap, 0, 0, drawW, drawH);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (!blob) throw new PhotoError("decode");
    return { blob, width: outW, height: outH };
  } finally {
    bitmap.close();
  }
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  if (start + length > bytes.length) return "";
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function u16(bytes: Uint8Array, at: number, little: boolean): number {
  return little ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1];
}

function u24(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

function u32(bytes: Uint8Array, at: number, little: boolean): number {
  return little
    ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
    : ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}
