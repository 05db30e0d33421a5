// The row actions of a long list (admin/lean_change_list_results.html): one menu for the page,
// kept in <template id="adt-row-actions">, opened beside the row's button with that row's id in
// its links. Rows carry a button only, not a hidden copy of the menu each. Escape, a click
// elsewhere or Tab closes it; the arrow keys, Home and End move between its items.
(function () {
  "use strict";

  const template = document.getElementById("adt-row-actions");
  if (!template) {
    return;
  }
  const placeholder = template.dataset.placeholder;
  let open = null; // {menu, button}

  function close(refocus) {
    if (!open) {
      return;
    }
    const { menu, button } = open;
    open = null;
    menu.remove();
    button.setAttribute("aria-expanded", "false");
    if (refocus) {
      button.focus();
    }
  }

  function items() {
    return open ? Array.from(open.menu.querySelectorAll("[role=menuitem]")) : [];
  }

  // What cannot succeed on this row: left out ("" as the reason), or shown disabled with why.
  function refuse(menu, refusals) {
    for (const link of menu.querySelectorAll("[data-row-action]")) {
      const reason = refusals[link.dataset.rowAction];
      if (reason === "") {
        link.remove();
      } else if (reason) {
        link.removeAttribute("href");
        link.setAttribute("aria-disabled", "true");
        link.setAttribute("tabindex", "-1");
        link.classList.add("adt-menu-disabled");
        const why = document.createElement("span");
        why.className = "adt-menu-why";
        why.textContent = reason;
        link.append(why);
      }
    }
    if (!menu.querySelector("[role=menuitem]")) {
      const none = document.createElement("span");
      none.className = "adt-menu-none";
      none.textContent = template.dataset.empty;
      menu.append(none);
    }
  }

  // Beside the button (below it, or above when there is no room), or closed when the button
  // has left the screen (a scroll took it away).
  function place() {
    const { menu, button } = open;
    const at = button.getBoundingClientRect();
    if (!at.width || at.bottom < 0 || at.top > window.innerHeight || at.right < 0 || at.left > window.innerWidth) {
      close(false);
      return;
    }
    const below = at.bottom + 4 + menu.offsetHeight <= window.innerHeight;
    menu.style.top = `${below ? at.bottom + 4 : Math.max(4, at.top - 4 - menu.offsetHeight)}px`;
    menu.style.left = `${Math.max(4, at.right - menu.offsetWidth)}px`;
  }

  function show(button) {
    close(false);
    const menu = template.content.firstElementChild.cloneNode(true);
    const pk = encodeURIComponent(button.dataset.rowActions);
    for (const link of menu.querySelectorAll("a[href]")) {
      link.setAttribute("href", link.getAttribute("href").replace(placeholder, pk));
    }
    refuse(menu, button.dataset.rowRefusals ? JSON.parse(button.dataset.rowRefusals) : {});
    menu.style.position = "fixed";
    menu.style.visibility = "hidden";
    document.body.append(menu);
    open = { menu, button };
    place();
    if (!open) {
      return;
    }
    menu.style.visibility = "";
    button.setAttribute("aria-expanded", "true");
    const first = items().find((item) => item.getAttribute("aria-disabled") !== "true") || items()[0];
    if (first) {
      first.focus({ preventScroll: true });
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-row-actions]");
    if (button) {
      event.preventDefault();
      if (open && open.button === button) {
        close(true);
      } else {
        show(button);
      }
    } else if (open && !open.menu.contains(event.target)) {
      close(false);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!open) {
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    } else if (["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) {
      event.preventDefault();
      const all = items();
      if (!all.length) {
        return;
      }
      const at = all.indexOf(document.activeElement);
      const to = {
        ArrowDown: (at + 1) % all.length,
        ArrowUp: (at - 1 + all.length) % all.length,
        Home: 0,
        End: all.length - 1,
      }[event.key];
      all[to].focus({ preventScroll: true });
    } else if (event.key === "Tab") {
      close(false);
    }
  });

  // The menu follows its button when the page or the table scrolls (a scroll that brought the
  // button into view may be reported just after the click), and closes when the button leaves.
  window.addEventListener("scroll", () => open && place(), true);
  window.addEventListener("resize", () => open && place());
})();
