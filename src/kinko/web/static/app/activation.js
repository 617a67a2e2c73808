// The app's side of docs/activation.md (X25519 + HKDF-SHA256), as kinko_token/client.py does it
// for the terminal app: a fresh key pair per activation, only its public half sent, the seed
// derived on the phone. WebCrypto's X25519 where the browser has it, else the vendored
// @noble/curves (loaded only then). The seed is derived straight into a non-extractable HMAC
// CryptoKey: after activation no script can read it back.

export const ACTIVATIONS_PATH = "/api/v1/activations";
const INFO_PREFIX = "kinko activation v1 ";
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const SEED_BITS = 160; // the protocol's 20-byte seed
/** The TOTP algorithms the protocol names, as WebCrypto calls their hashes. */
export const HASHES = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };
// A bank's codes change in a 30-second rhythm; a period far from that is not a bank's.
const PERIOD_RANGE = [10, 300];
const DIGITS_RANGE = [6, 8];
const MAX_ANSWER_BYTES = 64 * 1024;
const TIMEOUT_MS = 20000;

/**
 * Why an activation failed, for the screen to explain: `kind` is one of
 * offline (no network or no answer), rate_limited (429; `retryAfter` seconds or null),
 * refused (any other status), malformed (an answer outside the protocol), unsupported (no
 * WebCrypto: an old browser or a page not served over https).
 */
export class ActivationError extends Error {
  constructor(kind, detail, retryAfter = null) {
    super(`${kind}: ${detail}`);
    this.name = "ActivationError";
    this.kind = kind;
    this.retryAfter = retryAfter;
  }
}

// --- encoding ---------------------------------------------------------------------------

/** base64url without padding (RFC 4648 §5), as the protocol writes binary fields. */
export function b64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url field of exactly `length` bytes; else ActivationError. */
export function fromB64url(text, length, field) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*={0,2}$/.test(text)) {
    throw new ActivationError("malformed", `${field} is not base64url`);
  }
  const plain = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  let binary;
  try {
    binary = atob(plain + "=".repeat((4 - (plain.length % 4)) % 4));
  } catch {
    throw new ActivationError("malformed", `${field} is not base64url`);
  }
  if (binary.length !== length) {
    throw new ActivationError("malformed", `${field} is not ${length} bytes`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** 12 ASCII digits whose last is the Luhn check digit of the first 11. */
export function isValidSerial(serial) {
  if (typeof serial !== "string" || !/^[0-9]{12}$/.test(serial)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i += 1) {
    let digit = serial.charCodeAt(11 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** `1234 5678 9015`, as the guide and the IB screens show a serial. */
export function formatSerial(serial) {
  return serial.replace(/(\d{4})(?=\d)/g, "$1 ");
}

// --- key agreement ----------------------------------------------------------------------

/**
 * A key agreement: `publicKey` (32 bytes to send) and `hkdfKey(peerPublicKey)`, the shared
 * secret as a non-extractable HKDF key. A low-order peer key (an all-zero shared secret) is
 * refused by both implementations.
 */
export async function webCryptoAgreement(privateKey = null) {
  const subtle = crypto.subtle;
  let pair = null;
  if (privateKey === null) {
    pair = await subtle.generateKey({ name: "X25519" }, false, ["deriveKey"]);
    privateKey = pair.privateKey;
  }
  const publicKey = pair
    ? new Uint8Array(await subtle.exportKey("raw", pair.publicKey))
    : null;
  return {
    implementation: "webcrypto",
    publicKey,
    async hkdfKey(peerPublicKey) {
      const peer = await subtle.importKey("raw", peerPublicKey, { name: "X25519" }, false, []);
      return subtle.deriveKey({ name: "X25519", public: peer }, privateKey, { name: "HKDF" },
        false, ["deriveKey"]);
    },
  };
}

/** The same with the vendored pure-JS X25519; `secretKey` (32 bytes) only for tests. */
export async function fallbackAgreement(secretKey = null) {
  const { x25519 } = await import("/app/x25519-fallback.js");
  const secret = secretKey === null ? crypto.getRandomValues(new Uint8Array(KEY_LENGTH))
    : Uint8Array.from(secretKey);
  return {
    implementation: "fallback",
    publicKey: x25519.getPublicKey(secret),
    async hkdfKey(peerPublicKey) {
      const shared = x25519.getSharedSecret(secret, peerPublicKey); // throws on low order
      try {
        if (shared.every((byte) => byte === 0)) throw new Error("low-order public key");
        return await crypto.subtle.importKey("raw", shared, { name: "HKDF" }, false,
          ["deriveKey"]);
      } finally {
        shared.fill(0);
        secret.fill(0);
      }
    },
  };
}

/** WebCrypto's X25519 if this browser has it, else the vendored one. */
export async function newAgreement() {
  if (!globalThis.crypto || !crypto.subtle) {
    throw new ActivationError("unsupported", "no WebCrypto (an old browser, or not https)");
  }
  try {
    return await webCryptoAgreement();
  } catch (error) {
    if (error instanceof ActivationError) throw error;
    return fallbackAgreement(); // NotSupportedError and kin: no X25519 in this WebCrypto
  }
}

/**
 * The token's HMAC key: HKDF-SHA256(shared, salt, "kinko activation v1 " + serial, 20 bytes),
 * made by WebCrypto as a non-extractable key that can only sign.
 */
export async function deriveTokenKey(agreement, offer) {
  const info = new TextEncoder().encode(INFO_PREFIX + offer.serial);
  let hkdf;
  try {
    hkdf = await agreement.hkdfKey(offer.serverPublicKey);
  } catch (error) {
    throw new ActivationError("malformed", `unusable server_public_key (${error.name})`);
  }
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: offer.salt, info }, hkdf,
    { name: "HMAC", hash: HASHES[offer.algorithm], length: SEED_BITS }, false, ["sign"]);
}

// --- the exchange with the server ---------------------------------------------------------

/** Retry-After as whole seconds: a number, or an HTTP date counted from `nowMs`. */
export function retryAfterSeconds(value, nowMs) {
  if (!value) return null;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - nowMs) / 1000));
}

