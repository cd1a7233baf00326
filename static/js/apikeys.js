/*
 * Settings → API Keys: progressive enhancements. Every page works without this
 * file except the Copy button, which stays hidden until this script shows it.
 */
(function () {
  "use strict";

  function announce(region, text) {
    if (!region) return;
    // Clear first so screen readers announce the same text twice in a row.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 30);
  }

  /* Copy the shown-once key. */
  function legacyCopy(input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (err) {
      return false;
    }
  }

  function setupCopy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) return;
    var label = button.querySelector("[data-copy-label]") || button;
    var status = document.querySelector("[data-copy-status]");
    var resetTimer = null;
    button.hidden = false;

    function done(ok) {
      button.classList.toggle("is-copied", ok);
      label.textContent = ok ? "Copied" : "Copy";
      announce(status, ok ? "Copied to clipboard." : "Could not copy automatically. Select the key and press Ctrl+C (⌘C on a Mac).");
      if (!ok) input.select();
      window.clearTimeout(resetTimer);
      resetTimer = window.setTimeout(function () {
        button.classList.remove("is-copied");
        label.textContent = "Copy";
      }, 2500);
    }

    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(
          function () { done(true); },
          function () { done(legacyCopy(input)); }
        );
      } else {
        done(legacyCopy(input));
      }
    });
  }

  function setupSelectOnFocus(input) {
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("click", function () { input.select(); });
  }

  /* The create form: presets, kind, expiry date. */
  function setupKeyForm(form) {
    var scopesFieldset = form.querySelector("#scopes");
    var scopesSection = form.querySelector("[data-scopes-section]");
    var status = form.querySelector("[data-preset-status]");
    var kindInputs = form.querySelectorAll("input[name='kind']");
    var expiry = form.querySelector("select[name='expiry']");
    var expiryDate = form.querySelector("[data-expiry-date]");

    function currentKind() {
      var checked = form.querySelector("input[name='kind']:checked");
      return checked ? checked.value : "secret";
    }

    function syncKind() {
      var publishable = currentKind() === "publishable";
      if (scopesFieldset) scopesFieldset.disabled = publishable;
      if (scopesSection) scopesSection.classList.toggle("is-disabled", publishable);
    }

    function syncExpiry() {
      if (!expiry || !expiryDate) return;
      var show = expiry.value === "date";
      expiryDate.hidden = !show;
      var dateInput = expiryDate.querySelector("input");
      if (dateInput) dateInput.required = show;
    }

    Array.prototype.forEach.call(form.querySelectorAll("[data-preset-scopes]"), function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var wanted = (button.getAttribute("data-preset-scopes") || "").split(" ");
        var secret = form.querySelector("input[name='kind'][value='secret']");
        if (secret && !secret.checked) {
          secret.checked = true;
          syncKind();
        }
        Array.prototype.forEach.call(form.querySelectorAll("input[name='scopes']"), function (box) {
          if (!box.disabled) box.checked = wanted.indexOf(box.value) !== -1;
        });
        announce(status, button.textContent.trim() + " preset applied.");
      });
    });

    Array.prototype.forEach.call(kindInputs, function (input) {
      input.addEventListener("change", syncKind);
    });
    if (expiry) expiry.addEventListener("change", syncExpiry);
    syncKind();
    syncExpiry();
  }

  /* A double click must not submit a form twice. */
  function guardDoubleSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-submitting", "true");
      window.setTimeout(function () { form.removeAttribute("data-submitting"); }, 5000);
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target]"), setupCopy);
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-source]"), setupSelectOnFocus);
    Array.prototype.forEach.call(document.querySelectorAll("[data-key-form]"), setupKeyForm);
    Array.prototype.forEach.call(document.querySelectorAll("form[method='post']"), guardDoubleSubmit);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
