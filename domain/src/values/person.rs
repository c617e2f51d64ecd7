//! Person-level values: coarse attributes kept in clear for statistics, and personal data sealed
//! by a keystore outside the domain.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::values::KeyId;
use crate::{Error, Result};

/// Sex as registries record it for statistics (ICLS 2018 by sex; ESSGlobal `totalWomen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "F")]
    Female,
    #[serde(rename = "M")]
    Male,
    /// Neither F nor M, where the national register allows it.
    #[serde(rename = "X")]
    Other,
    /// Not recorded.
    #[serde(rename = "unknown")]
    Unknown,
}

/// A natural person's personal data (name, national id, contact) as the keystore sealed it under
/// that person's own key. The domain never sees the plaintext: it carries this value from the API
/// to the log and back. Destroying the key (`MemberDataErased`) makes it unreadable for good,
/// everywhere it was copied: crypto-shredding, since the log is never rewritten.
///
/// `Debug` shows only the key and the sizes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedPersonalData {
    /// The person's key in the keystore.
    pub key_id: KeyId,
    /// The AEAD the keystore used, e.g. `XChaCha20-Poly1305`, so the keystore can change it.
    pub algorithm: String,
    /// The nonce, hexadecimal on the wire.
    #[serde(with = "hex")]
    pub nonce: Vec<u8>,
    /// The ciphertext with its authentication tag, hexadecimal on the wire.
    #[serde(with = "hex")]
    pub ciphertext: Vec<u8>,
}

/// The largest sealed record: personal data is a few fields, never a document.
pub const MAX_SEALED_BYTES: usize = 16 * 1024;

impl SealedPersonalData {
    /// [`Error::Invalid`] on `algorithm`, `nonce` or `ciphertext` unless each is plausible for an
    /// AEAD: the domain cannot check the cryptography, only that something sealed is there.
    pub fn validate(&self) -> Result<()> {
        let a = self.algorithm.as_bytes();
        if a.is_empty() || a.len() > 32 || !a.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b)) {
            return Err(Error::invalid("algorithm", "must be 1 to 32 letters, digits, '-', '_' or '.'"));
        }
        if !(8..=32).contains(&self.nonce.len()) {
            return Err(Error::invalid("nonce", format!("must be 8 to 32 bytes, is {}", self.nonce.len())));
        }
        // An AEAD tag alone is 16 bytes: anything shorter cannot be a sealed value.
        if !(16..=MAX_SEALED_BYTES).contains(&self.ciphertext.len()) {
            return Err(Error::invalid(
                "ciphertext",
                format!("must be 16 to {MAX_SEALED_BYTES} bytes, is {}", self.ciphertext.len()),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for SealedPersonalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPersonalData")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("nonce", &format_args!("{} bytes", self.nonce.len()))
            .field("ciphertext", &format_args!("{} bytes", self.ciphertext.len()))
            .finish()
    }
}

/// Bytes as lower-case hexadecimal text: sealed values are small, and this keeps the payload JSON
/// without another dependency.
mod hex {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
        serializer.serialize_str(&s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        if s.len() % 2 != 0 {
            return Err(serde::de::Error::custom("hexadecimal text must have an even length"));
        }
        s.as_bytes()
            .chunks_exact(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| serde::de::Error::custom("must be lower-case hexadecimal"))
    }
}
