//! The tests of `imece-federation`, one binary (`autotests = false`); helpers in `util.rs`.

mod chain;
mod identity;
mod offline;
mod util;
mod verifier;
