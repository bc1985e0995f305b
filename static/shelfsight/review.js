// Review queue keyboard flow: j/k move, a approve, r reject, x select, A/R decide the whole image,
// u undo the last decision.
// Decisions are posted to the same endpoint the buttons use, so the page also works without JS.
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let current = -1;

  const pending = () => Array.from(form.querySelectorAll(".ss-tag:not(.is-approved):not(.is-rejected)"));
  const selected = () => pending().filter((li) => li.classList.contains("is-selected"));
  const currentTag = () => pending()[current] || null;

  function focusTag(index) {
    const tags = pending();
    form.querySelectorAll(".ss-tag.is-current").forEach((li) => li.classList.remove("is-current"));
    form.querySelectorAll(".ss-card.is-current-card").forEach((c) => c.classList.remove("is-current-card"));
    if (!tags.length) { current = -1; return; }
    current = Math.max(0, Math.min(index, tags.length - 1));
    const li = tags[current];
    li.classList.add("is-current");
    li.closest(".ss-card").classList.add("is-current-card");
    li.focus({ preventScroll: true });
    // Vertical only: scrolling sideways to a chip would shift the whole page on a narrow screen.
    li.scrollIntoView({ block: "nearest", inline: "nearest" });
    window.scrollTo({ left: 0, top: window.scrollY });
  }

  function updateSelectionCount() {
    const counter = document.getElementById("selection-count");
    if (counter) counter.textContent = selected().length + " selected";
  }

  function toggleSelect(li) {
    const box = li.querySelector("input[type=checkbox]");
    box.checked = !box.checked;
    li.classList.toggle("is-selected", box.checked);
    updateSelectionCount();
  }

  const undoForm = document.getElementById("undo-form");
  const undoButton = document.getElementById("undo-button");

  function showUndo(available) {
    if (undoButton) undoButton.hidden = !available;
  }

  async function post(url, fields) {
    const body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    Object.entries(fields).forEach(([name, value]) => body.append(name, value));
    const response = await fetch(url, {
      method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) { window.alert("Not saved (" + response.status + ")."); return null; }
    return response.json();
  }

  function refreshCards(result) {
    form.querySelectorAll(".ss-card").forEach((card) => {
      card.classList.toggle("is-done", !card.querySelector(".ss-tag:not(.is-approved):not(.is-rejected)"));
    });
    const waiting = document.getElementById("waiting-count");
    if (waiting) waiting.textContent = result.waiting;
    showUndo(result.undo > 0);
    updateSelectionCount();
  }

  async function undo() {
    if (!undoForm) return;
    const result = await post(undoForm.action, {});
    if (!result) return;
    Object.entries(result.statuses).forEach(([id, status]) => {
      const li = form.querySelector('.ss-tag[data-tag-id="' + id + '"]');
      if (!li || status !== "needs_review") return;
      li.classList.remove("is-approved", "is-rejected");
      delete li.dataset.decided;
    });
    refreshCards(result);
    focusTag(current < 0 ? 0 : current);
  }

  if (undoForm) {
    undoForm.addEventListener("submit", (event) => { event.preventDefault(); undo(); });
  }

  async function decide(verb, ids) {
    if (!ids.length) return;
    const result = await post(form.action, { decision: verb + ":" + ids.join(",") });
    if (!result) return;
    const indexBefore = current;
    ids.forEach((id) => {
      const li = form.querySelector('.ss-tag[data-tag-id="' + id + '"]');
      if (!li) return;
      li.classList.remove("is-current", "is-selected");
      li.querySelector("input[type=checkbox]").checked = false;
      li.classList.add(result.statuses[id] === "rejected" ? "is-rejected" : "is-approved");
      li.dataset.decided = result.statuses[id] || verb;
    });
    refreshCards(result);
    focusTag(indexBefore);
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "product_tag_ids") {
      event.target.closest(".ss-tag").classList.toggle("is-selected", event.target.checked);
      updateSelectionCount();
    }
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches && target.matches("select, input[type=text], textarea")) return;
    const li = currentTag();
    const card = li && li.closest(".ss-card");
    const cardIds = card ? Array.from(card.querySelectorAll(".ss-tag:not(.is-approved):not(.is-rejected)")).map((t) => t.dataset.tagId) : [];
    const chosen = selected().map((t) => t.dataset.tagId);
    switch (event.key) {
      case "j": focusTag(current + 1); break;
      case "k": focusTag(current - 1); break;
      case "x": if (li) toggleSelect(li); break;
      case "a": decide("approve", chosen.length ? chosen : li ? [li.dataset.tagId] : []); break;
      case "r": decide("reject", chosen.length ? chosen : li ? [li.dataset.tagId] : []); break;
      case "A": decide("approve", cardIds); break;
      case "R": decide("reject", cardIds); break;
      case "u": undo(); break;
      default: return;
    }
    event.preventDefault();
  });

  focusTag(0);
})();
