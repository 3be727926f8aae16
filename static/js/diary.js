// The diary pages: save entries through the offline queue, send them when the network
// is back, show urgent advice at once, register the service worker.
(function () {
  "use strict";
  var Q = window.DiaryQueue;

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
      Q.add(entry).then(function () {
        return Q.flush();
      }).then(function (result) {
        if (result.sent.indexOf(entry.client_id) >= 0) {
          window.location.href = result.urgent ? "/diary/urgent" : "/home?saved=1";
          return;
        }
        return Q.rejected().then(function (rejected) {
          var mine = rejected.filter(function (r) { return r.client_id === entry.client_id; })[0];
          if (mine) {
            status.textContent = mine.error;
            return Q.forgetRejected();
          }
          status.textContent = form.dataset.msgQueued;
          askForBackgroundSync();
        });
      }).catch(function () {
        status.textContent = form.dataset.msgQueued;
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

  function showQueue(box, result) {
    if (!box || !Q) { return; }
    Promise.all([Q.all(), Q.rejected()]).then(function (lists) {
      var pending = lists[0], rejected = lists[1], parts = [];
      if (pending.length) { parts.push(box.dataset.msgPending.replace("{n}", pending.length)); }
      if (result && result.sent.length && !pending.length) { parts.push(box.dataset.msgSent); }
      rejected.forEach(function (r) { parts.push(box.dataset.msgRejected + " " + r.day + ": " + r.error); });
      box.textContent = parts.join(" ");
      box.hidden = parts.length === 0;
      if (rejected.length) { Q.forgetRejected(); }
    });
  }

  function sendQueued() {
    if (!Q || !window.indexedDB) { return; }
    var box = document.querySelector("[data-queue-status]");
    Q.flush().then(function (result) {
      showQueue(box, result);
      if (result.sent.length && box) { window.setTimeout(function () { window.location.reload(); }, 1500); }
    }).catch(function () { showQueue(box, null); });
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
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (reg) {
        if (reg.active && navigator.onLine) { reg.active.postMessage("refresh-offline"); }
      }).catch(function () {});
    }
    if (navigator.onLine !== false) { sendQueued(); }
    window.addEventListener("online", sendQueued);
  });
})();
