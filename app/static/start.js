// Starts the field app. A file of its own rather than an inline script, so that the
// Content-Security-Policy can forbid inline scripts.
//
// On a phone where nobody is signed in, the page's own sign-in form (the template
// `#boot-template` in index.html) is shown at once, before the app's code has arrived: a
// person can type while it downloads, and press sign in. The app's sign-in screen then
// takes over what was typed, the focus and the caret (`voordeurBoot`, called from
// app/src/boot.rs), and signs in if that was asked. Where a key is kept (someone is
// signed in), the form is not shown: the app opens on the walk list.
import init from "/voordeur-app.js";

// The words of the form, in the two languages of the app (app/src/i18n.rs).
const WORDS = {
  nl: {
    title: "Aanmelden bij Voordeur", username: "Gebruikersnaam", password: "Wachtwoord",
    "sign-in": "Aanmelden", waiting: "De app wordt geladen…",
    language: "EN", languageName: "English", other: "en",
  },
  en: {
    title: "Sign in to Voordeur", username: "Username", password: "Password",
    "sign-in": "Sign in", waiting: "Loading the app…",
    language: "NL", languageName: "Nederlands", other: "nl",
  },
};

// The app's settings (app/src/state/store.rs: `Settings`, postcard in base64, unsealed)
// begin with the language: 0 Dutch, 1 English.
const SETTINGS = "vd.settings";

function storedLanguage() {
  try {
    const settings = localStorage.getItem(SETTINGS);
    return settings && atob(settings).charCodeAt(0) === 1 ? "en" : "nl";
  } catch {
    return "nl";
  }
}

function say(boot, lang) {
  const words = WORDS[lang];
  boot.dataset.lang = lang;
  document.documentElement.lang = lang;
  for (const part of boot.querySelectorAll("[data-boot]")) {
    if (part.dataset.boot in words) part.textContent = words[part.dataset.boot];
  }
  const switcher = boot.querySelector("[data-boot=language]");
  switcher.title = words.languageName;
  switcher.lang = words.other;
}

// Shows the form (as `#boot`, the body's first child; the app's own screens, drawn
// after it, stay hidden while it is there: app.css).
function show() {
  const boot = document.createElement("div");
  boot.id = "boot";
  boot.append(document.getElementById("boot-template").content.cloneNode(true));
  say(boot, storedLanguage());
  boot.querySelector("[data-boot=language]").addEventListener("click", () => {
    // The app takes the choice over (app/src/boot.rs) and keeps it.
    say(boot, boot.dataset.lang === "en" ? "nl" : "en");
  });
  boot.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    boot.dataset.submitted = "true";
    boot.querySelector("[data-boot=sign-in]").disabled = true;
    boot.querySelector("[data-boot=waiting]").hidden = false;
  });
  document.body.prepend(boot);
}

// After the next frame is drawn (or a tenth of a second, in a tab that draws none).
function firstPaint() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 100);
  });
}

globalThis.voordeurBoot = {
  // What was typed into the page's form: {username, password, submitted} (submitted:
  // sign in was pressed); null if the form is not shown.
  typed() {
    const boot = document.getElementById("boot");
    if (!boot) return null;
    const typed = { username: "", password: "", submitted: boot.dataset.submitted === "true" };
    for (const input of boot.querySelectorAll("input")) typed[input.name] = input.value;
    return typed;
  },

  // Gives what was typed, the focus and the caret of the page's form to the app's own
  // sign-in form `form`, and removes the page's form. (The app draws the form with what
  // `typed` returned, but sets the fields' values only after this: they are set here
  // first, so the caret stays where it is put.)
  handOver(form) {
    const boot = document.getElementById("boot");
    if (!boot) return;
    let caret = null;
    for (const input of boot.querySelectorAll("input")) {
      const own = form.querySelector(`input[name=${input.name}]`);
      if (!own) continue;
      own.value = input.value;
      if (input === document.activeElement) {
        caret = [own, input.selectionStart, input.selectionEnd];
      }
    }
    boot.remove();
    if (caret) {
      const [own, start, end] = caret;
      own.focus();
      own.setSelectionRange(start, end);
    }
  },
};

// A phone where someone is signed in keeps a key (vault.js).
let kept = false;
try {
  kept = await globalThis.voordeurVault.present();
} catch {
  kept = false;
}
if (!kept) {
  show();
  // The app's code is asked for once the form is on the screen, not before: its download
  // (the most of a first visit) would otherwise hold up the form's first paint.
  await firstPaint();
}
init("/voordeur-app_bg.wasm");
