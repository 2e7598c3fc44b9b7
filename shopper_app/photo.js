// Photos are downscaled on the phone before they are queued: a 12-megapixel camera picture becomes
// a JPEG of at most MAX_EDGE pixels on its longest side, which is plenty for QC and cheap to upload.
const MAX_EDGE = 1600;
const QUALITY = 0.85;
const THUMB_EDGE = 160;

async function decode(file) {
  if ("createImageBitmap" in window) {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch { /* fall back to <img> below */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function draw(source, maxEdge) {
  const w = source.width;
  const hgt = source.height;
  const scale = Math.min(1, maxEdge / Math.max(w, hgt));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(hgt * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; // transparent PNGs would turn black in a JPEG
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** → {blob (image/jpeg), width, height, thumb (small data: URL)}; throws if it is not an image. */
export async function downscale(file) {
  const source = await decode(file);
  const canvas = draw(source, MAX_EDGE);
  const blob = await new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode failed"))), "image/jpeg", QUALITY));
  const thumb = draw(canvas, THUMB_EDGE).toDataURL("image/jpeg", 0.7);
  source.close?.();
  return { blob, width: canvas.width, height: canvas.height, thumb };
}
