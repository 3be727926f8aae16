// Service worker: keeps the app shell (CSS, JS, icons, the offline entry page) so the
// diary opens without a network. It never stores signed-in pages or API answers.
// The server puts BUILD above this file: the release's version and the shell's
// content-hashed URLs. A release changes BUILD, so the phone installs the new worker,
// which precaches the new URLs and drops every older cache.
importScripts(BUILD.queue);

var CACHE = "pain-diary-shell-" + BUILD.version;
var SHELL = BUILD.shell;
var HASHED = /\.[0-9a-f]{10}\.[a-z0-9]+$/;

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
    // App shell files: a hashed URL never changes, so the cached copy is answered without
    // asking the network; other static files are kept once fetched. A cache deleted at
    // sign-out is not recreated here.
    event.respondWith(caches.has(CACHE).then(function (present) {
      if (!present) { return fetch(request); }
      return caches.open(CACHE).then(function (cache) {
        return cache.match(request).then(function (hit) {
          return hit || fetch(request).then(function (res) {
            if (res.ok && HASHED.test(url.pathname)) { cache.put(request, res.clone()); }
            return res;
          });
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

// Web Push: the daily reminder. Every message shows a notification (browsers require it);
// the server sends only fixed words and the diary's address, and a message that cannot
// be read still shows the reminder in the words BUILD carries.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var notice = BUILD.notice || {};
  var title = typeof data.title === "string" && data.title ? data.title : notice.title;
  var body = typeof data.body === "string" && data.body ? data.body : notice.body;
  var url = typeof data.url === "string" ? data.url : "/diary/entry";
  event.waitUntil(self.registration.showNotification(title, {
    body: body,
    icon: BUILD.icon,
    tag: "diary-reminder",
    data: { url: url }
  }));
});

// A tap opens the diary entry page (only ever a page of this site), in a window of the
// app already open when there is one.
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var wanted = (event.notification.data && event.notification.data.url) || "/diary/entry";
  var target = new URL(wanted, self.location.origin);
  if (target.origin !== self.location.origin) { target = new URL("/diary/entry", self.location.origin); }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if ("navigate" in windows[i] && "focus" in windows[i]) {
          return windows[i].navigate(target.href).then(function (w) { return w && w.focus(); });
        }
      }
      return self.clients.openWindow(target.href);
    }));
});

// The push service replaced this phone's subscription (Firefox says so with this event;
// elsewhere the reminder page notices on its next visit): send the new one, so reminders
// keep coming. The server takes it only in place of a subscription this phone had.
function renewSubscription(old, fresh) {
  var next = fresh ? Promise.resolve(fresh)
    : old && old.options ? self.registration.pushManager.subscribe(old.options)
    : Promise.resolve(null);
  return next.then(function (subscription) {
    if (!subscription) { return null; }
    return fetch(BUILD.pushRenew, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(subscription.toJSON())
    });
  }).catch(function () { return null; });
}

self.addEventListener("pushsubscriptionchange", function (event) {
  event.waitUntil(renewSubscription(event.oldSubscription, event.newSubscription));
});
