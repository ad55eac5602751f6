// Says whether the IBAN being typed is valid, with the same check the server makes on submit
// (schwifty, through the console's /console/iban). The form works the same without this script.
(function () {
  "use strict";
  var status = document.getElementById("iban-status");
  var input = document.getElementById("iban");
  if (!status || !input || !window.fetch) { return; }
  input.setAttribute("aria-describedby",
    ((input.getAttribute("aria-describedby") || "") + " iban-status").trim());
  var timer = null;
  var asked = 0;
  function show(text, kind) {
    status.textContent = text;
    status.className = "iban-status " + kind;
  }
  function check() {
    var value = input.value.trim();
    if (value.length < 15) { show("", ""); return; }
    var mine = ++asked;
    fetch(status.dataset.checkUrl + "?value=" + encodeURIComponent(value),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (mine !== asked) { return; }
        if (answer.valid) {
          show(status.dataset.valid + (answer.bank ? " (" + answer.bank + ")" : ""), "valid");
        } else {
          show(status.dataset.invalid, "invalid");
        }
      })
      .catch(function () { show("", ""); });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
})();
