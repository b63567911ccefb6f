/** What a JPEG upload looks like from its header: size and whether it carries EXIF. */
export function jpegInfo(bytes: Buffer): { width: number; height: number; exif: boolean } {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error("not a JPEG");
  let pos = 2;
  let exif = false;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
    const marker = bytes[pos + 1];
    const length = bytes.readUInt16BE(pos + 2);
    if (marker === 0xe1 && bytes.toString("latin1", pos + 4, pos + 8) === "Exif") exif = true;
    if (marker >= 0xc0 && marker <= 0xc3) {
      return { height: bytes.readUInt16BE(pos + 5), width: bytes.readUInt16BE(pos + 7), exif };
    }
    pos += 2 + length;
  }
  throw new Error("no frame header");
}
