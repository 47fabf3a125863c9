// Refreshes the dashboard's figures in place: polls /api/figures and rewrites every [data-key] element's text.
// No framework, no external resource. When the set of figures changes (a new channel, a new day), the page
// says so and offers a reload instead of rebuilding tables under a keyboard user's focus.
(function () {
  "use strict";
  var main = document.getElementById("contenu");
  if (!main) { return; }
  var seconds = parseInt(main.getAttribute("data-refresh"), 10) || 30;
  var granularity = main.getAttribute("data-granularity") || "day";
  var status = document.getElementById("refresh-status");
  var warned = false;

  function update(data) {
    var values = data.values || {};
    if (status && !warned) { status.textContent = ""; }
    var nodes = main.querySelectorAll("[data-key]");
    for (var i = 0; i < nodes.length; i++) {
      var key = nodes[i].getAttribute("data-key");
      if (Object.prototype.hasOwnProperty.call(values, key) && nodes[i].textContent !== values[key]) {
        nodes[i].textContent = values[key];
      }
    }
    var line = main.querySelector(".rate-line");
    if (line && data.chart && data.layout === main.getAttribute("data-layout")) {
      line.setAttribute("points", data.chart.polyline);
      var dots = main.querySelectorAll(".rate-dot");
      for (var j = 0; j < dots.length && j < data.chart.dots.length; j++) {
        dots[j].setAttribute("cy", data.chart.dots[j].y);
      }
    }
    if (data.layout !== main.getAttribute("data-layout") && !warned && status) {
      warned = true;
      status.innerHTML = "";
      status.appendChild(document.createTextNode("De nouveaux chiffres sont disponibles. "));
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = "Recharger la page";
      status.appendChild(link);
    }
  }

  function poll() {
    fetch("/api/figures?periode=" + encodeURIComponent(granularity), {credentials: "same-origin",
                                                                       headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(update)
      .catch(function () {
        if (status && !warned) { status.textContent = "Actualisation impossible pour le moment ; nouvel essai bientôt."; }
      })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }
  window.setTimeout(poll, seconds * 1000);
}());
