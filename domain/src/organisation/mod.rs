//! The organisation aggregate: its state, the commands about it, and `decide`.
//!
//! One stream per organisation ([`crate::OrgId::stream_name`]) is the consistency boundary: its
//! members, assemblies and accounts are all events of that stream, so every rule that relates them
//! (a member cannot leave twice, proxies within the members eligible) is checked against one
//! state, and one append with an expected version makes the decision stick.

mod command;
mod decide;
mod state;

pub use command::{Command, Context};
pub use decide::decide;
pub use state::{
    Assembly, Attendance, ClosedReason, Membership, NaturalPerson, Organisation, Person, Phase, Registration,
};

impl Organisation {
    /// [`decide`] as a method.
    pub fn decide(&self, command: Command, ctx: &Context<'_>) -> crate::Result<Vec<crate::Event>> {
        decide(self, command, ctx)
    }
}
