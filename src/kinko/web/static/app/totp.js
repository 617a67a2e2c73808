// TOTP (RFC 6238) over HOTP (RFC 4226), computed by WebCrypto with the token's HMAC key.
// The key is a non-extractable CryptoKey: this module signs with it and never sees its bytes.

/** The time step of `unixSeconds` (t0 = 0, as kinko and docs/activation.md use). */
export function stepAt(unixSeconds, period) {
  return Math.floor(unixSeconds / period);
}

/** Seconds until the code of `unixSeconds` changes (period .. just above 0). */
export function secondsLeft(unixSeconds, period) {
  return period - (unixSeconds % period);
}

function counterBytes(counter) {
  // 8 bytes, big-endian; a JavaScript number holds any step of the next few million years.
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, Math.floor(counter / 0x100000000));
  view.setUint32(4, counter >>> 0);
  return bytes;
}

/** HOTP(key, counter) as a string of `digits` digits (RFC 4226 §5.3, dynamic truncation). */
export async function hotp(key, counter, digits) {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, counterBytes(counter)));
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16)
    | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/**
 * The code a token shows at `unixSeconds`: `{code, step, secondsLeft}`.
 * `params` are the token's `{digits, period}` as the server sent them at activation.
 */
export async function totp(key, params, unixSeconds) {
  const step = stepAt(unixSeconds, params.period);
  return {
    code: await hotp(key, step, params.digits),
    step,
    secondsLeft: secondsLeft(unixSeconds, params.period),
  };
}

/** The code split for reading: 6 digits as 3+3 (the guide's screen), 8 as 4+4. */
export function groups(code) {
  const half = Math.ceil(code.length / 2);
  return [code.slice(0, half), code.slice(half)];
}
