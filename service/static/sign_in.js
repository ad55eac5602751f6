// A console sign-in link carries the token in its fragment (#token=...), which the browser never
// sends to a server: this fills it into the form and removes it from the address bar and the
// history. Without this script the token is pasted into the form by hand.
(function () {
  "use strict";
  var match = /^#token=([A-Za-z0-9_\-]+)$/.exec(window.location.hash);
  var field = document.getElementById("token");
  if (!match || !field) { return; }
  field.value = match[1];
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  var button = field.form && field.form.querySelector("button[type=submit]");
  if (button) { button.focus(); }
})();
