// Review queue keyboard flow: j/k move, a approve, r reject, x select, A/R decide the whole image.
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
    li.scrollIntoView({ block: "nearest" });
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

  async function decide(verb, ids) {
    if (!ids.length) return;
    const body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    body.append("decision", verb + ":" + ids.join(","));
    const response = await fetch(form.action, {
      method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) { window.alert("The decision was not saved (" + response.status + ")."); return; }
    const result = await response.json();
    const indexBefore = current;
    ids.forEach((id) => {
      const li = form.querySelector('.ss-tag[data-tag-id="' + id + '"]');
      if (!li) return;
      li.classList.remove("is-current", "is-selected");
      li.querySelector("input[type=checkbox]").checked = false;
      li.classList.add(result.statuses[id] === "rejected" ? "is-rejected" : "is-approved");
      li.dataset.decided = result.statuses[id] || verb;
    });
    form.querySelectorAll(".ss-card").forEach((card) => {
      if (!card.querySelector(".ss-tag:not(.is-approved):not(.is-rejected)")) card.classList.add("is-done");
    });
    const waiting = document.getElementById("waiting-count");
    if (waiting) waiting.textContent = result.waiting;
    updateSelectionCount();
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
      default: return;
    }
    event.preventDefault();
  });

  focusTag(0);
})();
