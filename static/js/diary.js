// The diary pages: save entries through the offline queue, send them when the network
// is back, show urgent advice at once, register the service worker.
// Whose diary a page is for: the signed-in pages carry the patient's queue id
// (data-queue-id); the offline page has none and uses the one last opened on this phone.
(function () {
  "use strict";
  var Q = window.DiaryQueue;

  function pageQueueId() {
    var el = document.querySelector("[data-queue-id]");
    return el ? el.getAttribute("data-queue-id") : "";
  }

  // The queue id entries are saved and sent for; a signed-in page also records it as the
  // diary last opened on this phone (for the offline page and the service worker).
  var knownQueueId = null;
  function queueId() {
    if (!knownQueueId) {
      var id = pageQueueId();
      knownQueueId = id ? Q.setCurrent(id).then(function () { return id; }) : Q.current();
      knownQueueId = knownQueueId.catch(function () { return id; });
    }
    return knownQueueId;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function localDay(d) {
    return d.getFullYear() + "-" + ("0" + (d.getMonth() + 1)).slice(-2) + "-" + ("0" + d.getDate()).slice(-2);
  }

  function checked(form, name) {
    var el = form.querySelector("input[name='" + name + "']:checked");
    return el ? el.value : "";
  }

  function values(form, name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name='" + name + "']:checked"),
      function (el) { return el.value; });
  }

  function setUpForm(form) {
    var status = form.querySelector("[data-entry-status]");
    var urgent = form.querySelector("[data-urgent]");
    var allergy = form.querySelectorAll("input[name='allergy_signs']");
    function toggleUrgent() {
      if (urgent) { urgent.hidden = values(form, "allergy_signs").length === 0; }
    }
    Array.prototype.forEach.call(allergy, function (el) { el.addEventListener("change", toggleUrgent); });
    toggleUrgent();

    form.addEventListener("submit", function (event) {
      if (!Q || !window.indexedDB || !window.fetch) { return; }  // plain form post
      event.preventDefault();
      var avg = checked(form, "avg"), worst = checked(form, "worst");
      if (avg === "" || worst === "") { status.textContent = form.dataset.msgMissing; return; }
      if (Number(worst) < Number(avg)) { status.textContent = form.dataset.msgWorst; return; }
      var now = new Date();
      var dayField = form.querySelector("[data-entry-day]");
      var taken = checked(form, "medication_taken");
      var entry = {
        client_id: newId(),
        queue_id: "",
        device_time: now.toISOString(),
        day: dayField.value || localDay(now),
        avg: Number(avg),
        worst: Number(worst),
        site_effects: values(form, "site_effects"),
        allergy_signs: values(form, "allergy_signs"),
        medication_taken: taken,
        medication: (form.querySelector("[name='medication']") || {}).value || "",
        note: (form.querySelector("[name='note']") || {}).value || ""
      };
      status.textContent = form.dataset.msgSending;
      queueId().then(function (id) {
        if (!id) {  // nobody has opened a diary on this phone: it is nobody's entry
          status.textContent = form.dataset.msgNoDiary;
          return;
        }
        entry.queue_id = id;
        return Q.add(entry).then(function () {
          return Q.flush(id);
        }).then(function (result) {
          if (result.sent.indexOf(entry.client_id) >= 0) {
            window.location.href = result.urgent ? "/diary/urgent" : "/home?saved=1";
            return;
          }
          if (result.error) {  // 401 or 409: kept on this phone, and why it was not sent
            status.textContent = result.error;
            return;
          }
          return Q.rejected(id).then(function (rejected) {
            var mine = rejected.filter(function (r) { return r.client_id === entry.client_id; })[0];
            if (mine) {
              status.textContent = mine.error;
              return Q.forgetRejected(id);
            }
            status.textContent = form.dataset.msgQueued;
            askForBackgroundSync();
          });
        }).catch(function () {
          status.textContent = form.dataset.msgQueued;
        });
      });
    });
  }

  function askForBackgroundSync() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.sync) { return reg.sync.register("diary-sync"); }
      }).catch(function () {});
    }
  }

  // What waits on this phone: this diary's unsent entries, why they were not sent, the
  // refusals, and the entries of another diary (not sent; they can be deleted here).
  function showQueue(box, id, result) {
    if (!box || !Q) { return Promise.resolve(); }
    var status = box.querySelector("[data-queue-status]");
    var foreign = box.querySelector("[data-queue-foreign]");
    return Promise.all([Q.mine(id), Q.rejected(id), Q.others(id)]).then(function (lists) {
      var pending = lists[0], rejected = lists[1], others = lists[2], parts = [];
      if (pending.length && result && result.error) {  // 401 or 409: kept, and why
        parts.push(box.dataset.msgKept.replace("{n}", pending.length), result.error);
      } else if (pending.length) {
        parts.push(box.dataset.msgPending.replace("{n}", pending.length));
      }
      if (result && result.sent.length && !pending.length) { parts.push(box.dataset.msgSent); }
      rejected.forEach(function (r) { parts.push(box.dataset.msgRejected + " " + r.day + ": " + r.error); });
      status.textContent = parts.join(" ");
      status.hidden = parts.length === 0;
      if (rejected.length) { Q.forgetRejected(id); }
      foreign.querySelector("[data-queue-foreign-text]").textContent =
        box.dataset.msgForeign.replace("{n}", others.length);
      foreign.hidden = others.length === 0;
    });
  }

  function setUpDiscard(box) {
    var button = box && box.querySelector("[data-queue-discard]");
    if (!button) { return; }
    button.addEventListener("click", function () {
      queueId().then(function (id) {
        return Q.discardOthers(id).then(function () {
          return showQueue(box, id, null);
        });
      }).then(function () {
        var status = box.querySelector("[data-queue-status]");
        status.textContent = [status.textContent, box.dataset.msgDiscarded].join(" ").trim();
        status.hidden = false;
        status.focus();
      });
    });
  }

  function sendQueued() {
    if (!Q || !window.indexedDB) { return; }
    var box = document.querySelector("[data-queue]");
    queueId().then(function (id) {
      return Q.flush(id).then(function (result) {
        return showQueue(box, id, result).then(function () {
          if (result.sent.length && box && box.hasAttribute("data-reload")) {
            window.setTimeout(function () { window.location.reload(); }, 1500);
          }
        });
      }, function () { return showQueue(box, id, null); });
    }).catch(function () {});
  }

  // Signing out of this phone: unsent entries would otherwise be sent for whoever signs
  // in next, so they are deleted (after a warning); the service worker and its caches go.
  function setUpSignOut() {
    var forms = document.querySelectorAll("form[action='/logout']");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.cleaned) { return; }
        event.preventDefault();
        var pending = Q && window.indexedDB ? Q.all() : Promise.resolve([]);
        pending.catch(function () { return []; }).then(function (items) {
          if (items.length && !window.confirm(form.dataset.msgUnsent)) { return; }
          var work = [];
          if (Q && window.indexedDB) { work.push(Q.clear()); }
          if ("caches" in window) {
            work.push(caches.keys().then(function (keys) {
              return Promise.all(keys.map(function (k) { return caches.delete(k); }));
            }));
          }
          if ("serviceWorker" in navigator) {
            work.push(navigator.serviceWorker.getRegistrations().then(function (regs) {
              return Promise.all(regs.map(function (r) { return r.unregister(); }));
            }));
          }
          Promise.all(work).catch(function () {}).then(function () {
            form.dataset.cleaned = "1";
            form.submit();
          });
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-entry-form]"), setUpForm);
    setUpSignOut();
    if (Q && window.indexedDB) {
      queueId();  // a signed-in page records whose diary this phone last opened
      setUpDiscard(document.querySelector("[data-queue]"));
    }
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (reg) {
        if (reg.active && navigator.onLine) { reg.active.postMessage("refresh-offline"); }
      }).catch(function () {});
    }
    if (navigator.onLine !== false) { sendQueued(); }
    window.addEventListener("online", sendQueued);
  });
})();
