// How the dashboard writes the results API's numbers. Missing figures read "—".
export const DASH = "—";

/** A 0–100 score with one decimal. */
export function score(value) {
  return value == null ? DASH : value.toFixed(1);
}

/** A share 0…1 as a whole percentage. */
export function rate(value) {
  return value == null ? DASH : `${Math.round(value * 100)}%`;
}

/** An emotion index −1…+1 with its sign and two decimals. */
export function index(value) {
  if (value == null) return DASH;
  const text = value.toFixed(2);
  return value > 0 ? `+${text}` : text;
}

export function count(value) {
  return value == null ? DASH : String(value);
}

export const LEVELS = ["basis", "ease", "emotion"];
export const LEVEL_NAMES = { basis: "Basis", ease: "Ease", emotion: "Emotion" };
export const CHANNELS = { physical: "Store", online: "Online", phone: "Phone" };

export function levelName(level) {
  return level ? LEVEL_NAMES[level] || level : DASH;
}