/** The 201 answer checked field by field (client.py's `_parse_answer`); the offer. */
export function parseOffer(body) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ActivationError("malformed", "the body is not a JSON object");
  }
  const text = (name) => {
    if (typeof body[name] !== "string") {
      throw new ActivationError("malformed", `${name} is missing or not a string`);
    }
    return body[name];
  };
  const integer = (name) => {
    if (!Number.isInteger(body[name])) {
      throw new ActivationError("malformed", `${name} is missing or not an integer`);
    }
    return body[name];
  };
  const serial = text("serial");
  if (!isValidSerial(serial)) {
    throw new ActivationError("malformed", "serial is not 12 digits with a valid check digit");
  }
  const serverPublicKey = fromB64url(text("server_public_key"), KEY_LENGTH, "server_public_key");
  const salt = fromB64url(text("salt"), SALT_LENGTH, "salt");
  const algorithm = text("algorithm");
  const digits = integer("digits");
  const period = integer("period");
  if (!(algorithm in HASHES) || digits < DIGITS_RANGE[0] || digits > DIGITS_RANGE[1]
      || period < PERIOD_RANGE[0] || period > PERIOD_RANGE[1]) {
    throw new ActivationError("malformed", `unsupported OTP parameters ${algorithm}/${digits}/${period}`);
  }
  const expiresAt = text("expires_at");
  if (!/(Z|[+-]\d\d:\d\d)$/.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) {
    throw new ActivationError("malformed", "expires_at is not an ISO 8601 timestamp with a zone");
  }
  return { serial, serverPublicKey, salt, algorithm, digits, period, expiresAt };
}

async function post(body) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    return await fetch(ACTIVATIONS_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      redirect: "error", // as client.py: a redirect could hand the activation to someone else
      credentials: "omit", // the activation is anonymous: no internet-banking cookie goes along
      cache: "no-store",
      signal: abort.signal,
    });
  } catch (error) {
    throw new ActivationError("offline", error.name === "AbortError" ? "no answer" : "no network");
  } finally {
    clearTimeout(timer);
  }
}

async function answerBody(response) {
  const mediaType = (response.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new ActivationError("malformed", `content type ${mediaType || "none"}, not JSON`);
  }
  const bytes = await response.arrayBuffer();
  if (bytes.byteLength > MAX_ANSWER_BYTES) {
    throw new ActivationError("malformed", "the answer is too large");
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ActivationError("malformed", "the body is not JSON");
  }
}

/**
 * Activate a new token against this origin's kinko. Returns
 * `{serial, key, algorithm, digits, period, expiresAt, activatedAt}`; every failure is an
 * ActivationError.
 */
export async function activate() {
  const agreement = await newAgreement();
  const response = await post({ client_public_key: b64url(agreement.publicKey) });
  if (response.status === 429) {
    throw new ActivationError("rate_limited", "HTTP 429",
      retryAfterSeconds(response.headers.get("retry-after"), Date.now()));
  }
  if (response.status !== 201) {
    throw new ActivationError("refused", `HTTP ${response.status}`);
  }
  const offer = parseOffer(await answerBody(response));
  const key = await deriveTokenKey(agreement, offer);
  return {
    serial: offer.serial,
    key,
    algorithm: offer.algorithm,
    digits: offer.digits,
    period: offer.period,
    expiresAt: offer.expiresAt,
    activatedAt: new Date().toISOString(),
    implementation: agreement.implementation,
  };
}
