//! The `helpline` command: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = helpline::cli::Cli::parse();
    match helpline::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helpline: {e}");
            ExitCode::FAILURE
        }
    }
}
