// The phone's queue of diary entries not yet sent: IndexedDB, shared by the pages and
// the service worker (Background Sync). Every entry carries its own client id, so the
// server stores it once however many times it is sent.
(function (scope) {
  "use strict";
  var DB = "pain-diary", STORE = "queue", REJECTED = "rejected";

  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore(STORE, { keyPath: "client_id" });
        req.result.createObjectStore(REJECTED, { keyPath: "client_id" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result = work(t.objectStore(store));
        t.oncomplete = function () { db.close(); resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }

  var Queue = {
    add: function (entry) { return tx(STORE, "readwrite", function (s) { s.put(entry); }); },
    all: function () {
      return tx(STORE, "readonly", function (s) { return s.getAll(); }).then(function (items) {
        return (items || []).sort(function (a, b) { return a.device_time < b.device_time ? -1 : 1; });
      });
    },
    remove: function (id) { return tx(STORE, "readwrite", function (s) { s.delete(id); }); },
    rejected: function () { return tx(REJECTED, "readonly", function (s) { return s.getAll(); }); },
    forgetRejected: function () { return tx(REJECTED, "readwrite", function (s) { s.clear(); }); },
    clear: function () {
      return Promise.all([tx(STORE, "readwrite", function (s) { s.clear(); }), Queue.forgetRejected()]);
    },
    // Send queued entries in the order they were made. Stops at the first network or
    // server failure (kept for later); a refusal (4xx) is final and remembered.
    flush: function () {
      return Queue.all().then(function (items) {
        var sent = [], urgent = false;
        function next(i) {
          if (i >= items.length) { return { sent: sent, urgent: urgent, left: 0 }; }
          var item = items[i];
          return fetch("/api/entries", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json" },
            body: JSON.stringify(item)
          }).then(function (res) {
            if (res.ok) {
              return res.json().then(function (body) {
                sent.push(item.client_id);
                urgent = urgent || !!body.urgent;
                return Queue.remove(item.client_id).then(function () { return next(i + 1); });
              });
            }
            if (res.status === 401 || res.status >= 500) {
              return { sent: sent, urgent: urgent, left: items.length - i, status: res.status };
            }
            return res.json().catch(function () { return {}; }).then(function (body) {
              var record = { client_id: item.client_id, day: item.day, error: body.error || String(res.status) };
              return tx(REJECTED, "readwrite", function (s) { s.put(record); })
                .then(function () { return Queue.remove(item.client_id); })
                .then(function () { return next(i + 1); });
            });
          }, function () {
            return { sent: sent, urgent: urgent, left: items.length - i, offline: true };
          });
        }
        return next(0);
      });
    }
  };
  scope.DiaryQueue = Queue;
})(typeof self !== "undefined" ? self : window);
