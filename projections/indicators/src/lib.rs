//! The economic-democracy indicators.
