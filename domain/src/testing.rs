//! Given / when / then for decisions: a history, a command, and what must come of it.
//!
//! ```
//! use imece_domain::testing::given;
//! use imece_domain::{Command, Date};
//!
//! // Nothing can be recorded about an organisation that was never registered.
//! given([])
//!     .when(Command::ComputeMembershipSnapshot { occurred_on: Date::MIN, as_of: Date::MIN })
//!     .then_expect_refused("organisation");
//! ```
//!
//! The helpers panic with a readable message when the expectation fails: they are for tests.

use time::macros::date;

use crate::events::{ComplianceFindingRecorded, Event};
use crate::organisation::{Command, Context, Organisation, decide};
use crate::rules::RuleBook;
use crate::values::Date;
use crate::{Error, Result};

/// The day tests decide on unless told otherwise: [`Given::today`].
pub const TODAY: Date = date!(2026 - 06 - 30);

/// A history to decide against.
#[derive(Debug)]
pub struct Given {
    history: Vec<Event>,
    today: Date,
    rules: RuleBook,
    disclosure_threshold: u32,
}

/// Starts a test from the events of one organisation's stream.
pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    Given {
        history: events.into_iter().collect(),
        today: TODAY,
        rules: RuleBook::standard(),
        disclosure_threshold: Context::DISCLOSURE_THRESHOLD,
    }
}

impl Given {
    /// Decide as if today were `today` (default [`TODAY`]).
    pub fn today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    /// Decide with `rules` (default [`RuleBook::standard`]).
    pub fn rules(mut self, rules: RuleBook) -> Self {
        self.rules = rules;
        self
    }

    /// Decide with this disclosure threshold (default 5).
    pub fn disclosure_threshold(mut self, threshold: u32) -> Self {
        self.disclosure_threshold = threshold;
        self
    }

    /// Decides `command` against the history.
    pub fn when(self, command: Command) -> Then {
        let org = Organisation::from_events(&self.history);
        let ctx = Context { today: self.today, rules: &self.rules, disclosure_threshold: self.disclosure_threshold };
        let name = command.name();
        Then { command: name, result: decide(&org, command, &ctx) }
    }
}

/// The outcome of a decision, to check.
#[derive(Debug)]
pub struct Then {
    command: &'static str,
    result: Result<Vec<Event>>,
}

impl Then {
    /// The decision must give exactly `expected`.
    pub fn then_expect_events(self, expected: Vec<Event>) {
        match self.result {
            Ok(events) => assert_eq!(events, expected, "{} gave other events than expected", self.command),
            Err(e) => panic!("{} was refused ({e}); expected {} event(s)", self.command, expected.len()),
        }
    }

    /// The decision must fail with exactly `expected`.
    pub fn then_expect_error(self, expected: Error) {
        match self.result {
            Ok(events) => panic!("{} gave {events:?}; expected the error {expected}", self.command),
            Err(e) => assert_eq!(e, expected),
        }
    }

    /// The decision must fail with [`Error::Invalid`] on `field`; returns the error to look closer.
    pub fn then_expect_invalid(self, field: &str) -> Error {
        self.expect_field(field, |e| matches!(e, Error::Invalid { .. }), "Invalid")
    }

    /// The decision must fail with [`Error::Refused`] on `field`; returns the error to look closer.
    pub fn then_expect_refused(self, field: &str) -> Error {
        self.expect_field(field, |e| matches!(e, Error::Refused { .. }), "Refused")
    }

    /// The decision must succeed; returns its events.
    pub fn then_events(self) -> Vec<Event> {
        match self.result {
            Ok(events) => events,
            Err(e) => panic!("{} was refused: {e}", self.command),
        }
    }

    /// The decision must record the fact with exactly the compliance findings of `rules` (by rule
    /// id, in order); returns the findings.
    pub fn then_expect_findings(self, rules: &[&str]) -> Vec<ComplianceFindingRecorded> {
        let command = self.command;
        let events = self.then_events();
        assert!(!events.is_empty(), "{command} gave no events");
        let findings: Vec<ComplianceFindingRecorded> = events
            .iter()
            .filter_map(|e| match e {
                Event::ComplianceFindingRecorded(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        let ids: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, rules, "{command} gave other findings than expected: {findings:#?}");
        assert!(
            !matches!(events[0], Event::ComplianceFindingRecorded(_)),
            "{command}: the fact must come before its findings"
        );
        findings
    }

    fn expect_field(self, field: &str, kind: fn(&Error) -> bool, kind_name: &str) -> Error {
        match self.result {
            Ok(events) => panic!("{} gave {events:?}; expected {kind_name} on {field}", self.command),
            Err(e) => {
                assert!(
                    kind(&e) && e.field() == Some(field),
                    "{}: expected {kind_name} on {field}, got {e:?}",
                    self.command
                );
                e
            }
        }
    }
}
