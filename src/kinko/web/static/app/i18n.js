// The app's texts: Japanese first, English second, in /app/messages.json (served by kinko
// with the bank's name and help-desk line from the internet banking's own texts). The
// language is the page's <html lang>, which kinko sets from the IB's language switch.

let table = {};
let lang = "ja";

export async function load() {
  lang = document.documentElement.lang === "en" ? "en" : "ja";
  const response = await fetch("/app/messages.json", { credentials: "omit" });
  table = await response.json();
}

export function language() {
  return lang;
}

/** The text `id` in the page's language, `{name}` placeholders filled from `params`. */
export function t(id, params = {}) {
  const entry = table[id];
  const text = entry ? (entry[lang] || entry.ja) : id;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A date in the customer's words: 2026年12月26日 / 26 Dec 2026 (Japan time). */
export function date(iso) {
  const options = { year: "numeric", month: lang === "ja" ? "long" : "short", day: "numeric",
    timeZone: "Asia/Tokyo" };
  return new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-GB", options).format(new Date(iso));
}
