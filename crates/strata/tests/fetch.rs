//! External data against a real S3-protocol server (s3s-fs, in-process) and a real PostgreSQL:
//! JSON, NDJSON, CSV and gzip, typed and untyped; credentials from the environment, from profile
//! files, and SSO's token cache; bulk loads and upserts inside a data migration.

use std::collections::HashMap;
use std::io::Write as _;

use serde::Deserialize;
use strata::config::Env;
use strata::data::{Context, DataMigration, DataResult, Migration};
use strata::fetch::Fetcher;
use strata::fetch::aws::Aws;
use strata::testing::TestDatabase;
use strata_testkit::s3::{ACCESS_KEY, SECRET_KEY, s3};
use strata_testkit::server;

/// The environment that points at the test server with its keys.
fn s3_env() -> Env {
    Env::from_pairs(s3().env())
}

#[derive(Debug, Deserialize, PartialEq)]
struct Question {
    code: String,
    text: String,
    weight: i32,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn json_ndjson_csv_and_gzip_typed_and_untyped() {
    let server = s3();
    server.put(
        "formats",
        "questions.json",
        br#"[{"code": "Q1", "text": "Age?", "weight": 1}, {"code": "Q2", "text": "Job?", "weight": 2}]"#,
    );
    let ndjson = b"{\"code\": \"Q1\", \"text\": \"Age?\", \"weight\": 1}\n{\"code\": \"Q2\", \"text\": \"Job?\", \"weight\": 2}\n";
    server.put("formats", "questions.ndjson", ndjson);
    server.put("formats", "nested/questions.ndjson.gz", &gzip(ndjson));
    server.put(
        "formats",
        "questions.csv",
        b"code,text,weight\nQ1,\"Age, in years?\",1\nQ2,Job?,2\n",
    );
    let fetcher = Fetcher::new(s3_env());

    let typed: Vec<Question> = fetcher.json("s3://formats/questions.json").await.unwrap();
    assert_eq!(typed[1].code, "Q2");
    let untyped: serde_json::Value = fetcher.json("s3://formats/questions.json").await.unwrap();
    assert_eq!(untyped[0]["weight"], 1);

    let rows: Vec<Question> = fetcher
        .ndjson("s3://formats/questions.ndjson")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let gunzipped: Vec<serde_json::Value> = fetcher
        .ndjson("s3://formats/nested/questions.ndjson.gz")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(gunzipped[1]["text"], "Job?");

    let csv: Vec<Question> = fetcher
        .csv("s3://formats/questions.csv")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(csv[0].text, "Age, in years?");
    let untyped: Vec<HashMap<String, String>> = fetcher
        .csv("s3://formats/questions.csv")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(untyped[1]["weight"], "2");

    // Every object read is recorded with its ETag.
    let inputs = fetcher.take_inputs();
    assert_eq!(inputs.len(), 4, "{inputs:?}");
    assert!(inputs.iter().all(|i| i.etag.is_some()), "{inputs:?}");

    // Errors name the object, never the credentials.
    let missing = fetcher.bytes("s3://formats/nope.json").await.unwrap_err();
    assert_eq!(missing, "s3://formats/nope.json: no such object");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        b"{\"code\": \"F\", \"text\": \"f\", \"weight\": \"heavy\"}",
    )
    .unwrap();
    let url = format!("file://{}", file.path().display());
    let bad = fetcher.json::<Question>(&url).await.unwrap_err();
    assert!(
        bad.starts_with(&format!("{url}: field `weight`: invalid type")),
        "{bad}"
    );
}

#[tokio::test]
async fn credentials_from_a_profile_file_and_a_wrong_secret() {
    let server = s3();
    server.put("profiles", "hello.txt", b"hello");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(&config, "[profile survey]\nregion = eu-west-1\n").unwrap();
    std::fs::write(
        &credentials,
        format!("[survey]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n\n[wrong]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = not-the-secret\n"),
    )
    .unwrap();
    let env = |profile: &str| {
        Env::from_pairs([
            ("HOME", dir.path().display().to_string()),
            ("AWS_PROFILE", profile.to_owned()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                credentials.display().to_string(),
            ),
            ("AWS_ENDPOINT_URL", server.endpoint().to_owned()),
        ])
    };
    let fetcher = Fetcher::new(env("survey"));
    assert_eq!(fetcher.aws().await.region(), "eu-west-1");
    assert_eq!(
        fetcher.bytes("s3://profiles/hello.txt").await.unwrap(),
        b"hello"
    );

    let wrong = Fetcher::new(env("wrong"))
        .bytes("s3://profiles/hello.txt")
        .await
        .unwrap_err();
    assert!(
        wrong.starts_with("s3://profiles/hello.txt:") && !wrong.contains("not-the-secret"),
        "{wrong}"
    );
}

