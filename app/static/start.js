// Starts the field app. A file of its own rather than an inline script, so that the
// Content-Security-Policy can forbid inline scripts.
import init from "/voordeur-app.js";
init("/voordeur-app_bg.wasm");
