//! Benchmarks of imece against peers, in the same run on the same machine: each subcommand prints a
//! markdown table with the ratios. What they measure and the latest figures are in `BENCHMARKS.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backends_bench;
mod embedded;
mod federation_bench;
mod grpc_bench;
mod indicators_bench;
mod log_bench;
mod report;
mod sqlite;
mod workload;

type BoxError = Box<dyn std::error::Error>;

#[derive(Debug, Parser)]
#[command(name = "imece-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The event log: the embedded backend against SQLite (WAL, synchronous=FULL).
    Log(log_bench::Args),
    /// The registry over gRPC: commands and imports through a real node, beside the raw log.
    Grpc(grpc_bench::Args),
    /// Indicators: replaying the log into the projections, and queries by city and year in
    /// process and over gRPC, against SQL over the same facts in SQLite.
    Indicators(indicators_bench::Args),
    /// Federation: a receiver catching up on a partner's published chain (Pull, verification,
    /// durable appends) against a plain copy of the same events, and the lag of live replication.
    Federation(federation_bench::Args),
    /// The event log's backends: the embedded log, the PostgreSQL log and plain PostgreSQL clients
    /// (the peer), with the same appends, reads and subscription.
    Backends(backends_bench::Args),
    /// Opens the log in DIR and prints what recovery found and cost; `log` runs it in a fresh process.
    #[command(name = embedded::REOPEN_SUBCOMMAND, hide = true)]
    ReopenChild { dir: PathBuf },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Log(args) => log_bench::run(&args),
        Command::Grpc(args) => grpc_bench::run(&args),
        Command::Indicators(args) => indicators_bench::run(&args),
        Command::Federation(args) => federation_bench::run(&args),
        Command::Backends(args) => backends_bench::run(&args),
        Command::ReopenChild { dir } => embedded::report_reopen(&dir).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
