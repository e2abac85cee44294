// sesame console: small enhancements over pages that work without them.
// Same-origin only (the Content-Security-Policy admits nothing else).
"use strict";
(function () {
  // The region switcher submits itself on change.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  document.querySelectorAll("[data-hide-with-js]").forEach(function (el) { el.hidden = true; });

  // Copy buttons copy the text of the element they name.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
    document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(ta); }
    return Promise.resolve();
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.dataset.copy);
      if (!el) return;
      copyText(el.textContent.trim()).then(function () {
        var was = btn.textContent;
        btn.textContent = "Copied";
        setTimeout(function () { btn.textContent = was; }, 1500);
      });
    });
  });

  // Forms that destroy something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  });

  // The custom-recipient field matters only for the "Custom recipient" scenario.
  var scenario = document.getElementById("scenario"), custom = document.getElementById("custom-recipient");
  if (scenario && custom) {
    var sync = function () {
      var on = scenario.value === "custom";
      custom.hidden = !on;
      document.getElementById("to").required = on;
    };
    scenario.addEventListener("change", sync);
    sync();
  }

  // setBadge rewrites a badge in place: same element, same width.
  function setBadge(holder, b) {
    var el = holder.querySelector(".badge");
    if (!el || !b) return;
    el.className = "badge " + b.Class;
    el.textContent = b.Label;
  }

  // poll asks url for fresh JSON every ms while the tab is visible, until
  // apply returns true (nothing left to change).
  function poll(url, ms, apply) {
    var timer = null;
    function tick() {
      if (document.hidden) { timer = setTimeout(tick, ms); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { if (!apply(data)) timer = setTimeout(tick, ms); })
        .catch(function () { timer = setTimeout(tick, ms * 3); });
    }
    timer = setTimeout(tick, ms);
  }

  var ident = document.getElementById("identity-status");
  if (ident && ident.dataset.final === "false") {
    poll(ident.dataset.statusUrl, 4000, function (d) {
      ["VerificationStatus", "DkimStatus", "MailFromStatus"].forEach(function (f) {
        var holder = ident.querySelector('[data-field="' + f + '"]');
        if (holder && d.Badges) setBadge(holder, d.Badges[f]);
      });
      var lc = ident.querySelector('[data-field="LastChecked"]');
      if (lc) { lc.textContent = d.LastCheckedAgo; lc.title = d.LastChecked; }
      return d.Settled;
    });
  }

  var rcpts = document.getElementById("recipients");
  if (rcpts && rcpts.dataset.final === "false") {
    poll(rcpts.dataset.statusUrl, 1500, function (d) {
      d.Recipients.forEach(function (r) {
        rcpts.querySelectorAll("tr[data-address]").forEach(function (tr) {
          if (tr.dataset.address !== r.Address) return;
          setBadge(tr.querySelector('[data-field="State"]'), r);
          tr.querySelector('[data-field="Attempts"]').textContent = r.Attempts;
          tr.querySelector('[data-field="LastResponse"] code').textContent = r.LastResponse;
        });
      });
      if (d.Final) rcpts.dataset.final = "true";
      return d.Final;
    });
  }
})();
