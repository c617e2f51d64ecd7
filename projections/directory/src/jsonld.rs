//! The directory as JSON-LD, for a city's open-data portal: schema.org for what it describes
//! well, ESSGlobal (the RIPESS vocabulary of the social and solidarity economy) for the rest.

use imece_domain::{Code, CooperativeType, Family};
use serde_json::{Value, json};

use crate::Entry;

/// The schema.org namespace.
pub const SCHEMA: &str = "https://schema.org/";
/// The ESSGlobal vocabulary namespace.
pub const ESSGLOBAL: &str = "http://purl.org/essglobal/vocab/";

/// `entries` as one JSON-LD document: an `@context` with the `schema`, `essglobal` and `xsd`
/// prefixes, and a `@graph` with one `schema:Organization` (and `essglobal:SSEInitiative`) per
/// entry, identified as `urn:uuid:<id>`.
///
/// Each node has its legal name (`schema:name`) and names in other languages
/// (`schema:alternateName`, tagged), external ids (`schema:identifier`, a `schema:PropertyValue`
/// with the org-id.guide prefix as `schema:propertyID`), the seat (`schema:address`, a
/// `schema:PostalAddress` with `schema:addressCountry` and the LAU and NUTS 3 codes as
/// identifiers), founding and dissolution dates, the legal form (`essglobal:legalForm`), the
/// primary NACE activity (`essglobal:economicSector`), the business model (`essglobal:qualifier`),
/// the social-economy family and the cooperative type (`schema:additionalType`, as text: ESSGlobal's
/// own typology lists are not mapped yet), and affiliations (`schema:memberOf`).
/// Codes are `schema:DefinedTerm`s with their code list and edition. Nothing about persons: the
/// directory holds none, and no street address.
pub fn to_json_ld(entries: &[Entry]) -> Value {
    json!({
        "@context": {
            "schema": SCHEMA,
            "essglobal": ESSGLOBAL,
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": entries.iter().map(node).collect::<Vec<_>>(),
    })
}

fn date(d: imece_domain::Date) -> Value {
    // ISO 8601 calendar date, as xsd:date wants it.
    let text = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    json!({ "@value": text, "@type": "xsd:date" })
}

fn term(code: &str, set: String, name: Option<&str>) -> Value {
    let mut t = json!({ "@type": "schema:DefinedTerm", "schema:termCode": code, "schema:inDefinedTermSet": set });
    if let Some(name) = name {
        t["schema:name"] = json!(name);
    }
    t
}

fn property(id: &str, value: &str) -> Value {
    json!({ "@type": "schema:PropertyValue", "schema:propertyID": id, "schema:value": value })
}

fn edition(code: &Code, list: &str) -> String {
    match list {
        "NACE" if code.version == "2" => "NACE Rev. 2".to_owned(),
        "NACE" => format!("NACE Rev. {}", code.version),
        _ => format!("{list} {}", code.version),
    }
}

fn family(f: Family) -> &'static str {
    match f {
        Family::Cooperative => "Cooperative",
        Family::Mutual => "Mutual",
        Family::Association => "Association",
        Family::Foundation => "Foundation",
        Family::SocialEnterprise => "Social enterprise",
        Family::Other => "Other",
    }
}

fn membership(t: CooperativeType) -> &'static str {
    match t {
        CooperativeType::Producer => "Producers",
        CooperativeType::Worker => "Workers",
        CooperativeType::ConsumerUser => "Consumer/Users",
        CooperativeType::MultiStakeholder => "Multi-stakeholders",
    }
}

fn node(e: &Entry) -> Value {
    let mut n = json!({
        "@id": format!("urn:uuid:{}", e.id),
        "@type": ["schema:Organization", "essglobal:SSEInitiative"],
        "schema:name": e.legal_name,
        "schema:address": {
            "@type": "schema:PostalAddress",
            "schema:addressCountry": e.seat.country.as_str(),
            "schema:identifier": [
                property(&edition(&e.seat.lau, "LAU"), &e.seat.lau.code),
                property(&edition(&e.seat.nuts3, "NUTS"), &e.seat.nuts3.code),
            ],
        },
        "schema:foundingDate": date(e.founded_on),
        "essglobal:legalForm": {
            "@type": "schema:DefinedTerm",
            "schema:name": e.legal_form.national,
        },
        "essglobal:economicSector": term(&e.activity.code, edition(&e.activity, "NACE"), None),
        "schema:additionalType": [family(e.family)],
    });
    if let Some(elf) = &e.legal_form.elf {
        n["essglobal:legalForm"]["schema:termCode"] = json!(elf.code);
        n["essglobal:legalForm"]["schema:inDefinedTermSet"] = json!(format!("ISO 20275 ELF {}", elf.version));
    }
    if !e.other_names.is_empty() {
        n["schema:alternateName"] =
            e.other_names.iter().map(|(tag, name)| json!({ "@value": name, "@language": tag })).collect();
    }
    if !e.external_ids.is_empty() {
        n["schema:identifier"] = e.external_ids.iter().map(|id| property(id.scheme().prefix(), id.id())).collect();
    }
    if let Some(t) = e.cooperative_type {
        n["schema:additionalType"].as_array_mut().expect("made as an array above").push(json!(membership(t)));
    }
    if let Some(model) = &e.business_model {
        n["essglobal:qualifier"] = term(&model.code, edition(model, "ESSGlobal"), None);
    }
    if let Some(d) = e.dissolved_on.or(e.closed_on) {
        n["schema:dissolutionDate"] = date(d);
    }
    if !e.affiliations.is_empty() {
        n["schema:memberOf"] = e
            .affiliations
            .iter()
            .map(|a| {
                let mut f = json!({ "@type": "schema:Organization", "schema:name": a.name });
                if let Some(id) = a.organisation {
                    f["@id"] = json!(format!("urn:uuid:{id}"));
                }
                f
            })
            .collect();
    }
    n
}
