//! Organisation life cycle: registration to closing. Public: these facts may leave the node.

use serde::{Deserialize, Serialize};

use crate::values::{
    AgreementId, AssemblyId, Code, CountryCode, Date, ExternalId, FiscalYearEnd, Money, Names, OrgId, Scheme,
    require_text,
};
use crate::{Error, Result};

/// The social-economy family of an organisation (CIRIEC/EESC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Cooperative,
    Mutual,
    Association,
    Foundation,
    SocialEnterprise,
    Other,
}

/// The four types of cooperative of the ILO guidelines (20th ICLS, 2018).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CooperativeType {
    Producer,
    Worker,
    ConsumerUser,
    MultiStakeholder,
}

/// A legal form: the ISO 20275 code where one exists, and the national name of the form
/// (`società cooperativa sociale`, `kooperatif`, `SCIC`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elf: Option<Code>,
    pub national: String,
}

impl LegalForm {
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(elf) = &self.elf {
            elf.require_scheme(Scheme::Elf).map_err(|e| e.within("elf"))?;
            elf.validate().map_err(|e| e.within("elf"))?;
        }
        require_text("national", &self.national, 200)
    }
}

/// Where an organisation has its seat: country, municipality (LAU) and NUTS 3 region. The street
/// address is optional: statistics need only the codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seat {
    pub country: CountryCode,
    pub lau: Code,
    pub nuts3: Code,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Seat {
    pub(crate) fn validate(&self) -> Result<()> {
        self.country.validate()?;
        self.lau.require_scheme(Scheme::Lau).map_err(|e| e.within("lau"))?;
        self.lau.validate().map_err(|e| e.within("lau"))?;
        if !self.lau.code.starts_with(self.country.as_str()) {
            return Err(Error::invalid("lau.code", format!("must be a municipality of {}", self.country)));
        }
        self.nuts3.require_scheme(Scheme::Nuts).map_err(|e| e.within("nuts3"))?;
        self.nuts3.validate().map_err(|e| e.within("nuts3"))?;
        if self.nuts3.nuts_level() != Some(3) {
            return Err(Error::invalid("nuts3.code", "must be a NUTS 3 region (five characters)"));
        }
        if let Some(address) = &self.address {
            require_text("address", address, 300)?;
        }
        Ok(())
    }
}

/// What an organisation does: a primary NACE code and any secondary ones, each with its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub primary: Code,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondary: Vec<Code>,
}

impl Activity {
    pub(crate) fn validate(&self) -> Result<()> {
        let check = |c: &Code, field: String| {
            c.require_scheme(Scheme::Nace).and_then(|()| c.validate()).map_err(|e| e.within(field))
        };
        check(&self.primary, "primary".into())?;
        for (i, c) in self.secondary.iter().enumerate() {
            check(c, format!("secondary[{i}]"))?;
        }
        Ok(())
    }
}

/// A cooperative was founded and entered in its register ("cooperative founded").
///
/// `occurred_on` is the registration date, when the organisation got its legal personality;
/// `founded_on` the date of the deed of incorporation. Nothing of the organisation can be dated
/// before `founded_on`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRegistered {
    pub organisation: OrgId,
    pub occurred_on: Date,
    pub founded_on: Date,
    pub names: Names,
    pub family: Family,
    pub legal_form: LegalForm,
    /// For cooperatives: which of the ICLS four.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooperative_type: Option<CooperativeType>,
    /// The ESSGlobal business-model type, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_model: Option<Code>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<ExternalId>,
    pub seat: Seat,
    pub activity: Activity,
    pub fiscal_year_end: FiscalYearEnd,
    /// How many founders signed the deed (TR: at least 7, Law 1163 art. 2).
    pub founders: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed_capital: Option<Money>,
}

/// A register a social-economy organisation is entered in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Register {
    /// Italy: Albo delle società cooperative, section and category.
    ItAlbo { section: AlboSection, category: String },
    /// Italy: Registro unico nazionale del Terzo settore, by section.
    ItRunts { section: String },
    /// Türkiye: the cooperatives information system of the Ministry of Trade.
    TrKoopbis,
    /// France: a regional chamber's list of social and solidarity economy enterprises.
    FrEss,
    /// United Kingdom: the FCA Mutuals Public Register.
    GbMpr,
    /// Any other register, by name.
    Other { name: String },
}

/// The two sections of the Italian Albo (c.c. 2512–2513).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlboSection {
    /// Cooperatives with prevalent mutuality: the capital-interest cap of c.c. 2514 applies.
    Prevalent,
    /// Other cooperatives.
    NonPrevalent,
}

/// The organisation was entered in a register (or its entry changed or ended).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEntryRecorded {
    pub occurred_on: Date,
    pub register: Register,
    pub entry_number: String,
    pub from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

/// How votes are counted in the general assembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VotingRule {
    /// One member, one vote (ICA principle 2).
    OneMemberOneVote,
    /// Votes by shares or transactions, up to a maximum per member.
    Weighted,
    /// One vote each, with more for some members up to a cap (c.c. 2538 for legal persons).
    Capped,
}

