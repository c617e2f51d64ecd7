//! Tests of the conversions: every request converts into its command, invalid ones name the
//! request's field, the API and the conversions cover the same commands, and the domain's answers
//! come back as the wire writes them.

mod api;
mod invalid;
mod keyed;
mod paths;
mod reply;
mod valid;

use imece_domain::time::macros::date;
use imece_domain::*;
use imece_proto::v1 as pb;
use uuid::Uuid;

use super::*;

pub(super) const ORG: &str = "0190b1c6-0000-7000-8000-00000000000a";
pub(super) const OTHER_ORG: &str = "0190b1c6-0000-7000-8000-00000000000b";
pub(super) const REQUEST: &str = "0190b1c6-0000-7000-8000-000000000001";
pub(super) const ASSEMBLY: &str = "0190b1c6-0000-7000-8000-0000000000a1";
pub(super) const PERSON: &str = "0190b1c6-0000-7000-8000-0000000000b1";
pub(super) const MEMBERSHIP: &str = "0190b1c6-0000-7000-8000-0000000000c1";
pub(super) const OTHER_MEMBERSHIP: &str = "0190b1c6-0000-7000-8000-0000000000c2";
pub(super) const AGREEMENT: &str = "0190b1c6-0000-7000-8000-0000000000d1";
pub(super) const KEY: &str = "0190b1c6-0000-7000-8000-0000000000e1";

/// The day decisions in these tests are taken on.
pub(super) const TODAY: Date = date!(2026 - 06 - 30);

pub(super) fn header() -> Option<pb::CommandHeader> {
    Some(pb::CommandHeader { request_id: REQUEST.into(), expected_version: Some(3), organisation_id: ORG.into() })
}

pub(super) fn org() -> OrgId {
    ORG.parse().unwrap()
}

pub(super) fn meta() -> RequestMeta {
    RequestMeta { request_id: Uuid::parse_str(REQUEST).unwrap(), expected_version: Some(3) }
}

pub(super) fn pb_money(amount: &str, currency: &str) -> Option<pb::Money> {
    Some(pb::Money { amount: amount.into(), currency: currency.into() })
}

pub(super) fn pb_code(code: &str, version: &str) -> Option<pb::Code> {
    Some(pb::Code { code: code.into(), version: version.into() })
}

pub(super) fn try_(amount: &str) -> Money {
    Money::parse(amount, Currency::TRY).unwrap()
}

/// The write a valid request must convert into: the fixture's organisation and meta, and `command`.
pub(super) fn expected(command: Command) -> Write {
    Write { organisation: org(), meta: meta(), command }
}

/// A sealed value as the keystore would return it; the domain checks only its shape.
pub(super) fn sealed() -> SealedPersonalData {
    SealedPersonalData {
        key_id: KEY.parse().unwrap(),
        algorithm: "XChaCha20-Poly1305".into(),
        nonce: vec![7; 24],
        ciphertext: vec![9; 48],
    }
}
