//! Data load: rows of 8 mixed columns as NDJSON in an S3-protocol server (s3s-fs, in-process),
//! streamed into a table through strata's fetch and binary COPY, next to `psql \copy` of the
//! same rows as CSV from a local file. The load runs in a child process so that its peak memory
//! is its own.

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use strata::config::Env;
use strata::fetch::Fetcher;
use strata::postgres::url::DbUrl;

use crate::{Figure, Floor, Row, Target};

const TABLE: &str = "CREATE TABLE people (id bigint, name text, email text, age integer, score double precision, active boolean, created_at timestamptz, note text)";

#[derive(Deserialize)]
struct Person {
    id: i64,
    name: String,
    email: String,
    age: i32,
    score: f64,
    active: bool,
    created_at: i64,
    note: String,
}

/// Writes `rows` rows as NDJSON (into the S3 folder) and as CSV (a local file for psql).
fn generate(rows: usize, ndjson: &std::path::Path, csv: &std::path::Path) -> Result<(), String> {
    let mut json =
        std::io::BufWriter::new(std::fs::File::create(ndjson).map_err(|e| e.to_string())?);
    let mut text = std::io::BufWriter::new(std::fs::File::create(csv).map_err(|e| e.to_string())?);
    for i in 0..rows {
        let (name, email, age, score, active, at, note) = (
            format!("person {i}"),
            format!("person{i}@example.com"),
            18 + (i % 70) as i32,
            (i % 1000) as f64 / 7.0,
            i % 3 != 0,
            1_700_000_000 + i as i64,
            format!("note number {} for the bench", i % 997),
        );
        writeln!(
            json,
            r#"{{"id":{i},"name":"{name}","email":"{email}","age":{age},"score":{score},"active":{active},"created_at":{at},"note":"{note}"}}"#
        )
        .map_err(|e| e.to_string())?;
        writeln!(
            text,
            "{i},{name},{email},{age},{score},{active},{},{note}",
            strata_timestamp(at)
        )
        .map_err(|e| e.to_string())?;
    }
    json.flush().map_err(|e| e.to_string())?;
    text.flush().map_err(|e| e.to_string())
}

/// The time as RFC 3339, which psql's COPY reads.
fn strata_timestamp(epoch: i64) -> String {
    strata::fetch::aws::rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(epoch as u64))
}

/// Stores a file in the S3 server through the S3 protocol (so the server keeps its ETag, as a
/// real store does, instead of hashing the object on every read).
async fn upload(
    s3: &strata_testkit::s3::S3Server,
    bucket: &str,
    key: &str,
    file: &std::path::Path,
) -> Result<(), String> {
    use object_store::ObjectStoreExt as _;
    std::fs::create_dir_all(s3.root().join(bucket)).map_err(|e| e.to_string())?;
    let store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_endpoint(s3.endpoint())
        .with_allow_http(true)
        .with_access_key_id(strata_testkit::s3::ACCESS_KEY)
        .with_secret_access_key(strata_testkit::s3::SECRET_KEY)
        .build()
        .map_err(|e| e.to_string())?;
    let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
    store
        .put(&object_store::path::Path::from(key), bytes.into())
        .await
        .map_err(|e| format!("uploading {key}: {e}"))?;
    Ok(())
}

/// The child: streams `url` into `people` of `db` in one transaction. Prints the row count.
pub async fn child(db: &str, url: &str) -> Result<(), String> {
    let mut client = strata::postgres::connect(&DbUrl::new(db))
        .await
        .map_err(|e| e.to_string())?;
    let fetcher = Fetcher::new(Env::from_process());
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    let mut records = fetcher.ndjson::<Person>(url).await?;
    let types = tx
        .prepare("SELECT id, name, email, age, score, active, created_at, note FROM people LIMIT 0")
        .await
        .map_err(|e| e.to_string())?
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect::<Vec<_>>();
    let sink = tx
        .copy_in::<_, bytes::Bytes>(
            "COPY people (id, name, email, age, score, active, created_at, note) FROM STDIN BINARY",
        )
        .await
        .map_err(|e| e.to_string())?;
    let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    while let Some(person) = records.next().await {
        let p = person?;
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(p.created_at as u64);
        writer
            .as_mut()
            .write(&[
                &p.id, &p.name, &p.email, &p.age, &p.score, &p.active, &at, &p.note,
            ])
            .await
            .map_err(|e| e.to_string())?;
    }
    let rows = writer.finish().await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    // The process's own peak (a fork's count would include its parent's pages).
    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .unwrap_or_default();
    println!("{rows} {peak_kib}");
    Ok(())
}

/// Runs a command; its wall time and standard output.
fn measure(command: &mut Command) -> Result<(Duration, String), String> {
    let started = Instant::now();
    let output = command.output().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok((
        elapsed,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// Times the load of `rows` rows; `repeats` runs of each, medians.
pub async fn measure_load(server: &DbUrl, rows: usize, repeats: usize) -> Result<Vec<Row>, String> {
    let s3 = strata_testkit::s3::s3();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let csv = dir.path().join("people.csv");
    let ndjson = dir.path().join("people.ndjson");
    generate(rows, &ndjson, &csv)?;
    upload(s3, "bench", "people.ndjson", &ndjson).await?;
    let admin = strata::postgres::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let mut strata_runs = Vec::new();
    let mut psql_runs = Vec::new();
    let mut peak = 0;
    for i in 0..repeats {
        for (who, db) in [
            ("strata", format!("bench_load_s_{i}")),
            ("psql", format!("bench_load_p_{i}")),
        ] {
            let url = crate::fresh_database(&admin, server, &db).await?;
            strata::postgres::connect(&url)
                .await
                .map_err(|e| e.to_string())?
                .batch_execute(TABLE)
                .await
                .map_err(crate::pg_error)?;
            if who == "strata" {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                let mut command = Command::new(exe);
                command
                    .args(["--load-child", url.expose(), "s3://bench/people.ndjson"])
                    .envs(s3.env());
                let (time, out) = measure(&mut command)?;
                strata_runs.push(time);
                let rss: i64 = out
                    .split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(|| format!("the load reported no peak memory: {out}"))?;
                peak = peak.max(rss);
            } else {
                let mut command = Command::new("psql");
                command
                    .args([
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-d",
                        url.expose(),
                        "-c",
                    ])
                    .arg(format!("\\copy people FROM '{}' CSV", csv.display()));
                psql_runs.push(measure(&mut command)?.0);
            }
            let loaded: i64 = strata::postgres::connect(&url)
                .await
                .map_err(|e| e.to_string())?
                .query_one("SELECT count(*) FROM people", &[])
                .await
                .map_err(crate::pg_error)?
                .get(0);
            if loaded != rows as i64 {
                return Err(format!("{who} loaded {loaded} rows, not {rows}"));
            }
        }
    }
    let runs = strata_runs.len();
    let strata_time = crate::middle(strata_runs);
    let psql_time = crate::middle(psql_runs);
    Ok(vec![Row {
        what: "load rows (8 columns) from S3 NDJSON".into(),
        n: None,
        strata: Figure::Time {
            time: strata_time,
            peak_kib: u64::try_from(peak).ok(),
            runs,
        },
        drizzle: Figure::Missing("—".into()),
        floor: Some(Floor {
            time: psql_time,
            name: "psql \\copy of local CSV",
        }),
        targets: vec![Target::FloorRatio(1.25), Target::PeakMiB(100)],
        note: format!(
            "{} rows; {:.0} rows/s",
            crate::group(rows),
            rows as f64 / strata_time.as_secs_f64(),
        ),
    }])
}
