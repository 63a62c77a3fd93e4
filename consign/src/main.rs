use clap::Parser;

/// mimalloc instead of glibc's allocator: list pages decode and render many small values, and
/// glibc's malloc (its arenas' locks) took a quarter of `GET /orders`' time under load. Built
/// without transparent huge pages (`no_thp`): with THP, mimalloc's arenas were backed by 2 MiB
/// pages and an idle server held 40 MiB instead of 25.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