/// The statute was amended: the clauses the registry and its indicators rely on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatuteAmended {
    pub occurred_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly: Option<AssemblyId>,
    pub voting_rule: VotingRule,
    /// 1 under one member, one vote.
    pub max_votes_per_member: u32,
    /// How many other members one member may represent by proxy.
    pub proxy_limit: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_share_value: Option<Money>,
    /// Whether the statute locks reserves as indivisible among members (asset lock).
    pub indivisible_reserve_clause: bool,
}

/// The organisation took new names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRenamed {
    pub occurred_on: Date,
    pub names: Names,
}

/// The organisation moved its seat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatRelocated {
    pub occurred_on: Date,
    pub seat: Seat,
}

/// The organisation's activity was classified anew (a new activity, or a new NACE version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityReclassified {
    pub occurred_on: Date,
    pub activity: Activity,
}

/// The standing of a going concern. Dissolution and closing have events of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Inactive,
    Suspended,
    /// Under an administrator appointed by the authority (IT commissariamento).
    UnderAdministration,
}

/// The organisation's standing changed. Changing to `active` while in liquidation revokes the
/// dissolution (c.c. 2487-ter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChanged {
    pub occurred_on: Date,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why an organisation was dissolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DissolutionKind {
    /// By the members' assembly.
    Voluntary,
    /// By a court.
    Court,
    /// By the supervising authority.
    Administrative,
    /// Dissolved into a merger.
    Merger,
    /// For not adapting the statute to a new law in time.
    FailureToAdaptStatute,
    /// Deemed dissolved by law (TR münfesih: no assembly for three years in a row).
    DeemedByLaw,
}

/// The organisation was dissolved and went into liquidation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DissolutionResolved {
    pub occurred_on: Date,
    pub kind: DissolutionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly: Option<AssemblyId>,
    /// The court or authority, for dissolutions not resolved by the members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

/// Where residual assets went at the end of a liquidation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// A mutual fund for the promotion of cooperation (IT L. 59/1992).
    MutualFund,
    /// Another social-economy organisation.
    SocialEconomyEntity {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        organisation: Option<OrgId>,
    },
    /// The members.
    Members,
    /// The state.
    State,
}

/// One part of the residual assets and who received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Devolution {
    pub to: Recipient,
    pub amount: Money,
}

/// The liquidation ended: the organisation is closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidationClosed {
    pub occurred_on: Date,
    pub residual_assets: Money,
    /// Adds up exactly to `residual_assets`.
    #[serde(default)]
    pub devolved: Vec<Devolution>,
}

/// How organisations merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergerKind {
    /// One organisation absorbed the others.
    Absorption,
    /// All merged into a newly registered organisation (`absorbing`).
    NewEntity,
    /// The absorbed transferred their engagements (UK societies).
    TransferOfEngagements,
}

/// A merger completed. It is recorded in the stream of every organisation taking part, each from
/// its own side; an absorbed organisation is closed by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergerCompleted {
    pub occurred_on: Date,
    pub kind: MergerKind,
    pub absorbing: OrgId,
    pub absorbed: Vec<OrgId>,
}

/// The organisation changed its legal form. Under an asset lock, the locked assets go elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalFormConverted {
    pub occurred_on: Date,
    pub from: LegalForm,
    pub to: LegalForm,
    /// The family after the conversion.
    pub family: Family,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets_devolved: Option<Money>,
}

/// A federation, union or network (TMKB, Legacoop, Confcooperative, ESMED, ICA…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Federation {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrgId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<ExternalId>,
}

/// Joined or left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffiliationChange {
    Joined,
    Left,
}

/// The organisation joined or left a federation: inter-cooperation (ICA principle 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffiliationChanged {
    pub occurred_on: Date,
    pub federation: Federation,
    pub change: AffiliationChange,
}

/// What kind of public asset a commons agreement covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommonsAsset {
    SocialCentre,
    Garden,
    Building,
    Space,
    Other,
}

/// Who a party to a commons agreement is. Never a natural person by name: citizens who sign are
/// counted in `citizen_signatories`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    PublicBody,
    Organisation,
    InformalGroup,
}

/// A party to a commons agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    pub kind: PartyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrgId>,
}

/// A collaboration pact over a public asset was signed (Reggio Emilia's social centres, İzmir's
/// neighbourhood gardens, Leverano's buildings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonsAgreementSigned {
    pub occurred_on: Date,
    pub agreement: AgreementId,
    pub municipality: Code,
    pub asset: String,
    pub asset_kind: CommonsAsset,
    /// The legal instrument, e.g. `patto di collaborazione`.
    pub instrument: String,
    pub parties: Vec<Party>,
    #[serde(default)]
    pub citizen_signatories: u32,
    pub from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

/// Why a commons agreement ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementEnd {
    Expired,
    Terminated,
    Withdrawn,
}

/// A commons agreement ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonsAgreementEnded {
    pub occurred_on: Date,
    pub agreement: AgreementId,
    pub reason: AgreementEnd,
}
