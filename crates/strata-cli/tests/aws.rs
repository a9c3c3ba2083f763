//! `strata aws check` with the real binary: who you are, or how to log in.

mod common;

use std::process::Stdio;

use common::{run, strata};
use strata_testkit::s3::{ACCESS_KEY, SECRET_KEY};

fn aws_check(env: &[(&str, &str)]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut command = strata(home.path());
    command
        .args(["aws", "check"])
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    run(&mut command)
}

#[test]
fn keys_are_shown_without_their_secret() {
    let (code, out, err) = aws_check(&[
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_REGION", "eu-central-1"),
        // No STS here: the identity cannot be confirmed, which is a warning, not a failure.
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "access key: {ACCESS_KEY} (the secret is not shown)"
        )) && out.contains("region: eu-central-1")
            && out.contains("expires: never"),
        "{out}"
    );
    assert!(!out.contains(SECRET_KEY) && !err.contains(SECRET_KEY));
    assert!(err.contains("STS could not confirm"), "{err}");
}

#[test]
fn no_login_says_how_to_log_in() {
    let (code, out, err) = aws_check(&[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("for profile `default`") && err.contains("AWS_ACCESS_KEY_ID"),
        "{err}"
    );
}
