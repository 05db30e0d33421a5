// Ctrl+K: the first result is picked as soon as results arrive, so Enter opens it; Enter pressed
// before they arrive (the palette waits for a pause in typing) asks at once and opens the first
// one when it comes. Arrow keys still choose another. Wraps Unfold's `searchCommand` component.
document.addEventListener("alpine:init", () => {
  const unfoldSearchCommand = window.searchCommand;
  if (typeof unfoldSearchCommand !== "function") return;

  window.searchCommand = function () {
    const component = unfoldSearchCommand();
    const loaded = component.handleContentLoaded;
    const select = component.selectItem;
    let openFirstWhenLoaded = null;
    let answeredTerm = null;

    component.handleContentLoaded = function (event) {
      loaded.call(this, event);
      if (event.target.id !== "command-results") return;
      answeredTerm = this.$refs.searchInputCommand.value;
      if (this.hasResults && this.currentIndex === 0) this.currentIndex = 1;
      if (openFirstWhenLoaded && this.hasResults) {
        const [addHistory, newTab] = openFirstWhenLoaded;
        openFirstWhenLoaded = null;
        this.currentIndex = 1;
        select.call(this, addHistory, newTab);
      }
      openFirstWhenLoaded = null;
    };

    component.selectItem = function (addHistory, newTab = false) {
      const input = this.$refs.searchInputCommand;
      const waiting = input.value.trim() !== "" && input.value !== answeredTerm;
      if (waiting) {
        openFirstWhenLoaded = [addHistory, newTab];
        window.htmx.trigger(input, "keyup");
        return;
      }
      if (!this.items || !this.items[this.currentIndex - 1]) return;
      select.call(this, addHistory, newTab);
    };
    return component;
  };
});

// Unfold's palette asks on `keyup`; text that comes without keys (pasted from a menu, chosen in
// an input method, dropped) asks too, so a name such as 赵强 is searched like a typed number.
document.addEventListener("input", (event) => {
  const input = event.target;
  if (input.id !== "search-input-command" || event.isComposing || !window.htmx) return;
  window.htmx.trigger(input, "keyup");
});
