// The diary pages: save entries through the offline queue, send them when the network
// is back (and say so, entry by entry), show urgent advice at once, register the service
// worker, ask for storage that is kept, offer to add the app to the home screen.
// Whose diary a page is for: the signed-in pages carry the patient's queue id
// (data-queue-id); the offline page has none and uses the one last opened on this phone.
(function () {
  "use strict";
  var Q = window.DiaryQueue;
  var KEPT_COOKIE = "diary_css";  // assets.KEPT_COOKIE

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

    var save = form.querySelector("button[type=submit]");
    // Save is disabled from the first tap until this entry is saved (and sent, or kept):
    // a second tap sends nothing (the server also takes an identical entry as no change)
    function busy(on) {
      form.dataset.sending = on ? "1" : "";
      if (save) { save.disabled = on; }
    }
    // back to this page from the next one (the browser's page cache): usable again
    window.addEventListener("pageshow", function (event) { if (event.persisted) { busy(false); } });

    form.addEventListener("submit", function (event) {
      if (form.dataset.sending) { event.preventDefault(); return; }
      if (!Q || !window.indexedDB || !window.fetch) { busy(true); return; }  // plain form post
      event.preventDefault();
      var avg = checked(form, "avg"), worst = checked(form, "worst");
      if (avg === "" || worst === "") { status.textContent = form.dataset.msgMissing; return; }
      if (Number(worst) < Number(avg)) { status.textContent = form.dataset.msgWorst; return; }
      // the weekly PEG and the PGIC, where the page asks them: optional, but a PEG is
      // all three answers or none (the server refuses a part of one)
      var peg = ["peg_pain", "peg_enjoyment", "peg_activity"].map(function (name) { return checked(form, name); });
      var pegGiven = peg.filter(function (v) { return v !== ""; }).length;
      var pegBox = form.querySelector("[data-peg]");
      if (pegGiven && pegGiven < 3) { status.textContent = pegBox.dataset.msgPeg; return; }
      var pgic = checked(form, "pgic");
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
      if (pegGiven) {
        entry.peg_pain = Number(peg[0]);
        entry.peg_enjoyment = Number(peg[1]);
        entry.peg_activity = Number(peg[2]);
      }
      if (pgic !== "") { entry.pgic = Number(pgic); }
      busy(true);
      status.textContent = form.dataset.msgSending;
      queueId().then(function (id) {
        if (!id) {  // nobody has opened a diary on this phone: it is nobody's entry
          status.textContent = form.dataset.msgNoDiary;
          busy(false);
          return;
        }
        entry.queue_id = id;
        return Q.add(entry).then(function () {
          return Q.flush(id);
        }).then(function (result) {
          if (result.sent.indexOf(entry.client_id) >= 0) {
            window.location.href = result.urgent ? "/diary/urgent" : "/home?saved=1";
            return;  // Save stays disabled: the page is leaving
          }
          busy(false);
          if (result.error) {  // 401 or 409: kept on this phone, and why it was not sent
            status.textContent = result.error;
            return showQueue(document.querySelector("[data-queue]"), id, result);
          }
          return Q.rejected(id).then(function (rejected) {
            var mine = rejected.filter(function (r) { return r.client_id === entry.client_id; })[0];
            if (mine) {
              status.textContent = mine.error;
              return Q.forgetRejected(id);
            }
            // kept on this phone: the line changes to "sent" when the network is back
            status.textContent = form.dataset.msgQueued;
            status.dataset.waitingFor = entry.client_id;
            askForBackgroundSync();
            keepStorage();
            return showQueue(document.querySelector("[data-queue]"), id, null);
          });
        }).catch(function () {
          busy(false);
          status.textContent = form.dataset.msgQueued;
          status.dataset.waitingFor = entry.client_id;
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
  // Each entry this page has seen waiting, by client id: {day, sent}. An entry stays
  // listed once sent, marked "sent to the clinic", until the page is left.
  var seen = {};

  function dayName(day) {
    var parts = String(day || "").split("-");
    if (parts.length !== 3 || !window.Intl) { return day; }
    var date = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
        { weekday: "long", day: "numeric", month: "long" }).format(date);
    } catch (e) { return day; }
  }

  function showEntries(box, pending, result) {
    var list = box.querySelector("[data-queue-list]");
    if (!list) { return; }
    pending.forEach(function (item) { seen[item.client_id] = { day: item.day, sent: false }; });
    ((result && result.sent) || []).forEach(function (cid) { if (seen[cid]) { seen[cid].sent = true; } });
    list.textContent = "";
    Object.keys(seen).forEach(function (cid) {
      var li = document.createElement("li");
      var info = seen[cid];
      li.className = info.sent ? "entry-sent" : "entry-kept";
      li.setAttribute("data-entry-state", info.sent ? "sent" : "kept");
      li.textContent = (info.sent ? box.dataset.msgEntrySent : box.dataset.msgEntryKept)
        .replace("{day}", dayName(info.day));
      list.appendChild(li);
    });
    list.hidden = list.children.length === 0;
  }

  function showQueue(box, id, result) {
    if (!box || !Q) { return Promise.resolve(); }
    var status = box.querySelector("[data-queue-status]");
    var foreign = box.querySelector("[data-queue-foreign]");
    return Promise.all([Q.mine(id), Q.rejected(id), Q.others(id)]).then(function (lists) {
      var pending = lists[0], rejected = lists[1], others = lists[2], parts = [];
      showEntries(box, pending, result);
      if (pending.length && result && result.error) {  // 401 or 409: kept, and why
        parts.push(box.dataset.msgKept.replace("{n}", pending.length), result.error);
      } else if (pending.length) {
        parts.push(box.dataset.msgPending.replace("{n}", pending.length));
      }
      if (result && result.sent.length && !pending.length) { parts.push(box.dataset.msgSent); }
      rejected.forEach(function (r) { parts.push(box.dataset.msgRejected + " " + r.day + ": " + r.error); });
      status.textContent = parts.join(" ");
      status.hidden = parts.length === 0;
      // only good news (everything sent): shown as such, not as a warning
      status.classList.toggle("queue-ok", !pending.length && !rejected.length);
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

  // The form's own line ("Saved on this phone...") once its entry has left the phone.
  function markSent(result) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-entry-status]"), function (line) {
      var cid = line.dataset.waitingFor;
      if (cid && result && result.sent.indexOf(cid) >= 0) {
        line.textContent = line.closest("form").dataset.msgSent;
        line.dataset.waitingFor = "";
      }
    });
  }

  function sendQueued() {
    if (!Q || !window.indexedDB) { return Promise.resolve(); }
    var box = document.querySelector("[data-queue]");
    return queueId().then(function (id) {
      return Q.flush(id).then(function (result) {
        markSent(result);
        return showQueue(box, id, result).then(function () {
          if (result.sent.length && box && box.hasAttribute("data-reload")) {
            window.setTimeout(function () { window.location.reload(); }, 1500);
          }
          return result;
        });
      }, function () { return showQueue(box, id, null); });
    }).catch(function () {});
  }

  // What is waiting on this phone, shown at once, even with no network (the offline page
  // says so too): nothing is sent here, only listed.
  function listQueued() {
    var box = document.querySelector("[data-queue]");
    if (!box || !Q || !window.indexedDB) { return; }
    queueId().then(function (id) { return showQueue(box, id, null); }).catch(function () {});
  }

  // The offline page once the network is back: it says so, sends what waits, and, when
  // nothing has been typed into its form, opens the page that was asked for.
  function setUpOfflinePage() {
    var page = document.querySelector("[data-offline-page]");
    if (!page) { return; }
    var form = document.querySelector("[data-entry-form]");
    var typed = false;
    if (form) {
      form.addEventListener("input", function () { typed = true; });
      form.addEventListener("change", function () { typed = true; });
    }
    function online() {
      page.querySelector("[data-offline-title]").textContent = page.dataset.msgOnline;
      page.querySelector("[data-offline-lead]").textContent = page.dataset.msgOnlineLead;
      page.querySelector("[data-offline-back]").hidden = false;
      sendQueued().then(function () {
        if (!typed && !(form && form.dataset.sending)) { window.location.reload(); }
      });
    }
    window.addEventListener("online", online);
  }

  // Entries kept on the phone must survive the browser's clean-ups when storage runs low:
  // ask once for persistent storage (browsers grant it to an installed app, or decide
  // from how the site is used; nothing is shown when they refuse).
  function keepStorage() {
    if (!navigator.storage || !navigator.storage.persist) { return; }
    navigator.storage.persisted().then(function (already) {
      if (!already) { return navigator.storage.persist(); }
    }).catch(function () {});
  }

  // "Add to home screen": where the browser offers to install the app, a button does it;
  // the written steps (Android, iPhone) are always on the page.
  function setUpInstall() {
    var button = document.querySelector("[data-install]");
    if (!button) { return; }
    var offer = null;
    window.addEventListener("beforeinstallprompt", function (event) {
      event.preventDefault();
      offer = event;
      button.hidden = false;
    });
    button.addEventListener("click", function () {
      if (!offer) { return; }
      offer.prompt();
      offer = null;
      button.hidden = true;
    });
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
            document.cookie = KEPT_COOKIE + "=; path=/; max-age=0";  // the caches are gone
            form.dataset.cleaned = "1";
            form.submit();
          });
        });
      });
    });
  }

  // The web app manifest, linked once the page has painted: it only serves installing,
  // and Chrome fetches it and then its icon as soon as it sees the link, two requests
  // ahead of the first paint on a slow link (see _manifest_after_paint.html).
  function linkManifest() {
    var holder = document.querySelector("template[data-manifest]");
    if (!holder || document.querySelector('link[rel="manifest"]')) { return; }
    var link = document.createElement("link");
    link.rel = "manifest";
    link.href = holder.getAttribute("data-manifest");
    document.head.appendChild(link);
  }

  // Once the service worker's cache holds the stylesheet, pages may link it instead of
  // carrying it inline (3.7 KB less per page): the cookie names the version kept.
  function noteStylesheetKept() {
    var holder = document.querySelector("template[data-stylesheet]");
    if (!holder || !("caches" in window)) { return; }
    navigator.serviceWorker.ready.then(function () {
      return caches.match(holder.getAttribute("data-stylesheet"));
    }).then(function (kept) {
      if (!kept) { return; }
      document.cookie = KEPT_COOKIE + "=" + holder.getAttribute("data-version") +
        "; path=/; max-age=31536000; samesite=lax" +
        (location.protocol === "https:" ? "; secure" : "");
    }).catch(function () {});
  }

  // fn once the first contentful paint is reported (3 s at the latest)
  function afterFirstPaint(fn) {
    var done = false;
    function once() { if (!done) { done = true; fn(); } }
    if (window.PerformanceObserver) {
      try {
        new PerformanceObserver(function (list, observer) {
          if (list.getEntriesByName("first-contentful-paint").length) {
            observer.disconnect();
            once();
          }
        }).observe({ type: "paint", buffered: true });
      } catch (e) { /* no paint timing here: the timeout below */ }
    }
    setTimeout(once, 3000);
  }

  // The script loads async (the page may paint before it runs): set up now when the page
  // has been parsed already, else when it has.
  function whenParsed(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  afterFirstPaint(linkManifest);
  whenParsed(function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-entry-form]"), setUpForm);
    setUpSignOut();
    setUpOfflinePage();
    setUpInstall();
    if (Q && window.indexedDB) {
      queueId();  // a signed-in page records whose diary this phone last opened
      setUpDiscard(document.querySelector("[data-queue]"));
      if (pageQueueId()) { keepStorage(); }
    }
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (reg) {
        if (reg.active && navigator.onLine) { reg.active.postMessage("refresh-offline"); }
      }).catch(function () {});
      noteStylesheetKept();
    }
    if (navigator.onLine !== false) { sendQueued(); } else { listQueued(); }
    if (!document.querySelector("[data-offline-page]")) {
      window.addEventListener("online", sendQueued);
    }
  });
})();
