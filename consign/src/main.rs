use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = consign::cli::Cli::parse();
    match consign::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
