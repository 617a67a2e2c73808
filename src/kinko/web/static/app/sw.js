// The phone app's service worker: it keeps the app's own files so the app opens offline
// after the first visit. Scope /app (kinko allows it with Service-Worker-Allowed). kinko
// fills in VERSION (a hash of every file below) and SHELL when it serves this file, so any
// change to the app makes a new worker, which caches the new files and drops the old ones.
// Nothing else is cached: the activation request and every other page go to the network.
const VERSION = "dev";
const SHELL = [];
const CACHE = `kinko-app-${VERSION}`;
const PAGE = "/app";
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("kinko-app-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The page itself: the network first (it carries the language the customer chose in the
// internet banking, and the newest app), the cached copy when there is no network.
async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), NETWORK_TIMEOUT_MS)),
    ]);
    if (response.ok && !response.redirected) await cache.put(PAGE, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(PAGE);
    if (cached) return cached;
    throw error;
  }
}

async function shellFile(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(request, { ignoreSearch: true })) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE || (request.mode === "navigate" && url.pathname === `${PAGE}/`)) {
    event.respondWith(page(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
});
