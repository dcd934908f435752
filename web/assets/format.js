// Number and time formats, one place (tests read the same rules).

export function usd(v) {
  if (v == null || Number.isNaN(v)) return "—";
  const a = Math.abs(v);
  const digits = a === 0 ? 2 : a < 0.01 ? 6 : a < 1 ? 4 : 2;
  return "$" + v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
export const int = (v) => (v == null ? "—" : Number(v).toLocaleString("en-US"));
export const ms = (v) => (v == null ? "—" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms");
export const pct = (v) => (v == null || Number.isNaN(v) ? "—" : (v * 100).toFixed(1) + " %");
export function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString("en-GB", { hour12: false });
}
export function short(s, n = 14) { s = String(s ?? ""); return s.length > n ? s.slice(0, n - 1) + "…" : s; }
// Minutes east of UTC, as the API's tz_offset wants it.
export const browserOffset = () => -new Date().getTimezoneOffset();
export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
