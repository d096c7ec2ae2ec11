// The treatment-algorithm finder: show only the fields (and genotypes) that apply to the chosen condition.
// Each field carries data-conditions; a field for other conditions is hidden and disabled, so it is not sent.
(function () {
  if (window.oncoguideFinder) return; // htmx may run this script again after a boosted navigation
  window.oncoguideFinder = true;
  function apply(form) {
    var chosen = form.querySelector("#f-condition").value;
    form.querySelectorAll("[data-conditions]").forEach(function (el) {
      var off = chosen !== "" && el.dataset.conditions.split(" ").indexOf(chosen) < 0;
      el.hidden = off;
      var control = el.tagName === "OPTION" ? el : el.querySelector("select, input, textarea");
      if (control) control.disabled = off;
      if (off && el.tagName === "OPTION" && el.selected) el.parentElement.value = "";
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "f-condition" && event.target.form) apply(event.target.form);
  });
})();
