// The engineers' console: keeps the note being typed on this device (a reload loses nothing),
// suggests feedback items like it while typing, links the note to one with a click, and saves
// with Ctrl+Enter. Without JavaScript the form still works: it posts and the server decides.
(function () {
  "use strict";
  var form = document.getElementById("note-form");
  if (!form) return;
  var strings = JSON.parse(document.getElementById("console-strings").textContent);
  var draftKey = form.dataset.draftKey;
  var fields = ["question", "answer", "category", "asked_by_id", "title", "feedback_item_id", "client_key"];
  var question = form.elements.question;
  var itemInput = form.elements.feedback_item_id;
  var suggestions = document.getElementById("suggestions");
  var linked = document.getElementById("linked");
  var linkedTitle = document.getElementById("linked-title");
  var newItemTitle = document.getElementById("new-item-title");
  var draftState = document.getElementById("draft-state");

  function readDraft() {
    try { return JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (error) { return null; }
  }

  function saveDraft() {
    var draft = { linkedTitle: linkedTitle.textContent };
    fields.forEach(function (name) { draft[name] = form.elements[name].value; });
    try { localStorage.setItem(draftKey, JSON.stringify(draft)); } catch (error) { return; }
    draftState.textContent = strings.kept;
  }

  function showLink(id, title) {
    itemInput.value = id || "";
    linked.hidden = !id;
    newItemTitle.hidden = !!id;
    linkedTitle.textContent = id ? title : "";
  }

  // The note the server just saved is no draft any more; any other draft comes back.
  var draft = readDraft();
  if (draft && form.dataset.saved && draft.client_key === form.dataset.saved) {
    localStorage.removeItem(draftKey);
  } else if (draft && !question.value && (draft.question || draft.answer)) {
    fields.forEach(function (name) {
      if (draft[name] !== undefined && name !== "client_key") form.elements[name].value = draft[name];
    });
    if (draft.client_key) form.elements.client_key.value = draft.client_key; // a resend is stored once
    showLink(draft.feedback_item_id, draft.linkedTitle);
    draftState.textContent = strings.restored;
  }

  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      saveDraft();
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
  form.addEventListener("submit", saveDraft);

  document.getElementById("unlink").addEventListener("click", function () {
    showLink("", "");
    saveDraft();
    question.focus();
  });

  document.querySelectorAll(".use-question").forEach(function (button) {
    button.addEventListener("click", function () {
      question.value = button.dataset.question;
      if (button.dataset.askedBy) form.elements.asked_by_id.value = button.dataset.askedBy;
      saveDraft();
      suggest();
      form.elements.answer.focus();
    });
  });

  var timer = null;
  var asked = "";
  question.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 250);
  });

  function suggest() {
    var text = question.value.trim();
    if (text === asked) return;
    asked = text;
    if (text.length < 2) { suggestions.hidden = true; return; }
    fetch(form.dataset.suggestionsUrl + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) { if (text === asked) render(body.items || []); })
      .catch(function () { /* offline: the note is still saved as a new item */ });
  }

  function render(items) {
    var list = suggestions.querySelector("ul");
    list.textContent = "";
    items.forEach(function (item) {
      var entry = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = "#" + item.id + " " + item.title + " · " + item.votes + " " + strings.votes + ", " +
        item.mentions + " " + strings.mentions;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button link-item";
      button.textContent = strings.link;
      button.addEventListener("click", function () {
        showLink(String(item.id), "#" + item.id + " " + item.title);
        saveDraft();
        form.elements.answer.focus();
      });
      entry.appendChild(label);
      entry.appendChild(button);
      list.appendChild(entry);
    });
    suggestions.hidden = items.length === 0;
  }

  if (question.value) suggest();
})();
