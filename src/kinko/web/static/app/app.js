// The phone app's screens: the first screen explains activation in the guide's words; then
// each token shows its code in large digits (3+3) with the serial under it and a countdown,
// copy and remove; an optional PIN locks the codes. DOM built with createElement and text
// nodes only (the page's CSP enforces Trusted Types: no HTML is ever parsed from strings).
import { ActivationError, activate, formatSerial } from "/app/activation.js";
import { date, load as loadTexts, t } from "/app/i18n.js";
import * as lock from "/app/lock.js";
import * as store from "/app/store.js";
import { groups, totp } from "/app/totp.js";

const NAME_MAX = 20;
const RELOCK_AFTER_MS = 60 * 1000; // hidden this long with a PIN set: ask for it again
const root = document.getElementById("app");

const state = {
  tokens: [],
  unlocked: false,
  adding: false,
  busy: false,
  confirming: null, // the serial whose removal awaits confirmation
  notice: null,
  error: null,
  pinError: null,
  settingsMessage: null,
  settingsError: null,
  fatal: null, // the app cannot work here at all: unsupported browser, no storage
  pinSet: false,
  typedName: "",
};
let installPrompt = null;
let hiddenAt = null;

// --- DOM helpers ------------------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

function paragraphs(...ids) {
  return ids.map((id) => h("p", {}, t(id)));
}

function notice(text, kind = "notice") {
  return h("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text);
}

function helpDesk() {
  return h("p", { class: "help" }, t("help_desk"));
}

function focusFirst(selector) {
  const element = root.querySelector(selector);
  if (element) element.focus();
}

// --- screens ----------------------------------------------------------------------------

function issueForm({ withCancel }) {
  const name = h("input", {
    id: "token-name", name: "name", type: "text", maxlength: NAME_MAX, autocomplete: "off",
    placeholder: t("name_default", { n: state.tokens.length + 1 }), "aria-describedby": "token-name-hint",
  });
  name.value = state.typedName;
  return h("form", { class: "issue", novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    issue(name.value);
  } },
  h("div", { class: "field" },
    h("label", { for: "token-name" }, t("name_label")),
    name,
    h("p", { class: "hint", id: "token-name-hint" }, t("name_hint"))),
  h("div", { class: "actions" },
    h("button", { type: "submit", class: "primary", disabled: state.busy },
      state.busy ? t("issuing") : t("issue")),
    withCancel ? h("button", { type: "button", class: "secondary", onclick: () => {
      state.adding = false;
      state.error = null;
      render();
    } }, t("cancel")) : null));
}

function welcomeScreen() {
  const gone = store.hadTokens();
  return [
    gone ? h("section", { class: "card gone", role: "alert" },
      h("h2", {}, t("gone_title")), h("p", {}, t("gone_text")), helpDesk()) : null,
    h("section", { class: "card welcome" },
      h("h1", {}, t("welcome_title")),
      ...paragraphs("welcome_lead"),
      state.error ? notice(state.error, "error") : null,
      issueForm({ withCancel: false })),
    h("section", { class: "card how" },
      h("h2", {}, t("how_title")),
      h("ol", {}, ["how_1", "how_2", "how_3", "how_4"].map((id) => h("li", {}, t(id)))),
      ...paragraphs("how_deadline", "how_exchange")),
    installCard(),
    h("section", { class: "card lost" }, ...paragraphs("lost_note")),
  ];
}

function installCard() {
  const installed = navigator.standalone === true // iOS Safari's home-screen app
    || (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
  if (installed) return null;
  return h("section", { class: "card install" },
    ...paragraphs("install_hint"),
    installPrompt ? h("button", { type: "button", class: "secondary", onclick: async () => {
      const prompt = installPrompt;
      installPrompt = null;
      prompt.prompt();
      render();
    } }, t("install_button")) : null);
}

function tokenCard(token) {
  const confirming = state.confirming === token.serial;
  return h("section", { class: "card token", "data-serial": token.serial },
    h("h2", { class: "name" }, token.name),
    h("p", { class: "code", "aria-label": t("code_label") },
      h("span", { class: "group" }, ""), h("span", { class: "group" }, "")),
    h("div", { class: "timer" },
      h("div", { class: "countdown", role: "progressbar", "aria-valuemin": 0,
        "aria-valuemax": token.period, "aria-label": t("time_left_label") },
      h("span", { class: "fill" })),
      h("span", { class: "left" }, "")),
    h("p", { class: "serial" },
      h("span", { class: "label" }, t("serial_label")), " ",
      h("span", { class: "value" }, formatSerial(token.serial))),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary copy", onclick: () => copy(token) }, t("copy")),
      h("button", { type: "button", class: "secondary remove", onclick: () => {
        state.confirming = token.serial;
        render();
        focusFirst(".confirm .danger");
      } }, t("remove"))),
    h("p", { class: "copied", role: "status" }),
    confirming ? h("div", { class: "confirm", role: "alertdialog", "aria-labelledby": `q-${token.serial}` },
      h("p", { class: "question", id: `q-${token.serial}` }, t("remove_question", { name: token.name })),
      h("p", {}, t("remove_warning")),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => remove(token) }, t("remove_yes")),
        h("button", { type: "button", class: "secondary", onclick: () => {
          state.confirming = null;
          render();
        } }, t("cancel")))) : null);
}

