//! Sealing what the phone stores: AES-256-GCM for values, and pseudonyms (the document id
//! enciphered with a second key) for key names. The key comes from the vault
//! (`crate::vault`); this part is plain Rust, so the state layer's tests use it too.

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, KeyInit},
    aes::{
        Aes256,
        cipher::{BlockDecrypt, BlockEncrypt, generic_array::GenericArray},
    },
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use voordeur_shared::{docs::DocumentId, uuid::Uuid};

/// Random bytes from the platform's CSPRNG: the browser's `crypto.getRandomValues`.
#[cfg(target_arch = "wasm32")]
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    assert!(
        bytes.iter().any(|b| *b != 0),
        "the browser gave no randomness"
    );
    bytes
}

/// Random bytes from the platform's CSPRNG: the operating system's, in native tests.
#[cfg(not(target_arch = "wasm32"))]
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system gives randomness");
    bytes
}

/// Seals and opens the values the store keeps, and names its keys.
pub struct Cipher {
    aead: Aes256Gcm,
    names: Aes256,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher")
    }
}

impl Cipher {
    /// A cipher under a 64-byte data key: the first half seals values, the second names.
    pub fn new(key: &[u8; 64]) -> Cipher {
        Cipher {
            aead: Aes256Gcm::new(GenericArray::from_slice(&key[..32])),
            names: Aes256::new(GenericArray::from_slice(&key[32..])),
        }
    }

    /// `plain`, sealed, as base64 text: nonce (12 bytes), ciphertext and tag.
    pub fn seal(&self, plain: &[u8]) -> String {
        let nonce: [u8; 12] = random();
        let sealed = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), plain)
            .expect("AES-GCM seals any length the browser can store");
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        BASE64.encode(out)
    }

    /// What [`Cipher::seal`] sealed; `None` if it was changed or sealed with another key.
    pub fn open(&self, text: &str) -> Option<Vec<u8>> {
        let bytes = BASE64.decode(text).ok()?;
        let (nonce, sealed) = bytes.split_at_checked(12)?;
        self.aead.decrypt(Nonce::from_slice(nonce), sealed).ok()
    }

    /// The pseudonym a document's keys are stored under.
    pub fn name(&self, id: &DocumentId) -> String {
        let mut block = GenericArray::clone_from_slice(id.0.as_bytes());
        self.names.encrypt_block(&mut block);
        block.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The document a pseudonym stands for.
    pub fn id_of(&self, name: &str) -> Option<DocumentId> {
        if name.len() != 32 {
            return None;
        }
        let bytes: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(name.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<_>>()?;
        let mut block = GenericArray::clone_from_slice(&bytes);
        self.names.decrypt_block(&mut block);
        Some(DocumentId(Uuid::from_bytes(block.into())))
    }
}
