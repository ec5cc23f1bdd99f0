//! Fee-manager benchmark (run by `scripts/bench/fees.sh`): the Vouch execution config for a request of
//! 10,000 keys against 10,000 stored proposers and 100 patterns, over HTTP on loopback. Prints median and
//! p99 latency, requests/s (sequential and with 4 clients), the latency of the first request after a write
//! (which reloads the server's configuration snapshot), and the ratio of the median to the time serde_json
//! takes to parse the request and serialise a response of the same size.
//!
//! Backend: SQLite in a temp dir, or PostgreSQL when `BUTLER_BENCH_POSTGRES_URL` names a database.

use std::time::{Duration, Instant};

use butler::fees::model::{DefaultConfig, Pattern, Proposer, Relay, Settings};
use butler::fees::transfer::{self, Configuration};
use butler::fees::{Database, Store, http};

const KEYS: usize = 10_000;
const PATTERNS: usize = 100;
const RUNS: usize = 60;
const RELOADS: usize = 5;

fn key(i: usize) -> String {
    let mut ikm = [3u8; 32];
    ikm[..8].copy_from_slice(&(i as u64).to_be_bytes());
    let sk = blst::min_pk::SecretKey::key_gen(&ikm, &[]).expect("ikm is 32 bytes");
    format!("0x{}", hex::encode(sk.sk_to_pk().compress()))
}

fn relay(url: &str, min: Option<&str>) -> Relay {
    Relay {
        id: None,
        url: url.to_string(),
        public_key: None,
        settings: Settings {
            min_value: min.map(str::to_string),
            ..Settings::default()
        },
        disabled: false,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = match std::env::var("BUTLER_BENCH_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Database::Postgres(butler::pg::PgDatabase {
            url,
            password: None,
        }),
        _ => Database::Sqlite {
            path: dir.path().join("fees.db"),
        },
    };
    let store = Store::connect(&db).await?;
    eprintln!("backend: {}", db.describe());

    let t = Instant::now();
    let keys: Vec<String> = (0..KEYS).map(key).collect();
    let wanted = Configuration {
        version: transfer::DOCUMENT_VERSION,
        default_configs: vec![DefaultConfig {
            name: "main".into(),
            settings: Settings {
                fee_recipient: Some("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into()),
                gas_limit: Some("30000000".into()),
                grace: None,
                min_value: Some("0.1".into()),
            },
            active: true,
            relays: Some(vec![
                relay("https://relay1.example.com/", Some("0.2")),
                relay("https://relay2.example.com/", None),
            ]),
        }],
        proposers: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Proposer {
                public_key: k.clone(),
                settings: Settings {
                    min_value: Some(format!("0.{}", i % 9 + 1)),
                    ..Settings::default()
                },
                reset_relays: false,
                relays: Some(vec![relay("https://relay2.example.com/", Some("0.3"))]),
            })
            .collect(),
        proposer_patterns: (0..PATTERNS)
            .map(|i| Pattern {
                name: format!("pattern-{i:03}"),
                pattern: format!("^Wallet{i}/.*$"),
                tags: vec!["bench".into(), format!("t{}", i % 10)],
                settings: Settings {
                    fee_recipient: Some("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359".into()),
                    ..Settings::default()
                },
                reset_relays: i % 2 == 0,
                relays: Some(vec![relay("https://relay3.example.com/", None)]),
            })
            .collect(),
        mux_configs: Vec::new(),
    };
    let plan = transfer::plan(&store.export().await?, &wanted);
    store.apply(&plan).await?;
    eprintln!(
        "seeded {KEYS} proposers and {PATTERNS} patterns in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (router, _) = http::router(store.clone(), None).await?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}/vouch/v2/execution-config/main?tags=bench");
    let body = serde_json::to_vec(&keys)?;
    let client = reqwest::Client::new();

    let send = |client: reqwest::Client, url: String, body: Vec<u8>| async move {
        let t = Instant::now();
        let resp = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status != 200 {
            return Err(format!("status {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((t.elapsed(), bytes))
    };
    let (_, sample) = send(client.clone(), url.clone(), body.clone())
        .await
        .map_err(|e| e.to_string())?;
    let answer: serde_json::Value = serde_json::from_slice(&sample)?;
    let entries = answer["proposers"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(entries, KEYS + PATTERNS, "every key and pattern answered");

    let mut lat = Vec::with_capacity(RUNS);
    let t = Instant::now();
    for _ in 0..RUNS {
        lat.push(
            send(client.clone(), url.clone(), body.clone())
                .await
                .map_err(|e| e.to_string())?
                .0,
        );
    }
    let seq_rps = RUNS as f64 / t.elapsed().as_secs_f64();
    lat.sort();

    // The first request after a write pays for reloading the snapshot.
    let mut reload = Vec::with_capacity(RELOADS);
    for i in 0..RELOADS {
        let mut p = wanted.proposers[i].clone();
        p.settings.grace = Some(i.to_string());
        store.put_proposer(&p).await?;
        reload.push(
            send(client.clone(), url.clone(), body.clone())
                .await
                .map_err(|e| e.to_string())?
                .0,
        );
    }
    reload.sort();

    let clients = 4;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (c, u, b) = (client.clone(), url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..RUNS / clients {
                send(c.clone(), u.clone(), b.clone())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let par_rps = (RUNS / clients * clients) as f64 / t.elapsed().as_secs_f64();

    // Baseline: serde_json parsing the request and serialising a response of the same size.
    let mut base = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let parsed: Vec<String> = serde_json::from_slice(&body)?;
        let out = serde_json::to_vec(&answer)?;
        std::hint::black_box((parsed, out));
        base.push(t.elapsed());
    }
    base.sort();
    let median = percentile(&lat, 0.5);
    let b = percentile(&base, 0.5);
    println!(
        "fee manager bench ({}): request {} keys ({} KiB), response {} entries ({} KiB), {RUNS} runs",
        store.backend(),
        KEYS,
        body.len() / 1024,
        entries,
        sample.len() / 1024
    );
    println!(
        "  latency median {:.1} ms, p99 {:.1} ms",
        ms(median),
        ms(percentile(&lat, 0.99))
    );
    println!("  requests/s: {seq_rps:.1} sequential, {par_rps:.1} with {clients} clients");
    println!(
        "  first request after a write (snapshot reload): median {:.1} ms of {RELOADS}",
        ms(percentile(&reload, 0.5))
    );
    println!(
        "  serde_json parse request + serialise response: median {:.2} ms",
        ms(b)
    );
    println!(
        "  ratio (median latency / serde_json baseline): {:.1}x",
        median.as_secs_f64() / b.as_secs_f64()
    );
    store.close().await;
    Ok(())
}
