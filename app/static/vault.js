// The key that protects the phone's copy at rest (see app/src/vault.rs).
//
// At sign-in the app derives a key-encryption key from the person's password with
// PBKDF2-SHA-256 (600,000 rounds, a random salt kept on the phone). It is a WebCrypto
// AES-GCM key made non-extractable: no script, the app's included, can read its bytes.
// It lives in IndexedDB (which stores CryptoKey objects as they are) until the session
// ends or expires; the app's data key is kept only wrapped by it.
"use strict";

const DB = "voordeur-vault";
const STORE = "keys";
const KEK = "kek";
const ROUNDS = 600000;

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function request(mode, act) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

globalThis.voordeurVault = {
  // Derives the key from `password` and `salt` (Uint8Array) and keeps it.
  async derive(password, salt) {
    const material = await crypto.subtle.importKey(
      "raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
    const kek = await crypto.subtle.deriveKey(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations: ROUNDS },
      material, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    await request("readwrite", (s) => s.put(kek, KEK));
  },

  // Whether a key is kept.
  async present() {
    return !!(await request("readonly", (s) => s.get(KEK)));
  },

  // `bytes` encrypted with the kept key, as iv (12 bytes) followed by the ciphertext.
  async wrap(bytes) {
    const kek = await request("readonly", (s) => s.get(KEK));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, kek, bytes));
    const out = new Uint8Array(12 + sealed.length);
    out.set(iv);
    out.set(sealed, 12);
    return out;
  },

  // What `wrap` wrapped; null without a key, or if the key does not fit.
  async unwrap(bytes) {
    const kek = await request("readonly", (s) => s.get(KEK));
    if (!kek) return null;
    try {
      return new Uint8Array(await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, 12) }, kek, bytes.slice(12)));
    } catch (e) {
      return null;
    }
  },

  // Drops the kept key: until the password is typed again, the data stays sealed.
  async forget() {
    await request("readwrite", (s) => s.delete(KEK));
  },
};
