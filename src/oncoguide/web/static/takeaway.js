// Copy buttons (a citation, every citation, the answer's link) and print buttons. They show only where scripts run
// (print.css: @media (scripting: enabled), no class set here: that restyled the whole page), and work by
// delegation, so pages htmx swaps in need nothing more.
(function () {
  "use strict";
  // navigator.clipboard exists only in a secure context (https or localhost); elsewhere the older way still works
  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyBySelection(text); });
    }
    return copyBySelection(text);
  }

  function announce(message) {
    var status = document.getElementById("takeaway-status");
    if (status) { status.textContent = message; }
  }

  function done(button, message) {
    announce(message);
    var label = button.firstChild;  // the visible word; a visually hidden span may follow it
    if (!label || label.nodeType !== Node.TEXT_NODE) { return; }
    if (!button.hasAttribute("data-label")) { button.setAttribute("data-label", label.nodeValue); }
    label.nodeValue = button.getAttribute("data-done") || "Copied";
    window.setTimeout(function () { label.nodeValue = button.getAttribute("data-label"); }, 2500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy], button[data-print]") : null;
    if (!button) { return; }
    if (button.hasAttribute("data-print")) { window.print(); return; }
    copy(button.getAttribute("data-copy")).then(
      function () { done(button, (button.getAttribute("data-done") || "Copied") + "."); },
      function () { announce("Could not copy. Select the text and copy it yourself."); }
    );
  });
})();
