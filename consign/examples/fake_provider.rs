//! A fake EasyPost for benchmarks (`bench/upstream.sh`): the same recorded answers as the tests'
//! fake (`tests/api/providers.rs`), answering at once, keeping no request log, and issuing a
//! distinct tracking code per purchase so pushed events can target many parcels. Prints its base
//! URL on the first line of stdout and serves until killed.
//!
//!     cargo run --release -p consign --example fake_provider -- EZTK_bench_key

#[allow(dead_code)]
#[path = "../tests/api/providers.rs"]
mod providers;

#[tokio::main]
async fn main() {
    let key = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "EZTK_bench_key".into());
    let fake = providers::easypost(&key).await;
    fake.for_benchmarks();
    println!("{}", fake.base);
    std::future::pending::<()>().await;
}
