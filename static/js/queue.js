// The phone's queue of diary entries not yet sent: IndexedDB, shared by the pages and
// the service worker (Background Sync). Every entry carries its own client id, so the
// server stores it once however many times it is sent, and the queue id of the diary it
// was saved for (an opaque per-patient id that signed-in pages carry in data-queue-id).
// An entry is only ever sent for its own queue id; entries of another diary stay on the
// phone until their owner signs in again or someone deletes them.
(function (scope) {
  "use strict";
  var DB = "pain-diary", STORE = "queue", REJECTED = "rejected", META = "meta";

  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 2);
      req.onupgradeneeded = function () {
        var db = req.result;
        [[STORE, "client_id"], [REJECTED, "client_id"], [META, "key"]].forEach(function (s) {
          if (!db.objectStoreNames.contains(s[0])) { db.createObjectStore(s[0], { keyPath: s[1] }); }
        });
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

  function ofQueue(queueId, same) {
    return function (item) { return same === (!!queueId && item.queue_id === queueId); };
  }

  var Queue = {
    add: function (entry) { return tx(STORE, "readwrite", function (s) { s.put(entry); }); },
    // every entry on the phone, whoever it belongs to, in the order they were made
    all: function () {
      return tx(STORE, "readonly", function (s) { return s.getAll(); }).then(function (items) {
        return (items || []).sort(function (a, b) { return a.device_time < b.device_time ? -1 : 1; });
      });
    },
    // the entries of one diary, and those of every other (or saved without a queue id)
    mine: function (queueId) { return Queue.all().then(function (items) { return items.filter(ofQueue(queueId, true)); }); },
    others: function (queueId) { return Queue.all().then(function (items) { return items.filter(ofQueue(queueId, false)); }); },
    discardOthers: function (queueId) {
      return Queue.others(queueId).then(function (items) {
        return Promise.all(items.map(function (item) { return Queue.remove(item.client_id); }));
      });
    },
    remove: function (id) { return tx(STORE, "readwrite", function (s) { s.delete(id); }); },
    rejected: function (queueId) {
      return tx(REJECTED, "readonly", function (s) { return s.getAll(); }).then(function (items) {
        return (items || []).filter(ofQueue(queueId, true));
      });
    },
    forgetRejected: function (queueId) {
      return Queue.rejected(queueId).then(function (items) {
        return tx(REJECTED, "readwrite", function (s) {
          items.forEach(function (item) { s.delete(item.client_id); });
        });
      });
    },
    // the queue id of the diary last opened on this phone (the offline page has none)
    current: function () {
      return tx(META, "readonly", function (s) { return s.get("current"); }).then(function (row) {
        return row ? row.value : "";
      });
    },
    setCurrent: function (queueId) {
      return tx(META, "readwrite", function (s) { s.put({ key: "current", value: queueId }); });
    },
    clear: function () {
      return Promise.all([STORE, REJECTED, META].map(function (store) {
        return tx(store, "readwrite", function (s) { s.clear(); });
      }));
    },
    // Send the entries of one diary (default: the one last opened) in the order they were
    // made. Stops at the first network or server failure, at 401 (not signed in) and at
    // 409 (signed in as someone else): the entries stay for later. Another refusal (4xx)
    // is final and remembered.
    flush: function (queueId) {
      var known = queueId ? Promise.resolve(queueId) : Queue.current();
      return known.then(function (id) {
        return Queue.mine(id).then(function (items) { return send(id, items); });
      });
    }
  };

  function send(queueId, items) {
    var sent = [], urgent = false;
    function stop(i, extra) {
      var result = { sent: sent, urgent: urgent, left: items.length - i };
      Object.keys(extra).forEach(function (k) { result[k] = extra[k]; });
      return result;
    }
    function next(i) {
      if (i >= items.length) { return stop(i, {}); }
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
        if (res.status >= 500) { return stop(i, { status: res.status }); }
        return res.json().catch(function () { return {}; }).then(function (body) {
          var error = body.error || String(res.status);
          if (res.status === 401 || res.status === 409) {
            return stop(i, { status: res.status, error: error });
          }
          var record = { client_id: item.client_id, queue_id: queueId, day: item.day, error: error };
          return tx(REJECTED, "readwrite", function (s) { s.put(record); })
            .then(function () { return Queue.remove(item.client_id); })
            .then(function () { return next(i + 1); });
        });
      }, function () {
        return stop(i, { offline: true });
      });
    }
    return next(0);
  }

  scope.DiaryQueue = Queue;
})(typeof self !== "undefined" ? self : window);