#[tokio::test]
async fn an_expired_sso_token_says_to_log_in() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join(".aws/config");
    std::fs::create_dir_all(home.path().join(".aws/sso/cache")).unwrap();
    std::fs::write(
        &config,
        "[profile analyst]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Analyst\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    // `aws sso login` names the cache file by the SHA-1 of the session name.
    let cache = home
        .path()
        .join(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json");
    let env = Env::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("AWS_PROFILE", "analyst".to_owned()),
        ("AWS_ACCESS_KEY_ID", String::new()),
    ]);
    std::fs::write(
        &cache,
        r#"{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "x", "expiresAt": "2024-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let sso = strata::fetch::aws::sso_profile(&env, "analyst").unwrap();
    assert_eq!(sso.cache_file, cache);
    let error = Aws::load(&env).await.credentials().await.unwrap_err();
    assert!(
        error.contains(
            "profile `analyst` signs in with SSO; its SSO token expired at 2024-01-01T00:00:00Z"
        ) && error.contains("`aws sso login --profile analyst`"),
        "{error}"
    );
}

#[derive(Deserialize)]
struct Battery {
    name: String,
    prefix: String,
}

/// Loads batteries from an NDJSON object with `upsert`, so it can run again.
struct LoadBatteries(&'static str);

impl DataMigration for LoadBatteries {
    fn name(&self) -> &str {
        "questions_0001_load_batteries"
    }

    fn inputs(&self) -> Vec<String> {
        vec![self.0.to_owned()]
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let mut records = cx.ndjson::<Battery>(self.0).await?;
        let mut load = cx
            .upsert("questions.batteries", &["name", "prefix"], &["name"])
            .await?;
        while let Some(battery) = records.next().await {
            let battery = battery?;
            load.write(&[&battery.name, &battery.prefix]).await?;
        }
        load.finish().await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.execute("DELETE FROM questions.batteries", &[]).await?;
        Ok(())
    }
}

#[tokio::test]
async fn bulk_loads_upserts_and_a_malformed_line() {
    let server = s3();
    server.put(
        "loads",
        "batteries.ndjson",
        b"{\"name\": \"dem\", \"prefix\": \"DEM\"}\n{\"name\": \"hab\", \"prefix\": \"HAB\"}\n",
    );
    server.put(
        "loads",
        "broken.ndjson",
        b"{\"name\": \"new\", \"prefix\": \"NEW\"}\n{\"name\": \"x\", \"prefix\": \"X\"}\n{\"name\": \"y\", \"prefx\": \"Y\"}\n",
    );
    let mut db = TestDatabase::on(server_url())
        .await
        .unwrap()
        .with_env(s3_env());
    db.execute(
        "CREATE SCHEMA questions; CREATE TABLE questions.batteries (id serial PRIMARY KEY, name text NOT NULL UNIQUE, prefix text NOT NULL)",
    )
    .await
    .unwrap();
    let load = Migration::new(LoadBatteries("s3://loads/batteries.ndjson"));
    db.up("questions", &load).await.unwrap();
    db.execute("UPDATE questions.batteries SET prefix = 'OLD'")
        .await
        .unwrap();
    // Again: the same rows, updated in place.
    db.up("questions", &load).await.unwrap();
    let rows: Vec<(String, String)> = db
        .client()
        .query(
            "SELECT name, prefix FROM questions.batteries ORDER BY name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [("dem".into(), "DEM".into()), ("hab".into(), "HAB".into())]
    );

    // A malformed third line: the error names the object, the line and the field; the table
    // is as it was.
    let broken = Migration::new(LoadBatteries("s3://loads/broken.ndjson"));
    let error = db.up("questions", &broken).await.unwrap_err().to_string();
    assert!(
        error.contains("s3://loads/broken.ndjson: line 3: missing field `prefix`"),
        "{error}"
    );
    let count: i64 = db
        .client()
        .query_one("SELECT count(*) FROM questions.batteries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
    db.drop().await.unwrap();
}

fn server_url() -> &'static strata::postgres::url::DbUrl {
    server().url()
}