function tokensScreen() {
  return [
    state.notice ? notice(state.notice) : null,
    ...state.tokens.map(tokenCard),
    state.adding
      ? h("section", { class: "card add" }, h("h2", {}, t("add_title")), ...paragraphs("add_lead"),
        state.error ? notice(state.error, "error") : null, issueForm({ withCancel: true }))
      : h("p", { class: "more" }, h("button", { type: "button", class: "secondary add-token", onclick: () => {
        state.adding = true;
        state.notice = null;
        render();
        focusFirst("#token-name");
      } }, t("add"))),
    settingsCard(),
    h("section", { class: "card lost" }, ...paragraphs("lost_note")),
  ];
}

function pinInput(id, label) {
  return h("div", { class: "field" }, h("label", { for: id }, label),
    h("input", { id, name: id, type: "password", inputmode: "numeric", autocomplete: "off",
      maxlength: 8, pattern: "[0-9]*" }));
}

function settingsCard() {
  const on = state.pinSet;
  const message = state.settingsMessage ? notice(state.settingsMessage) : null;
  const error = state.settingsError ? notice(state.settingsError, "error") : null;
  if (!on) {
    return h("section", { class: "card settings" }, h("h2", {}, t("settings_title")),
      ...paragraphs("settings_lead"), message, error,
      h("form", { class: "pin-set", novalidate: true, onsubmit: (event) => {
        event.preventDefault();
        setPin(event.target);
      } },
      pinInput("pin-new", t("pin_new")), pinInput("pin-again", t("pin_again")),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("pin_set")))));
  }
  return h("section", { class: "card settings" }, h("h2", {}, t("settings_title")),
    h("p", {}, t("pin_is_on")), message, error,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary lock-now", onclick: () => {
      state.unlocked = false;
      render();
    } }, t("lock_now"))),
    h("form", { class: "pin-off", novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      clearPin(event.target);
    } },
    pinInput("pin-current", t("pin_current")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("pin_off")))));
}

function lockScreen() {
  return [h("section", { class: "card lock" },
    h("h1", {}, t("lock_title")),
    ...paragraphs("lock_lead"),
    state.pinError ? notice(state.pinError, "error") : null,
    h("form", { novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      unlock(event.target.elements.pin.value);
    } },
    pinInput("pin", t("pin_label")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("unlock")))),
    h("details", {}, h("summary", {}, t("pin_forgot")), h("p", {}, t("pin_forgot_text")), helpDesk()))];
}

function render() {
  let screen;
  if (state.fatal) {
    screen = [h("section", { class: "card" }, notice(state.fatal, "error"), helpDesk())];
  } else if (state.pinSet && !state.unlocked) {
    screen = lockScreen();
  } else if (state.tokens.length === 0) {
    screen = welcomeScreen();
  } else {
    screen = tokensScreen();
  }
  root.replaceChildren(...screen.filter(Boolean));
  shown.clear();
  tick();
}

// --- the codes --------------------------------------------------------------------------

const shown = new Map(); // serial -> {step, code} on screen now

async function tick() {
  const now = Date.now() / 1000;
  for (const card of root.querySelectorAll(".token")) {
    const token = state.tokens.find((found) => found.serial === card.dataset.serial);
    if (!token) continue;
    const left = token.period - (now % token.period);
    card.querySelector(".fill").style.transform = `scaleX(${left / token.period})`;
    card.querySelector(".countdown").setAttribute("aria-valuenow", String(Math.ceil(left)));
    card.querySelector(".left").textContent = t("seconds_left", { n: Math.ceil(left) });
    const step = Math.floor(now / token.period);
    const current = shown.get(token.serial);
    if (current && current.step === step) continue;
    shown.set(token.serial, { step, code: null });
    const { code } = await totp(token.key, token, now);
    if (shown.get(token.serial)?.step !== step) continue;
    shown.set(token.serial, { step, code });
    const element = card.querySelector(".code");
    const [first, second] = groups(code);
    element.children[0].textContent = first;
    element.children[1].textContent = second;
    element.dataset.code = code;
    element.setAttribute("aria-label", `${t("code_label")} ${code.split("").join(" ")}`);
  }
}

