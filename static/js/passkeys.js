// Passkeys (WebAuthn): add one on "My account", or use one at the second step of signing
// in. Shown only where the browser has window.PublicKeyCredential. The server sends the
// options as JSON (bytes in base64url) and checks the answer; see diary/views/mfa.py and
// diary/views/auth.py.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var box = document.querySelector("[data-passkey]");
  if (!box || !window.PublicKeyCredential || !navigator.credentials) { return; }
  var mode = box.getAttribute("data-passkey"); // "register" or "signin"
  var button = box.querySelector("[data-passkey-start]");
  var error = box.querySelector("[data-passkey-error]");
  box.hidden = false;

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.getAttribute("data-csrf") },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || ""); }
        return data;
      });
    });
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBytes(d.id), transports: d.transports };
    });
  }

  // The credential as JSON, with its byte fields (named in `fields`) in base64url.
  function asJSON(cred, fields) {
    var r = cred.response;
    var response = {};
    fields.forEach(function (name) { if (r[name]) { response[name] = toText(r[name]); } });
    return {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined
    };
  }

  function register(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    return navigator.credentials.create({ publicKey: options }).then(function (cred) {
      var answer = asJSON(cred, ["clientDataJSON", "attestationObject"]);
      answer.response.transports = cred.response.getTransports ? cred.response.getTransports() : [];
      return answer;
    });
  }

  function authenticate(options) {
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    return navigator.credentials.get({ publicKey: options }).then(function (cred) {
      return asJSON(cred, ["clientDataJSON", "authenticatorData", "signature", "userHandle"]);
    });
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    error.hidden = true;
    post(box.getAttribute("data-options-url"))
      .then(mode === "register" ? register : authenticate)
      .then(function (answer) { return post(box.getAttribute("data-url"), answer); })
      .then(function (data) { window.location.assign(data.next); })
      .catch(function (e) {
        // the server's translated message, or ours when the browser itself refused
        error.textContent = (e && e.name === "Error" && e.message) ? e.message
          : box.getAttribute("data-msg-failed");
        error.hidden = false;
        button.disabled = false;
      });
  });
});
