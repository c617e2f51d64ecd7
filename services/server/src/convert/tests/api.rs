//! The API, as its descriptor set describes it, against the conversions and the domain: the same
//! commands everywhere, and every message and field documented.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

use super::valid::*;
use super::*;

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(imece_proto::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
}

fn file<'a>(set: &'a FileDescriptorSet, name: &str) -> &'a FileDescriptorProto {
    set.file.iter().find(|f| f.name() == name).unwrap_or_else(|| panic!("{name} is in the descriptor set"))
}

/// `AllocateSurplus` as `allocate_surplus`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The RPCs that record a fact (they answer `WriteReply`), by name, with their request type.
fn command_rpcs() -> BTreeMap<String, String> {
    let set = descriptors();
    let registry = file(&set, "imece/v1/registry.proto");
    let service = registry.service.iter().find(|s| s.name() == "Registry").expect("service Registry");
    service
        .method
        .iter()
        .filter(|m| m.output_type() == ".imece.v1.WriteReply")
        .map(|m| (m.name().to_owned(), m.input_type().to_owned()))
        .collect()
}

/// The RPC a domain command is recorded by. Matching exhaustively, a command added to the domain
/// does not compile here until it has its RPC.
fn rpc_for(command: &Command) -> &'static str {
    use Command as C;
    match command {
        C::Register(_) => "RegisterOrganisation",
        C::RecordRegisterEntry(_) => "RecordRegisterEntry",
        C::AmendStatute(_) => "AmendStatute",
        C::Rename(_) => "RenameOrganisation",
        C::RelocateSeat(_) => "RelocateSeat",
        C::ReclassifyActivity(_) => "ReclassifyActivity",
        C::ChangeStatus(_) => "ChangeStatus",
        C::ResolveDissolution(_) => "ResolveDissolution",
        C::CloseLiquidation(_) => "CloseLiquidation",
        C::CompleteMerger(_) => "CompleteMerger",
        C::ConvertLegalForm(_) => "ConvertLegalForm",
        C::ChangeAffiliation(_) => "ChangeAffiliation",
        C::SignCommonsAgreement(_) => "SignCommonsAgreement",
        C::EndCommonsAgreement(_) => "EndCommonsAgreement",
        C::EnrolPerson(_) => "EnrolPerson",
        C::AdmitMember(_) => "AdmitMember",
        C::PayInCapital(_) => "PayInCapital",
        C::TransferShares(_) => "TransferShares",
        C::RecordMemberLeaving(_) => "RecordMemberLeaving",
        C::EraseMemberData(_) => "EraseMemberData",
        C::DeclareMembershipSnapshot(_) => "DeclareMembershipSnapshot",
        C::ComputeMembershipSnapshot { .. } => "ComputeMembershipSnapshot",
        C::ConveneAssembly(_) => "ConveneAssembly",
        C::RecordAssembly(_) => "RecordAssembly",
        C::RecordResolution(_) => "RecordResolution",
        C::RecordElection(_) => "RecordElection",
        C::ChangeOrganMember(_) => "ChangeOrganMember",
        C::ApproveAccounts(_) => "ApproveAccounts",
        C::AllocateSurplus(_) => "AllocateSurplus",
        C::RecordAudit(_) => "RecordAudit",
        C::ImposeSanction(_) => "ImposeSanction",
    }
}

/// One valid item of every kind an import takes.
fn every_item() -> Vec<pb::import_request::Command> {
    use pb::import_request::Command as C;
    vec![
        C::RegisterOrganisation(register_organisation()),
        C::RecordRegisterEntry(record_register_entry()),
        C::AmendStatute(amend_statute()),
        C::RenameOrganisation(rename_organisation()),
        C::RelocateSeat(relocate_seat()),
        C::ReclassifyActivity(reclassify_activity()),
        C::ChangeStatus(change_status()),
        C::ResolveDissolution(resolve_dissolution()),
        C::CloseLiquidation(close_liquidation()),
        C::CompleteMerger(complete_merger()),
        C::ConvertLegalForm(convert_legal_form()),
        C::ChangeAffiliation(change_affiliation()),
        C::SignCommonsAgreement(sign_commons_agreement()),
        C::EndCommonsAgreement(end_commons_agreement()),
        C::EnrolPerson(enrol_person_request()),
        C::AdmitMember(admit_member()),
        C::PayInCapital(pay_in_capital()),
        C::TransferShares(transfer_shares()),
        C::RecordMemberLeaving(record_member_leaving()),
        C::EraseMemberData(erase_member_data_request()),
        C::DeclareMembershipSnapshot(declare_membership_snapshot()),
        C::ComputeMembershipSnapshot(compute_membership_snapshot()),
        C::ConveneAssembly(convene_assembly()),
        C::RecordAssembly(record_assembly()),
        C::RecordResolution(record_resolution()),
        C::RecordElection(record_election()),
        C::ChangeOrganMember(change_organ_member()),
        C::ApproveAccounts(approve_accounts()),
        C::AllocateSurplus(allocate_surplus()),
        C::RecordAudit(record_audit()),
        C::ImposeSanction(impose_sanction()),
    ]
}

