//! The `butler` binary: parse arguments, set up logging, run the command, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = butler::cli::Cli::parse();
    butler::cli::init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(butler::cli::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", butler::cli::error_message(&err));
            butler::cli::exit_code_for(&err)
        }
    }
}
