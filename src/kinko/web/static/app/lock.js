// The optional app lock: a PIN asked before any code is shown. Only a PBKDF2-SHA256 hash of
// it is stored. It keeps a person holding the unlocked phone from reading codes; it is not
// encryption (the token's key is a non-extractable CryptoKey, which cannot be wrapped).
import { removeSetting, saveSetting, setting } from "/app/store.js";

const ITERATIONS = 600000; // OWASP's figure for PBKDF2-HMAC-SHA256
const FREE_TRIES = 5;
const MAX_WAIT_SECONDS = 3600;
export const PIN_PATTERN = /^[0-9]{4,8}$/;

async function hash(pin, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin),
    "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, 256));
}

function same(a, b) {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function enabled() {
  return (await setting("pin")) !== null;
}

export async function setPin(pin) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  await saveSetting("pin", { salt, iterations: ITERATIONS, hash: await hash(pin, salt, ITERATIONS) });
  await removeSetting("pin-failures");
}

export async function clearPin() {
  await removeSetting("pin");
  await removeSetting("pin-failures");
}

/** Seconds to wait before the next try (0: try now); grows after five wrong PINs in a row. */
export async function waitSeconds(nowMs = Date.now()) {
  const failures = await setting("pin-failures");
  if (!failures || !failures.until) return 0;
  return Math.max(0, Math.ceil((failures.until - nowMs) / 1000));
}

/** True if `pin` is right; a wrong one is counted (and may impose a wait). */
export async function check(pin, nowMs = Date.now()) {
  const stored = await setting("pin");
  if (stored === null) return true;
  if ((await waitSeconds(nowMs)) > 0) return false;
  if (same(await hash(pin, stored.salt, stored.iterations), stored.hash)) {
    await removeSetting("pin-failures");
    return true;
  }
  const count = ((await setting("pin-failures")) || { count: 0 }).count + 1;
  const wait = count < FREE_TRIES ? 0
    : Math.min(MAX_WAIT_SECONDS, 30 * 2 ** (count - FREE_TRIES));
  await saveSetting("pin-failures", { count, until: wait ? nowMs + wait * 1000 : 0 });
  return false;
}
