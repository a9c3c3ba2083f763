//! The survey database's data read from an S3-protocol server (`SURVEY_DATA_URL=s3://…`), with
//! the AWS login checked before anything runs.

mod common;

use common::survey_db;
use strata_testkit::TestDb;
use strata_testkit::s3::s3;

#[tokio::test]
async fn data_from_s3_with_etags_recorded() {
    let server = s3();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for file in ["dem_characteristics.json", "pilot_respondents.json"] {
        server.put(
            "survey-data",
            &format!("v1/{file}"),
            &std::fs::read(data.join(file)).unwrap(),
        );
    }
    let db = TestDb::new().await;
    let (code, out, err) = survey_db(&db, &["migrate"], &[]);
    assert_eq!(code, 0, "{out}{err}");

    // Without credentials: nothing runs, and the message says how to log in.
    let source = ("SURVEY_DATA_URL", "s3://survey-data/v1".to_owned());
    let (code, _, err) = survey_db(
        &db,
        &["data", "migrate", "questions"],
        std::slice::from_ref(&source),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no AWS credentials") || err.contains("could not be resolved"),
        "{err}"
    );
    assert!(err.contains("no data migration was run"), "{err}");
    let rows: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM questions.batteries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);

    let mut env = server.env();
    env.push(source);
    let (code, out, err) = survey_db(&db, &["data", "migrate"], &env);
    assert_eq!(code, 0, "{out}{err}");
    let client = db.client().await;
    let questions: i64 = client
        .query_one("SELECT count(*) FROM questions.questions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(questions, 5);
    let inputs: String = client
        .query_one(
            "SELECT inputs::text FROM data_migrations WHERE name = 'questions_0001_dem_characteristics'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        inputs.contains("s3://survey-data/v1/dem_characteristics.json") && inputs.contains("etag"),
        "{inputs}"
    );
}
