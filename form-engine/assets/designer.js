// The editor's autosave: a change to any field of the editor posts the whole form (as the
// Save button does) after a short pause, and says so. Without script the Save button does
// the same. Served by the form engine (no CDN).
(function () {
  "use strict";
  var form = document.getElementById("editor");
  var status = document.getElementById("autosave-status");
  if (!form || !status || !window.fetch) { return; }
  var timer = null;
  function save() {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "autosave");
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) {
        status.textContent = (answer.message || "") + (reload_hint ? " " + reload_hint : "");
        // The next save starts from this one (another person's save in between is refused).
        if (answer.revision && form.elements.revision) {
          form.elements.revision.value = answer.revision;
        }
      });
    }).catch(function () {
      status.textContent = status.getAttribute("data-failed") || "";
    });
  }
  var reload_hint = "";
  form.addEventListener("change", function (event) {
    if (timer) { clearTimeout(timer); }
    // A new input type, condition or rule question changes which fields belong on the page;
    // the page is not reloaded by itself (no change of context while choosing), it says so.
    var name = event.target.name || "";
    if (/\.(input|superior|question)$/.test(name)) {
      reload_hint = status.getAttribute("data-reload") || "";
    }
    timer = setTimeout(save, 600);
  });
})();
