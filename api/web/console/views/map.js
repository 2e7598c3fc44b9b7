// The check-in against the shop as an inline SVG: no tiles, just metres on a local flat projection
// (equirectangular around the shop, exact enough for the few kilometres a check-in can be off).
import { esc } from "../util.js";

const EARTH_M = 6371008.8;
const W = 480;
const H = 320;

/** Great-circle distance in metres (haversine). */
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

function niceLength(metres) {
  const power = 10 ** Math.floor(Math.log10(metres));
  const unit = [5, 2, 1].map((f) => f * power).find((v) => v <= metres) || power;
  return unit;
}

function metres(value) {
  return value >= 1000 ? `${(value / 1000).toLocaleString("en-GB", { maximumFractionDigits: 2 })} km` : `${Math.round(value)} m`;
}

/**
 * shop: {latitude, longitude, geofence_radius_m}; checkin: {latitude, longitude, accuracy_m};
 * points: [{latitude, longitude, label}] (step positions, check-out). Returns HTML.
 */
export function checkinMap({ shop, checkin, points = [] }) {
  if (shop?.latitude == null || shop?.longitude == null) {
    return `<p class="muted" data-map="none">No map: the location has no coordinates (online or phone).</p>`;
  }
  if (checkin?.latitude == null || checkin?.longitude == null) {
    return `<p class="notice" data-map="none">The check-in has no GPS position.</p>`;
  }
  const rad = Math.PI / 180;
  const project = (p) => ({
    x: (p.longitude - shop.longitude) * rad * EARTH_M * Math.cos(shop.latitude * rad),
    y: (p.latitude - shop.latitude) * rad * EARTH_M,
  });
  const distance = distanceM(shop, checkin);
  const accuracy = checkin.accuracy_m || 0;
  const fence = shop.geofence_radius_m || 0;
  const others = points.filter((p) => p.latitude != null && p.longitude != null);
  const c = project(checkin);
  // Everything (fence, check-in with its accuracy, other points) fits around the centre.
  const spread = Math.max(
    40,
    fence,
    Math.hypot(c.x, c.y) + accuracy,
    ...others.map((p) => Math.hypot(project(p).x, project(p).y)),
  );
  const scale = (Math.min(W, H) / 2 - 28) / spread;
  const sx = (m) => W / 2 + m.x * scale;
  const sy = (m) => H / 2 - m.y * scale;
  const bar = niceLength(spread / 2);
  const inside = distance <= fence;
  const cx = sx(c);
  const cy = sy(c);
  const mid = { x: (W / 2 + cx) / 2, y: (H / 2 + cy) / 2 };
  const label = `${Math.round(distance).toLocaleString("en-GB")} m`;
  const svg = `<svg class="checkin-map" viewBox="0 0 ${W} ${H}" role="img" data-distance="${Math.round(distance)}"
      aria-label="Check-in ${label} from the shop, GPS accuracy ${Math.round(accuracy)} m" xmlns="http://www.w3.org/2000/svg">
    <defs><pattern id="grid" width="40" height="40" patternUnits="userSpaceOnUse">
      <path d="M40 0H0V40" fill="none" stroke="#dde3e9" stroke-width="1"/></pattern></defs>
    <rect width="${W}" height="${H}" fill="url(#grid)"/>
    ${fence ? `<circle data-role="geofence" cx="${W / 2}" cy="${H / 2}" r="${fence * scale}" fill="rgba(30,123,58,.08)" stroke="#1e7b3a" stroke-dasharray="6 4"><title>Geofence ${fence} m</title></circle>` : ""}
    <circle data-role="accuracy" cx="${cx}" cy="${cy}" r="${Math.max(accuracy * scale, 1)}" fill="rgba(31,95,191,.15)" stroke="#1f5fbf" stroke-width="1"><title>GPS accuracy ± ${Math.round(accuracy)} m</title></circle>
    <line x1="${W / 2}" y1="${H / 2}" x2="${cx}" y2="${cy}" stroke="#1a1d21" stroke-width="1.5" stroke-dasharray="4 3"/>
    ${others
      .map((p) => {
        const m = project(p);
        return `<circle data-role="point" cx="${sx(m)}" cy="${sy(m)}" r="3.5" fill="#fff" stroke="#5b6470" stroke-width="1.5"><title>${esc(p.label)}</title></circle>`;
      })
      .join("")}
    <g data-role="shop"><rect x="${W / 2 - 7}" y="${H / 2 - 7}" width="14" height="14" fill="#b3261e" stroke="#fff" stroke-width="2"/>
      <text x="${W / 2 + 11}" y="${H / 2 + 18}" font-size="12" fill="#1a1d21">Shop</text></g>
    <g data-role="checkin"><circle cx="${cx}" cy="${cy}" r="6" fill="#1f5fbf" stroke="#fff" stroke-width="2"/>
      <text x="${cx + 9}" y="${cy - 8}" font-size="12" fill="#1f5fbf">Check-in</text></g>
    <text data-role="distance" x="${mid.x + 6}" y="${mid.y - 6}" font-size="13" font-weight="700" fill="#1a1d21" paint-order="stroke" stroke="#eef2f5" stroke-width="3">${label}</text>
    <g data-role="scale" transform="translate(14 ${H - 16})">
      <line x1="0" y1="0" x2="${bar * scale}" y2="0" stroke="#1a1d21" stroke-width="2"/>
      <line x1="0" y1="-4" x2="0" y2="4" stroke="#1a1d21"/><line x1="${bar * scale}" y1="-4" x2="${bar * scale}" y2="4" stroke="#1a1d21"/>
      <text x="0" y="-7" font-size="11" fill="#1a1d21">${metres(bar)}</text></g>
    <g transform="translate(${W - 22} 26)"><path d="M0 -14 L6 4 L0 0 L-6 4 Z" fill="#1a1d21"/><text x="-4" y="17" font-size="11">N</text></g>
  </svg>`;
  const facts = `<div class="map-facts">
    <span>Distance <strong id="checkin-distance">${label}</strong></span>
    <span>GPS accuracy <strong>± ${Math.round(accuracy)} m</strong></span>
    ${fence ? `<span class="${inside ? "" : "error"}">${inside ? "Inside" : "Outside"} the ${fence} m geofence</span>` : ""}
  </div>`;
  return svg + facts;
}
