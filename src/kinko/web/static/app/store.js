// The app's storage: IndexedDB on the phone. A token is its serial, its name, its TOTP
// parameters and its HMAC key, a non-extractable CryptoKey (IndexedDB keeps CryptoKeys as
// they are: the key can sign again after a restart but is never readable as bytes).
// Settings (the app-lock PIN's hash) live beside the tokens.

const DB_NAME = "kinko-token";
const DB_VERSION = 1;
// Set when a token is stored and cleared when the last one is removed on purpose: if tokens
// vanish while it is set, the browser dropped them (cleared data, a reinstall), and the app
// says so instead of greeting the customer as new.
const HAD_TOKENS = "kinko-token:had-tokens";

export class StorageUnavailable extends Error {}

let opened = null;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  if (opened === null) {
    opened = new Promise((resolve, reject) => {
      let req;
      try {
        req = indexedDB.open(DB_NAME, DB_VERSION);
      } catch (error) {
        reject(new StorageUnavailable(String(error)));
        return;
      }
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore("tokens", { keyPath: "serial" });
        db.createObjectStore("settings", { keyPath: "name" });
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => { db.close(); opened = null; };
        resolve(db);
      };
      req.onerror = () => reject(new StorageUnavailable(String(req.error)));
      req.onblocked = () => reject(new StorageUnavailable("blocked"));
    });
    opened.catch(() => { opened = null; });
  }
  return opened;
}

async function transaction(storeName, mode, work) {
  const db = await open();
  const tx = db.transaction(storeName, mode);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new StorageUnavailable("aborted"));
  });
  const result = await work(tx.objectStore(storeName));
  await done;
  return result;
}

/** Every stored token, oldest first. */
export async function tokens() {
  const all = await transaction("tokens", "readonly", (store) => request(store.getAll()));
  return all.sort((a, b) => (a.activatedAt < b.activatedAt ? -1 : 1));
}

export async function saveToken(token) {
  await transaction("tokens", "readwrite", (store) => request(store.put(token)));
  markHadTokens();
  // Ask the browser not to evict the app's data under storage pressure.
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
}

export async function removeToken(serial) {
  await transaction("tokens", "readwrite", (store) => request(store.delete(serial)));
  if ((await tokens()).length === 0) forgetHadTokens();
}

export async function setting(name) {
  const row = await transaction("settings", "readonly", (store) => request(store.get(name)));
  return row ? row.value : null;
}

export async function saveSetting(name, value) {
  await transaction("settings", "readwrite", (store) => request(store.put({ name, value })));
}

export async function removeSetting(name) {
  await transaction("settings", "readwrite", (store) => request(store.delete(name)));
}

/** True when this browser held tokens that are gone although none was removed in the app. */
export function hadTokens() {
  try { return localStorage.getItem(HAD_TOKENS) === "1"; } catch { return false; }
}

export function markHadTokens() {
  try { localStorage.setItem(HAD_TOKENS, "1"); } catch { /* private mode: no marker */ }
}

export function forgetHadTokens() {
  try { localStorage.removeItem(HAD_TOKENS); } catch { /* nothing to forget */ }
}
