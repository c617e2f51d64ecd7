//! Member requests: enrolment to erasure, and membership snapshots.
//!
//! Two of them need the keystore before they are commands: an enrolment of a natural person carries
//! personal data to seal, an erasure names the key that is destroyed. They convert into an
//! [`Enrolment`] or an [`Erasure`] that is completed with the keystore's answer, after every other
//! field has been checked, so that nothing is sealed or destroyed for a request that is invalid
//! anyway.

use std::collections::BTreeMap;
use std::fmt;

use imece_domain::*;
use imece_proto::v1 as pb;

use super::Write;
use super::values::*;
use crate::people::PersonalFields;
use crate::registry::RequestMeta;

/// An `EnrolPerson` request converted up to the sealing of a natural person's personal data.
///
/// ```no_run
/// # use imece_proto::v1 as pb;
/// # use imece_server::keystore::KeyStore;
/// # fn run(keys: &dyn KeyStore, request: pb::EnrolPersonRequest) -> Result<(), imece_server::Error> {
/// // Every field is checked before the keystore is asked for anything.
/// let enrolment = imece_server::convert::enrol_person(request)?;
/// // The personal data is sealed under the person's key; not called for a legal person.
/// let write = enrolment.seal(|person, fields| imece_server::people::seal(keys, person, fields))?;
/// # Ok(()) }
/// ```
pub struct Enrolment {
    organisation: OrgId,
    meta: RequestMeta,
    occurred_on: Date,
    person: PersonRef,
    kind: Pending,
}

enum Pending {
    Natural { sex: Sex, birth_year: Option<u16>, personal: PersonalFields },
    Legal(PersonKind),
}

impl Enrolment {
    /// The organisation enrolling the person.
    pub fn organisation(&self) -> OrgId {
        self.organisation
    }

    /// The request's id and expected version.
    pub fn meta(&self) -> RequestMeta {
        self.meta
    }

    /// The person being enrolled: whose key seals the personal data.
    pub fn person(&self) -> PersonRef {
        self.person
    }

    /// The plaintext personal data of a natural person, checked; `None` for a legal person.
    pub fn personal_data(&self) -> Option<&PersonalFields> {
        match &self.kind {
            Pending::Natural { personal, .. } => Some(personal),
            Pending::Legal(_) => None,
        }
    }

    /// The command, with a natural person's personal data sealed by `seal`, which gets the person
    /// and their fields and returns what the keystore sealed ([`crate::people::seal`]). For a legal
    /// person there is nothing to seal and `seal` is not called.
    pub fn seal<E>(
        self,
        seal: impl FnOnce(PersonRef, &PersonalFields) -> Result<SealedPersonalData, E>,
    ) -> Result<Write, E> {
        let person_kind = match self.kind {
            Pending::Natural { sex, birth_year, personal } => {
                PersonKind::Natural { sex, birth_year, personal_data: seal(self.person, &personal)? }
            }
            Pending::Legal(kind) => kind,
        };
        Ok(Write {
            organisation: self.organisation,
            meta: self.meta,
            command: Command::EnrolPerson(PersonEnrolled {
                occurred_on: self.occurred_on,
                person: self.person,
                person_kind,
            }),
        })
    }
}

/// Shows everything but the personal data, which is never logged.
impl fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Pending::Natural { .. } => "natural",
            Pending::Legal(_) => "legal",
        };
        f.debug_struct("Enrolment")
            .field("organisation", &self.organisation)
            .field("meta", &self.meta)
            .field("occurred_on", &self.occurred_on)
            .field("person", &self.person)
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

/// An `EraseMemberData` request converted up to the key the keystore destroys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    organisation: OrgId,
    meta: RequestMeta,
    occurred_on: Date,
    person: PersonRef,
    requested_on: Date,
}

impl Erasure {
    /// The organisation the person was enrolled by.
    pub fn organisation(&self) -> OrgId {
        self.organisation
    }

    /// The request's id and expected version.
    pub fn meta(&self) -> RequestMeta {
        self.meta
    }

    /// The person whose data is erased.
    pub fn person(&self) -> PersonRef {
        self.person
    }

    /// The command, naming the key destroyed: the one the person's data was sealed under
    /// (`Organisation::person(..).natural.key_id`, or what the keystore's `destroy` returns).
    pub fn with_key(self, key_id: KeyId) -> Write {
        Write {
            organisation: self.organisation,
            meta: self.meta,
            command: Command::EraseMemberData(MemberDataErased {
                occurred_on: self.occurred_on,
                person: self.person,
                key_id,
                requested_on: self.requested_on,
            }),
        }
    }
}

pub(super) fn enrol_person(r: pb::EnrolPersonRequest) -> Result<Enrolment> {
    let (organisation, meta) = header(r.header)?;
    Ok(Enrolment {
        organisation,
        meta,
        occurred_on: date(&r.occurred_on, "occurred_on")?,
        person: id(&r.person, "person")?,
        kind: message(r.person_kind, "person_kind", person_kind)?,
    })
}

