// « Ajouter un financement » without a round trip: clones the formset's empty form.
// Without JavaScript the button submits the form and the server adds the line.
(function () {
  "use strict";
  var button = document.getElementById("add-financing");
  var template = document.getElementById("financing-empty");
  var lines = document.getElementById("financing-lines");
  if (!button || !template || !lines) return;
  var prefix = lines.dataset.prefix;
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
  button.addEventListener("click", function (event) {
    var index = parseInt(total.value, 10);
    if (max && index >= parseInt(max.value, 10)) return; // the server says why
    event.preventDefault();
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    lines.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = lines.lastElementChild.querySelector("select, input");
    if (first) first.focus();
  });
})();
