// Session form: suggest the clinic's drugs and show the one-drug-per-syringe reminder
// as soon as a second drug is entered.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var form = document.querySelector("[data-session-form]");
  if (!form) { return; }
  var reminder = form.querySelector("[data-syringe-reminder]");
  var names = form.querySelectorAll("[data-drug-row] input[name$='-name']");
  function update() {
    var filled = Array.prototype.filter.call(names, function (i) { return i.value.trim() !== ""; });
    // the threshold comes from the page (diary/session_rules.py: MIXTURE_FROM)
    reminder.hidden = filled.length < Number(reminder.getAttribute("data-mixture-from"));
  }
  Array.prototype.forEach.call(names, function (input) {
    input.setAttribute("list", "clinic-drugs");
    input.addEventListener("input", update);
  });
  update();
});
