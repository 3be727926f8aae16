// Service worker: keeps the app shell (CSS, JS, icons, the offline entry page) so the
// diary opens without a network. It never stores signed-in pages or API answers.
importScripts("/static/js/queue.js");

var CACHE = "pain-diary-shell-v2";
var SHELL = [
  "/offline",
  "/static/css/app.css",
  "/static/js/queue.js",
  "/static/js/diary.js",
  "/static/icons/icon.svg",
  "/static/icons/icon-192.png"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    // Pages come from the network only; offline, the cached empty entry form stands in.
    event.respondWith(fetch(request).catch(function () {
      return caches.match("/offline");
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    // App shell files: answer from the cache, refresh it in the background. A cache
    // deleted at sign-out is not recreated here. Pages ask for versioned URLs
    // ("?v=<digest>"); the cache keeps one copy per file, under its plain path.
    event.respondWith(caches.has(CACHE).then(function (present) {
      if (!present) { return fetch(request); }
      return caches.open(CACHE).then(function (cache) {
        return cache.match(request, { ignoreSearch: true }).then(function (hit) {
          var fresh = fetch(request).then(function (res) {
            if (res.ok) { cache.put(url.pathname, res.clone()); }
            return res;
          });
          return hit || fresh;
        });
      });
    }));
  }
  // everything else (API, PDFs, calendar): network only, never cached
});

// Background Sync sends the entries of the diary last opened on this phone only; the
// server refuses (409) an entry whose queue id is not the signed-in patient's.
self.addEventListener("sync", function (event) {
  if (event.tag === "diary-sync") { event.waitUntil(self.DiaryQueue.flush()); }
});

self.addEventListener("message", function (event) {
  if (event.data === "refresh-offline") {
    event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.add("/offline"); }));
  }
});
