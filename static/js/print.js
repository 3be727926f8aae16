// "Print" buttons (no inline script under the CSP).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
});