// --- actions ----------------------------------------------------------------------------

function activationMessage(error) {
  if (!(error instanceof ActivationError)) return t("error_malformed");
  if (error.kind === "rate_limited") {
    if (error.retryAfter === null) return t("error_rate_limited_later");
    const wait = error.retryAfter < 90 ? t("wait_seconds", { n: Math.max(1, error.retryAfter) })
      : t("wait_minutes", { n: Math.ceil(error.retryAfter / 60) });
    return t("error_rate_limited", { wait });
  }
  return t(`error_${error.kind}`);
}

async function issue(typedName) {
  if (state.busy) return;
  const name = typedName.trim().slice(0, NAME_MAX) || t("name_default", { n: state.tokens.length + 1 });
  state.busy = true;
  state.typedName = typedName;
  state.error = null;
  state.notice = null;
  render();
  try {
    const token = await activate();
    await store.saveToken({ ...token, name });
    state.tokens = await store.tokens();
    state.adding = false;
    state.typedName = "";
    state.notice = t("issued", { name, date: date(token.expiresAt) });
  } catch (error) {
    state.error = error instanceof store.StorageUnavailable ? t("error_storage")
      : activationMessage(error);
  } finally {
    state.busy = false;
    render();
  }
}

async function copy(token) {
  const card = root.querySelector(`.token[data-serial="${token.serial}"]`);
  const code = card && card.querySelector(".code").dataset.code;
  const status = card && card.querySelector(".copied");
  if (!code || !status) return;
  try {
    await navigator.clipboard.writeText(code);
    status.textContent = t("copied");
  } catch {
    status.textContent = t("copy_failed");
  }
  setTimeout(() => { status.textContent = ""; }, 3000);
}

async function remove(token) {
  await store.removeToken(token.serial);
  state.tokens = await store.tokens();
  state.confirming = null;
  state.notice = t("removed", { name: token.name });
  render();
}

async function setPin(form) {
  const pin = form.elements["pin-new"].value;
  state.settingsMessage = null;
  state.settingsError = null;
  if (!lock.PIN_PATTERN.test(pin)) state.settingsError = t("pin_format");
  else if (pin !== form.elements["pin-again"].value) state.settingsError = t("pin_mismatch");
  else {
    await lock.setPin(pin);
    state.pinSet = true;
    state.unlocked = true;
    state.settingsMessage = t("pin_on");
  }
  render();
}

async function clearPin(form) {
  state.settingsMessage = null;
  state.settingsError = null;
  if (await lock.check(form.elements["pin-current"].value)) {
    await lock.clearPin();
    state.pinSet = false;
    state.settingsMessage = t("pin_removed");
  } else {
    const wait = await lock.waitSeconds();
    state.settingsError = wait ? t("pin_wait", { n: wait }) : t("pin_wrong");
  }
  render();
}

async function unlock(pin) {
  const wait = await lock.waitSeconds();
  if (wait > 0) {
    state.pinError = t("pin_wait", { n: wait });
  } else if (await lock.check(pin)) {
    state.unlocked = true;
    state.pinError = null;
  } else {
    const next = await lock.waitSeconds();
    state.pinError = next ? t("pin_wait", { n: next }) : t("pin_wrong");
  }
  render();
  if (!state.unlocked) focusFirst("#pin");
}

// --- start ------------------------------------------------------------------------------

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  // The page's CSP requires Trusted Types for script URLs: this policy allows one.
  let url = "/app/sw.js";
  if (window.trustedTypes && window.trustedTypes.createPolicy) {
    const policy = window.trustedTypes.createPolicy("kinko-app", {
      createScriptURL: (value) => {
        if (value !== "/app/sw.js") throw new TypeError("unexpected script URL");
        return value;
      },
    });
    url = policy.createScriptURL(url);
  }
  navigator.serviceWorker.register(url, { scope: "/app" }).catch(() => {
    // Without it the app still works online; it only cannot open offline.
  });
}

async function start() {
  await loadTexts();
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    installPrompt = event;
    render();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      hiddenAt = Date.now();
    } else if (state.pinSet && hiddenAt !== null && Date.now() - hiddenAt > RELOCK_AFTER_MS) {
      state.unlocked = false;
      render();
    }
  });
  if (!window.isSecureContext) {
    state.fatal = t("error_insecure"); // WebCrypto and service workers need https
  } else if (!window.crypto || !crypto.subtle || !window.indexedDB) {
    state.fatal = t("error_unsupported");
  } else {
    try {
      state.tokens = await store.tokens();
      state.pinSet = await lock.enabled();
      if (state.tokens.length > 0) store.markHadTokens();
    } catch {
      state.fatal = t("error_storage");
    }
  }
  render();
  setInterval(tick, 250);
  registerServiceWorker();
}

start();
