//! Personal data: what is sealed for a natural person, and how it is opened again (or found
//! erased). The plaintext is JSON of [`PersonalFields`]; only the keystore ever sees it.

use imece_domain::{Event, OrgId, PersonKind, PersonRef, SealedPersonalData};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::keystore::KeyStore;
use crate::registry::Loaded;

/// The fields that identify a natural person. Never in the log in clear.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonalFields {
    pub full_name: String,
    pub national_id: String,
    pub email: String,
    pub phone: String,
    pub address: String,
}

impl std::fmt::Debug for PersonalFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalFields { .. }")
    }
}

/// Seals `fields` under `person`'s key (made on first use).
pub fn seal(keys: &dyn KeyStore, person: PersonRef, fields: &PersonalFields) -> Result<SealedPersonalData, Error> {
    seal_all(keys, &[(person, fields)]).pop().unwrap_or_else(|| Err(Error::Keystore("nothing sealed".into())))
}

/// Seals each person's fields, making the missing keys durable together (one sync for a batch of
/// new persons). One answer per item, in order.
pub fn seal_all(keys: &dyn KeyStore, items: &[(PersonRef, &PersonalFields)]) -> Vec<Result<SealedPersonalData, Error>> {
    let mut answers: Vec<Option<Result<SealedPersonalData, Error>>> = Vec::with_capacity(items.len());
    let mut plaintexts: Vec<(usize, PersonRef, Vec<u8>)> = Vec::new();
    for (i, (person, fields)) in items.iter().enumerate() {
        if fields.full_name.trim().is_empty() {
            answers.push(Some(Err(Error::Domain(imece_domain::Error::Invalid {
                field: "personal.full_name".into(),
                rule: "must not be empty".into(),
            }))));
            continue;
        }
        match serde_json::to_vec(fields) {
            Ok(bytes) => {
                plaintexts.push((i, *person, bytes));
                answers.push(None);
            }
            Err(e) => answers.push(Some(Err(Error::Keystore(format!("encoding personal data: {e}"))))),
        }
    }
    let batch: Vec<(PersonRef, &[u8])> = plaintexts.iter().map(|(_, p, b)| (*p, b.as_slice())).collect();
    for ((i, ..), sealed) in plaintexts.iter().zip(keys.seal_all(&batch)) {
        answers[*i] = Some(sealed);
    }
    answers.into_iter().map(|a| a.unwrap_or_else(|| Err(Error::Keystore("nothing sealed".into())))).collect()
}

/// A person of an organisation as the node may show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonView {
    pub person: PersonRef,
    pub kind: PersonKind,
    /// `None` for a legal person, or once erased.
    pub personal: Option<PersonalFields>,
    pub erased: bool,
}

/// The person `person` of `org` with their personal data opened, if the caller may see it.
pub fn view(
    keys: &dyn KeyStore,
    org: OrgId,
    loaded: &Loaded,
    person: PersonRef,
    with_personal_data: bool,
) -> Result<PersonView, Error> {
    let enrolled = loaded
        .events
        .iter()
        .find_map(|(_, env)| match &env.event {
            Event::PersonEnrolled(e) if e.person == person => Some(e),
            _ => None,
        })
        .ok_or_else(|| Error::NotFound(format!("person {person} in organisation {org}")))?;
    let erased = loaded.state.person(person).is_some_and(|p| p.erased_on.is_some());
    let personal = match &enrolled.person_kind {
        PersonKind::Natural { personal_data, .. } if with_personal_data && !erased => {
            match keys.open(person, personal_data)? {
                Some(bytes) => Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| Error::Stored(format!("personal data of {person} does not decode: {e}")))?,
                ),
                None => None,
            }
        }
        _ => None,
    };
    // Whatever the caller may see, sealed bytes never leave in a view.
    let kind = match &enrolled.person_kind {
        PersonKind::Natural { sex, birth_year, personal_data } => PersonKind::Natural {
            sex: *sex,
            birth_year: *birth_year,
            personal_data: SealedPersonalData {
                key_id: personal_data.key_id,
                algorithm: personal_data.algorithm.clone(),
                nonce: Vec::new(),
                ciphertext: Vec::new(),
            },
        },
        legal => legal.clone(),
    };
    let erased = erased
        || matches!(enrolled.person_kind, PersonKind::Natural { .. }) && with_personal_data && personal.is_none();
    Ok(PersonView { person, kind, personal, erased })
}
