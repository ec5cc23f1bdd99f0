//! Benchmark baseline for `butler replay`: parses every record of an event store with plain `serde_json`
//! into the record struct (no reducers, no hashing) and prints the rate as JSON.
//!
//! Usage: `cargo run --release --example parse_records -- DATA_DIR/chain`

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use butler::watcher::record::Record;
use butler::watcher::store::log_files;

fn main() -> anyhow::Result<()> {
    let chain_dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: parse_records DATA_DIR/chain"))?,
    );
    let started = Instant::now();
    let mut records = 0u64;
    let mut line = Vec::with_capacity(1024);
    for entry in std::fs::read_dir(&chain_dir)? {
        let dir = entry?.path();
        if !dir.is_dir() {
            continue;
        }
        for file in log_files(&dir)? {
            let mut reader =
                std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&file)?);
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                let r: Record = serde_json::from_slice(&line)?;
                std::hint::black_box(&r);
                records += 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"records": records, "seconds": secs, "eventsPerSec": records as f64 / secs})
    );
    Ok(())
}
