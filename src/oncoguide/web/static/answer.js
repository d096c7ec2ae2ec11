// The answer page as a reading tool (issue 19, part 1). Without this script every link still works: the
// contents fold open by a tap, and a citation mark jumps to its reference.
// - the table of contents is open where it is a side rail (a wide screen);
// - a citation mark shows a preview of its reference on hover, on keyboard focus and on a tap (a first tap
//   previews, a second follows the link); the card sits right after the mark, so Tab reaches its links
//   next, and Escape closes it. Listeners are on the document, so pages htmx swaps in need no set-up.
(function () {
  "use strict";
  var WIDE = window.matchMedia("(min-width: 1024px)");
  var card = null; // the preview card shown, if any
  var owner = null; // the citation link it belongs to
  var hideTimer = 0;
  var lastPointer = "mouse";
  var pressed = null; // the element a pointer went down on: its focus is the pointer's, not the keyboard's
  var quiet = null; // a link given back its focus by Escape, which should not reopen its card

  function railOpen() {
    var toc = document.querySelector(".toc details");
    if (toc && WIDE.matches) toc.open = true;
  }

  function citeOf(el) {
    return el && el.closest ? el.closest("sup.cite a[data-ref]") : null;
  }

  function hide() {
    clearTimeout(hideTimer);
    if (!card) return;
    card.remove();
    if (owner) {
      owner.setAttribute("aria-expanded", "false");
      owner.removeAttribute("aria-describedby");
    }
    card = owner = null;
  }

  function place(link) {
    var r = link.getBoundingClientRect();
    var width = card.offsetWidth;
    var left = Math.max(8, Math.min(r.left, document.documentElement.clientWidth - width - 8));
    card.style.left = left + window.scrollX + "px";
    card.style.top = r.bottom + window.scrollY + 6 + "px";
  }

  function show(link) {
    clearTimeout(hideTimer);
    if (owner === link) return;
    hide();
    var n = link.getAttribute("data-ref");
    var entry = document.getElementById("ref-" + n);
    var tpl = entry && entry.querySelector("template.ref-preview");
    if (!tpl) return;
    card = document.createElement("div");
    card.className = "cite-preview";
    card.id = "cite-preview";
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", "Reference " + n);
    card.appendChild(tpl.content.cloneNode(true));
    var jump = document.createElement("a");
    jump.className = "ref-jump";
    jump.href = "#ref-" + n;
    jump.textContent = "Go to reference " + n + " in the list";
    var p = document.createElement("span");
    p.appendChild(jump);
    card.appendChild(p);
    link.parentNode.insertAdjacentElement("afterend", card);
    owner = link;
    link.setAttribute("aria-expanded", "true");
    link.setAttribute("aria-describedby", "cite-preview");
    place(link);
  }

  function inside(el) {
    return !!el && ((card && card.contains(el)) || (owner && owner.contains(el)));
  }

  function later() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, 300);
  }

  document.addEventListener("pointerdown", function (e) {
    lastPointer = e.pointerType || "mouse";
    pressed = e.target;
    if (card && !inside(e.target) && !citeOf(e.target)) hide();
  });
  document.addEventListener("mouseover", function (e) {
    if (lastPointer === "touch") return;
    var link = citeOf(e.target);
    if (link) show(link);
    else if (inside(e.target)) clearTimeout(hideTimer);
  });
  document.addEventListener("mouseout", function (e) {
    if (lastPointer !== "touch" && card && inside(e.target) && !inside(e.relatedTarget)) later();
  });
  document.addEventListener("focusin", function (e) {
    var link = citeOf(e.target);
    if (link && (link === quiet || link === citeOf(pressed))) {
      quiet = null;
      return;
    }
    if (link) show(link);
    else if (inside(e.target)) clearTimeout(hideTimer);
    else hide();
  });
  document.addEventListener("click", function (e) {
    pressed = null;
    var link = citeOf(e.target);
    if (!link) {
      if (card && e.target.closest && e.target.closest(".ref-jump")) hide();
      return;
    }
    // a tap previews first (a touch screen has no hover); a second tap, or a click, follows the link
    if (lastPointer === "touch" && owner !== link) {
      e.preventDefault();
      show(link);
    } else if (lastPointer === "touch") {
      hide();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && card) {
      var link = owner;
      hide();
      quiet = link;
      if (link) link.focus({ preventScroll: true });
    }
  });
  window.addEventListener("resize", function () {
    if (card && owner) place(owner);
  });

  if (WIDE.addEventListener) WIDE.addEventListener("change", railOpen);
  document.addEventListener("DOMContentLoaded", railOpen);
  document.addEventListener("htmx:afterSettle", function () {
    hide();
    railOpen();
  });
})();
