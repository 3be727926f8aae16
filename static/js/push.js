// Reminder page: turn Web Push notifications on or off for this phone. "Turn on" asks
// for permission from the tap itself (iOS requires a user gesture), subscribes with the
// server's key and sends the subscription (endpoint and keys) to the server. On every
// load, a phone the server knows as subscribed sends its subscription again when the
// browser's one changed (or subscribes again when the browser dropped it).
(function () {
  "use strict";

  function keyBytes(text) {
    var b64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function fingerprint(endpoint) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint)).then(hex);
  }

  function csrfToken() {
    var input = document.querySelector("input[name='csrf_token']");
    return input ? input.value : "";
  }

  function send(box, subscription) {
    return fetch(box.getAttribute("data-push-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(subscription.toJSON ? subscription.toJSON() : subscription)
    }).then(function (res) {
      if (!res.ok) { throw new Error("refused: " + res.status); }
      return res.json();
    });
  }

  function subscribe(registration, key) {
    var options = { userVisibleOnly: true, applicationServerKey: keyBytes(key) };
    return registration.pushManager.subscribe(options).catch(function () {
      // subscribed with another key (a server key that changed): start again
      return registration.pushManager.getSubscription().then(function (old) {
        if (!old) { throw new Error("cannot subscribe"); }
        return old.unsubscribe().then(function () {
          return registration.pushManager.subscribe(options);
        });
      });
    });
  }

  function say(box, text) {
    var status = box.querySelector("[data-push-status]");
    status.textContent = text;
    status.hidden = !text;
  }

  function done(box, state) { box.setAttribute("data-push-state", state); }

  // the server has this phone's subscription: keep it current
  function refresh(box, registration) {
    var key = box.getAttribute("data-push-key");
    return registration.pushManager.getSubscription().then(function (current) {
      if (!current) {
        if (Notification.permission !== "granted") { return "unchanged"; }
        return subscribe(registration, key).then(function (sub) {
          return send(box, sub).then(function () { return "sent"; });
        });
      }
      return fingerprint(current.endpoint).then(function (print) {
        if (print === box.getAttribute("data-push-fingerprint")) { return "unchanged"; }
        return send(box, current).then(function () { return "sent"; });
      });
    });
  }

  function setUp(box) {
    var start = box.querySelector("[data-push-start]");
    var stop = box.querySelector("[data-push-stop]");
    var supported = "serviceWorker" in navigator && "PushManager" in window &&
      "Notification" in window && window.isSecureContext;
    if (!supported) {
      var note = box.querySelector("[data-push-unsupported]");
      if (note) { note.hidden = false; }
      done(box, "unsupported");
      return;
    }
    var ready = navigator.serviceWorker.ready;
    if (start) {
      start.hidden = false;
      start.addEventListener("click", function () {
        start.disabled = true;
        say(box, "");
        // asked first, from the tap: the permission prompt needs the user's gesture
        Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") {
            say(box, box.getAttribute("data-msg-denied"));
            start.disabled = false;
            done(box, "denied");
            return null;
          }
          return ready.then(function (registration) {
            return subscribe(registration, box.getAttribute("data-push-key"));
          }).then(function (sub) { return send(box, sub); }).then(function () {
            done(box, "on");
            window.location.reload();
          });
        }).catch(function () {
          say(box, box.getAttribute("data-msg-failed"));
          start.disabled = false;
          done(box, "failed");
        });
      });
      done(box, "off");
    }
    if (stop) {
      stop.addEventListener("submit", function (event) {
        if (stop.dataset.cleaned) { return; }
        event.preventDefault();
        ready.then(function (registration) {
          return registration.pushManager.getSubscription();
        }).then(function (sub) { return sub ? sub.unsubscribe() : null; })
          .catch(function () {}).then(function () {
            stop.dataset.cleaned = "1";
            stop.submit();
          });
      });
    }
    if (box.getAttribute("data-push-on") === "1") {
      ready.then(function (registration) { return refresh(box, registration); })
        .then(function (state) { done(box, state); })
        .catch(function () { done(box, "failed"); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-push]");
    if (box) { setUp(box); }
  });
})();
