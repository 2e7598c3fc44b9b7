// Service worker: the app shell comes from the cache (so the app starts offline);
// the API always goes to the network (the outbox, not this worker, deals with being offline).
// Bump VERSION whenever a shell file changes so phones fetch the new shell.
const VERSION = "fieldwork-shell-v11";
const SHELL = [
  "./",
  "index.html",
  "styles.css",
  "manifest.webmanifest",
  "app.js",
  "api.js",
  "db.js",
  "outbox.js",
  "i18n.js",
  "ui.js",
  "screens.js",
  "briefing.js",
  "visit.js",
  "widgets.js",
  "emotion.js",
  "probe.js",
  "photo.js",
  "icons/icon-192.png",
  "icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(VERSION)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== VERSION).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // network only
  const scope = new URL(self.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return;
  if (request.mode === "navigate") {
    // Every page of the app is the same shell; the hash picks the screen.
    event.respondWith(caches.match("index.html", { ignoreSearch: true })
      .then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(caches.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request)));
});
