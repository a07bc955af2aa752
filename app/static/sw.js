// Voordeur's service worker: keeps the app shell so the app opens with no network.
// The build replaces VERSION with a hash of the shell, so every new build installs a new
// cache. A new worker waits until every tab of the old version is closed (no skipWaiting):
// an update never swaps the code under a builder mid-visit. Their work is not in this
// cache but in local storage, which every version reads, so an update strands nothing.
const VERSION = "__VERSION__";
const CACHE = `voordeur-shell-${VERSION}`;
// The build names the app's files by their hashes and writes the names in here.
const SHELL = ["/", "/index.html", "/app.css", "/vault.js", "/start.js", "/voordeur-app.js",
  "/voordeur-app_bg.wasm", "/manifest.webmanifest", "/icon.svg", "/icon-192.png",
  "/icon-512.png", "/icon-maskable-512.png", "/icon-apple-180.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((key) => key.startsWith("voordeur-shell-") && key !== CACHE)
      .map((key) => caches.delete(key)))));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  // Sync and everything else under /api always go to the server.
  if (event.request.method !== "GET" || url.origin !== self.location.origin
      || url.pathname.startsWith("/api/") || url.pathname === "/healthz") {
    return;
  }
  // The shell comes from the cache; a navigation to any screen gets the app's page.
  const key = event.request.mode === "navigate" ? "/index.html" : url.pathname;
  event.respondWith(caches.open(CACHE).then((cache) =>
    cache.match(key).then((hit) => hit || fetch(event.request))));
});