#[test]
fn there_is_one_rpc_per_command_and_it_takes_its_own_request() {
    let rpcs = command_rpcs();
    assert_eq!(rpcs.len(), 31, "{:?}", rpcs.keys());
    for (name, request) in &rpcs {
        assert_eq!(request, &format!(".imece.v1.{name}Request"));
    }
}

#[test]
fn the_import_oneof_covers_every_command_rpc() {
    let set = descriptors();
    let import = file(&set, "imece/v1/registry.proto")
        .message_type
        .iter()
        .find(|m| m.name() == "ImportRequest")
        .expect("message ImportRequest");
    assert_eq!(import.oneof_decl.len(), 1, "one oneof, `command`");
    assert!(import.field.iter().all(|f| f.oneof_index == Some(0)), "every field is in the oneof");
    let items: BTreeMap<String, String> =
        import.field.iter().map(|f| (f.name().to_owned(), f.type_name().to_owned())).collect();
    let rpcs: BTreeMap<String, String> =
        command_rpcs().into_iter().map(|(name, request)| (snake(&name), request)).collect();
    assert_eq!(items, rpcs);
}

#[test]
fn every_item_converts_into_the_command_of_its_rpc() {
    let mut seen = BTreeSet::new();
    for item in every_item() {
        let rpc = rpc_name(&item);
        assert_eq!(command_header(&item), header().as_ref(), "{rpc}");
        let write = match import_item(pb::ImportRequest { command: Some(item) }) {
            Ok(ImportItem::Write(write)) => *write,
            Ok(ImportItem::Enrolment(e)) => e.seal(|_, _| Ok::<_, Error>(sealed())).unwrap(),
            Ok(ImportItem::Erasure(e)) => e.with_key(KEY.parse().unwrap()),
            Err(e) => panic!("{rpc}: {e}"),
        };
        assert_eq!(rpc_for(&write.command), rpc);
        assert!(seen.insert(rpc.to_owned()), "{rpc} twice");
    }
    assert_eq!(seen, command_rpcs().into_keys().collect::<BTreeSet<String>>());
}

/// Every message, field, enum, service and method of the registry's files has a comment: the
/// proto files are the API's documentation, and generated clients carry the comments.
#[test]
fn every_message_and_field_is_documented() {
    let set = descriptors();
    let mut undocumented = Vec::new();
    for name in ["imece/v1/common.proto", "imece/v1/registry.proto"] {
        let f = file(&set, name);
        let documented: BTreeSet<Vec<i32>> = f
            .source_code_info
            .as_ref()
            .expect("source info")
            .location
            .iter()
            .filter(|l| l.leading_comments.as_deref().is_some_and(|c| !c.trim().is_empty()))
            .map(|l| l.path.clone())
            .collect();
        let mut require = |path: Vec<i32>, what: String| {
            if !documented.contains(&path) {
                undocumented.push(format!("{name}: {what}"));
            }
        };
        for (i, m) in f.message_type.iter().enumerate() {
            message_paths(m, vec![4, i as i32], m.name(), &mut require);
        }
        for (i, e) in f.enum_type.iter().enumerate() {
            require(vec![5, i as i32], format!("enum {}", e.name()));
        }
        for (i, s) in f.service.iter().enumerate() {
            require(vec![6, i as i32], format!("service {}", s.name()));
            for (j, m) in s.method.iter().enumerate() {
                require(vec![6, i as i32, 2, j as i32], format!("rpc {}", m.name()));
            }
        }
    }
    assert!(undocumented.is_empty(), "without a comment: {undocumented:#?}");
}

fn message_paths(m: &DescriptorProto, path: Vec<i32>, name: &str, require: &mut impl FnMut(Vec<i32>, String)) {
    require(path.clone(), format!("message {name}"));
    let at = |kind: i32, i: usize| [path.as_slice(), &[kind, i as i32]].concat();
    for (i, f) in m.field.iter().enumerate() {
        require(at(2, i), format!("field {name}.{}", f.name()));
    }
    // A proto3 `optional` field makes a synthetic oneof, which has no source to comment.
    let synthetic = |i: usize| m.field.iter().any(|f| f.oneof_index == Some(i as i32) && f.proto3_optional());
    for (i, o) in m.oneof_decl.iter().enumerate().filter(|(i, _)| !synthetic(*i)) {
        require(at(8, i), format!("oneof {name}.{}", o.name()));
    }
    // Map fields make a synthetic entry message, which has no source to comment.
    for (i, nested) in
        m.nested_type.iter().enumerate().filter(|(_, n)| !n.options.as_ref().is_some_and(|o| o.map_entry()))
    {
        message_paths(nested, at(3, i), &format!("{name}.{}", nested.name()), require);
    }
}