fn person_kind(k: pb::PersonKind) -> Result<Pending> {
    use pb::person_kind::Kind;
    match k.kind.ok_or_else(|| no_kind(&["natural", "legal"]))? {
        Kind::Natural(n) => natural(n).map_err(|e| e.within("natural")),
        Kind::Legal(l) => Ok(Pending::Legal(PersonKind::Legal {
            name: l.name,
            external_id: optional(l.external_id, "legal.external_id", external_id)?,
            organisation: optional_id(l.organisation, "legal.organisation")?,
        })),
    }
}

fn natural(n: pb::person_kind::Natural) -> Result<Pending> {
    let sex = enumeration(n.sex, "sex")?;
    let birth_year = n
        .birth_year
        .map(|y| u16::try_from(y).map_err(|_| Error::invalid("birth_year", format!("must be a year, is {y}"))))
        .transpose()?;
    let personal = message(n.personal_data, "personal_data", personal_fields)?;
    Ok(Pending::Natural { sex, birth_year, personal })
}

/// The fields the keystore seals. A name is required; the other fields may be empty. Each is short
/// text: personal data is a few fields, never a document.
fn personal_fields(p: pb::PersonalData) -> Result<PersonalFields> {
    require_text("full_name", &p.full_name, 300)?;
    for (field, text, max) in [
        ("national_id", &p.national_id, 64),
        ("email", &p.email, 254),
        ("phone", &p.phone, 64),
        ("address", &p.address, 300),
    ] {
        if !text.is_empty() {
            require_text(field, text, max)?;
        }
    }
    Ok(PersonalFields {
        full_name: p.full_name,
        national_id: p.national_id,
        email: p.email,
        phone: p.phone,
        address: p.address,
    })
}

pub(super) fn erase_member_data(r: pb::EraseMemberDataRequest) -> Result<Erasure> {
    let (organisation, meta) = header(r.header)?;
    Ok(Erasure {
        organisation,
        meta,
        occurred_on: date(&r.occurred_on, "occurred_on")?,
        person: id(&r.person, "person")?,
        requested_on: date(&r.requested_on, "requested_on")?,
    })
}

pub(super) fn admit_member(r: pb::AdmitMemberRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::AdmitMember(MemberAdmitted {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            membership: id(&r.membership, "membership")?,
            person: id(&r.person, "person")?,
            category: enumeration(r.category, "category")?,
            shares: r.shares,
            subscribed_capital: message(r.subscribed_capital, "subscribed_capital", money)?,
        }))
    })
}

pub(super) fn pay_in_capital(r: pb::PayInCapitalRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::PayInCapital(CapitalPaidIn {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            membership: id(&r.membership, "membership")?,
            amount: message(r.amount, "amount", money)?,
        }))
    })
}

pub(super) fn transfer_shares(r: pb::TransferSharesRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::TransferShares(SharesTransferred {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            from: id(&r.from_membership, "from_membership")?,
            to: id(&r.to_membership, "to_membership")?,
            shares: r.shares,
            price: optional(r.price, "price", money)?,
        }))
    })
}

pub(super) fn record_member_leaving(r: pb::RecordMemberLeavingRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RecordMemberLeaving(MemberLeft {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            membership: id(&r.membership, "membership")?,
            reason: enumeration(r.reason, "reason")?,
            refund: optional(r.refund, "refund", money)?,
            appealed: r.appealed,
        }))
    })
}

pub(super) fn declare_membership_snapshot(r: pb::DeclareMembershipSnapshotRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::DeclareMembershipSnapshot(MembershipSnapshotDeclared {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            as_of: date(&r.as_of, "as_of")?,
            // Declared by the union; a computed snapshot has a request of its own.
            source: SnapshotSource::Declared,
            members: r.members,
            natural_persons: r.natural_persons,
            legal_persons: r.legal_persons,
            by_sex: message(r.by_sex, "by_sex", |s| {
                Ok(BySex { female: s.female, male: s.male, other: s.other, unknown: s.unknown })
            })?,
            by_age: message(r.by_age, "by_age", |a| {
                Ok(ByAge {
                    under_30: a.under_30,
                    from_30_to_64: a.from_30_to_64,
                    from_65: a.from_65,
                    unknown: a.unknown,
                })
            })?,
            by_category: by_category(r.by_category)?,
        }))
    })
}

fn by_category(counts: Vec<pb::CategoryCount>) -> Result<BTreeMap<MemberCategory, Cell>> {
    let mut by_category = BTreeMap::new();
    for (i, c) in counts.into_iter().enumerate() {
        let field = format!("by_category[{i}].category");
        let category = enumeration(c.category, &field)?;
        if by_category.insert(category, c.count).is_some() {
            return Err(Error::invalid(field, "must not repeat a category"));
        }
    }
    Ok(by_category)
}

pub(super) fn compute_membership_snapshot(r: pb::ComputeMembershipSnapshotRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ComputeMembershipSnapshot {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            as_of: date(&r.as_of, "as_of")?,
        })
    })
}
