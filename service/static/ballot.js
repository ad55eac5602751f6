/* Ballot form: keeps the status line (money left, points left, proposals chosen) up to date
   while a resident fills in the ballot. The form works without this; the server checks every
   ballot. */
(function () {
  "use strict";
  var ballot = document.getElementById("ballot");
  var status = document.getElementById("ballot-status");
  if (!ballot || !status) { return; }
  var method = ballot.getAttribute("data-method");
  var budget = parseInt(ballot.getAttribute("data-budget"), 10);
  var points = parseInt(ballot.getAttribute("data-points"), 10);
  var locale = document.documentElement.lang === "nl" ? "nl-NL" : "en-GB";
  var euros = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" });

  function show(selector, text) {
    var target = status.querySelector(selector);
    if (target) { target.textContent = text; }
  }

  function update() {
    var over = false;
    if (method === "cumulative") {
      var given = 0;
      ballot.querySelectorAll("input.points").forEach(function (input) {
        var value = parseInt(input.value, 10);
        if (value > 0) { given += value; }
      });
      show("[data-given]", String(given));
      show("[data-points-left]", String(points - given));
      over = given > points;
    } else {
      var checked = ballot.querySelectorAll("input[type=checkbox]:checked");
      var spent = 0;
      checked.forEach(function (input) { spent += parseInt(input.getAttribute("data-cost"), 10); });
      show("[data-chosen]", String(checked.length));
      show("[data-spent]", euros.format(spent / 100));
      if (!isNaN(budget)) {
        show("[data-left]", euros.format((budget - spent) / 100));
        over = spent > budget;
      }
    }
    status.classList.toggle("over", over);
  }

  ballot.addEventListener("change", update);
  ballot.addEventListener("input", update);
})();
