//! `strata aws check`: the AWS login that data migrations will use, resolved the same way.

use std::time::SystemTime;

use crate::fetch::aws::{Aws, rfc3339};
use crate::{Error, Result};

use super::opt::Global;
use super::{Context, Outcome, say};

pub(super) async fn check(context: &Context, global: &Global) -> Result<Outcome> {
    let project = context.project(global)?;
    let aws = Aws::load(&project.env).await;
    let identity = aws.identity().await.map_err(Error::Invalid)?;
    say(format!("profile: {}", aws.profile));
    say(format!("region: {}", aws.region()));
    if let Some(endpoint) = aws.endpoint() {
        say(format!("endpoint: {endpoint}"));
    }
    say(format!(
        "access key: {} (the secret is not shown)",
        identity.access_key_id
    ));
    match identity.expiry {
        Some(expiry) => {
            let minutes = expiry
                .duration_since(SystemTime::now())
                .map_or(0, |d| d.as_secs() / 60);
            say(format!("expires: {} (in {minutes} min)", rfc3339(expiry)));
        }
        None => say("expires: never (long-term keys)"),
    }
    let document = |account: Option<&str>, arn: Option<&str>| {
        super::json::emit(serde_json::json!({
            "profile": aws.profile,
            "region": aws.region(),
            "endpoint": aws.endpoint(),
            "access_key_id": identity.access_key_id,
            "expires": identity.expiry.map(rfc3339),
            "account": account,
            "arn": arn,
        }))
    };
    match &identity.account_arn {
        Ok((account, arn)) => {
            say(format!("account: {account}"));
            say(format!("arn: {arn}"));
            document(Some(account), Some(arn));
            Ok(Outcome::Done)
        }
        Err(e)
            if [
                "ExpiredToken",
                "InvalidClientTokenId",
                "SignatureDoesNotMatch",
            ]
            .iter()
            .any(|code| e.contains(code)) =>
        {
            Err(Error::Invalid(format!(
                "AWS refused these credentials ({e}); log in again (`aws sso login --profile {}` for an SSO profile) and run `strata aws check`",
                aws.profile
            )))
        }
        Err(e) => {
            eprintln!(
                "strata: warning: the credentials resolve, but STS could not confirm who they belong to: {e}"
            );
            document(None, None);
            Ok(Outcome::Done)
        }
    }
}
