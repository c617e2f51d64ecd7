//! The domain through its public API: one test binary, a module per part, builders in `support`.

mod codec;
mod economics;
mod governance;
mod lifecycle;
mod members;
mod support;
mod values;
