//! AWS credentials as users have them. With the `aws` feature, through the AWS SDK's own chain:
//! environment variables, `~/.aws/config` and `credentials` with named profiles (`AWS_PROFILE`),
//! SSO sessions created by `aws sso login`, `credential_process`, web identity and instance
//! metadata, and `aws check` asks STS who they belong to. Without it (a lighter first build),
//! keys come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, or `.env`) only. Either way: region and custom endpoints
//! (`AWS_ENDPOINT_URL`) for S3-compatible stores.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[cfg(feature = "aws")]
use aws_config::BehaviorVersion;
#[cfg(feature = "aws")]
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::AwsCredential;

use crate::config::Env;

/// The resolved AWS configuration: region, endpoint and a credentials provider.
pub struct Aws {
    #[cfg(feature = "aws")]
    config: aws_config::SdkConfig,
    /// Without the `aws` feature: the region of the environment.
    #[cfg(not(feature = "aws"))]
    region: Option<String>,
    /// The profile in use (`AWS_PROFILE`, else `default`).
    pub profile: String,
    env: Env,
    /// A custom S3 endpoint (only S3 uses it; STS keeps its own).
    endpoint: Option<String>,
}

/// Resolved credentials.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The access key id.
    pub access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    /// When they expire, if they do.
    pub expiry: Option<SystemTime>,
}

impl Keys {
    /// Keys of the environment (or `.env`).
    fn from_env(env: &Env) -> Option<Keys> {
        match (
            env.get("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty()),
            env.get("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty()),
        ) {
            (Some(id), Some(secret)) => Some(Keys {
                access_key_id: id.to_owned(),
                secret_access_key: secret.to_owned(),
                session_token: env.get("AWS_SESSION_TOKEN").map(str::to_owned),
                expiry: None,
            }),
            _ => None,
        }
    }

    #[cfg(feature = "aws")]
    fn from_sdk(credentials: &aws_credential_types::Credentials) -> Keys {
        Keys {
            access_key_id: credentials.access_key_id().to_owned(),
            secret_access_key: credentials.secret_access_key().to_owned(),
            session_token: credentials.session_token().map(str::to_owned),
            expiry: credentials.expiry(),
        }
    }
}

/// Who the credentials say you are.
#[derive(Debug)]
pub struct Identity {
    /// The access key id (never the secret).
    pub access_key_id: String,
    /// When the credentials expire, if they do.
    pub expiry: Option<SystemTime>,
    /// Account and ARN, when STS answered.
    pub account_arn: Result<(String, String), String>,
}

impl Aws {
    /// Loads the configuration the way the AWS CLI does (`.env` may set `AWS_PROFILE`,
    /// `AWS_REGION` and `AWS_ENDPOINT_URL`).
    pub async fn load(env: &Env) -> Aws {
        let profile = env
            .get("AWS_PROFILE")
            .filter(|p| !p.is_empty())
            .unwrap_or("default")
            .to_owned();
        let endpoint = env
            .get("AWS_ENDPOINT_URL_S3")
            .or_else(|| env.get("AWS_ENDPOINT_URL"))
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        #[cfg(not(feature = "aws"))]
        return Aws {
            region: env
                .get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION"))
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            profile,
            env: env.clone(),
            endpoint,
        };
        #[cfg(feature = "aws")]
        Aws::load_chain(env, profile, endpoint).await
    }

    #[cfg(feature = "aws")]
    async fn load_chain(env: &Env, profile: String, endpoint: Option<String>) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(p) = env.get("AWS_PROFILE").filter(|p| !p.is_empty()) {
            loader = loader.profile_name(p);
        }
        if let Some(region) = env
            .get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .filter(|r| !r.is_empty())
        {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        // Keys in the environment (or `.env`) come first, as in the SDK's own chain.
        if let Some(keys) = Keys::from_env(env) {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                keys.access_key_id,
                keys.secret_access_key,
                keys.session_token,
                None,
                "environment",
            ));
        }
        let config_file = env.get("AWS_CONFIG_FILE").filter(|v| !v.is_empty());
        let credentials_file = env
            .get("AWS_SHARED_CREDENTIALS_FILE")
            .filter(|v| !v.is_empty());
        if config_file.is_some() || credentials_file.is_some() {
            use aws_runtime::env_config::file::{
                EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
            };
            let mut files = ProfileFiles::builder();
            match config_file {
                Some(path) => files = files.with_file(ProfileFileKind::Config, path),
                None => files = files.include_default_config_file(true),
            }
            match credentials_file {
                Some(path) => files = files.with_file(ProfileFileKind::Credentials, path),
                None => files = files.include_default_credentials_file(true),
            }
            loader = loader.profile_files(files.build());
        }
        Aws {
            config: loader.load().await,
            profile,
            env: env.clone(),
            endpoint,
        }
    }

    /// The region (default `us-east-1`).
    pub fn region(&self) -> String {
        #[cfg(feature = "aws")]
        let region = self.config.region().map(|r| r.to_string());
        #[cfg(not(feature = "aws"))]
        let region = self.region.clone();
        region.unwrap_or_else(|| "us-east-1".to_owned())
    }

    /// A custom endpoint (an S3-compatible store), if configured.
    pub fn endpoint(&self) -> Option<String> {
        self.endpoint.clone()
    }

    /// Resolves the credentials now. The error says what to run to log in.
    #[cfg(feature = "aws")]
    pub async fn credentials(&self) -> Result<Keys, String> {
        let Some(provider) = self.config.credentials_provider() else {
            return Err(self.login_advice("no AWS credentials are configured"));
        };
        match provider.provide_credentials().await {
            Ok(credentials) => {
                if credentials.expiry().is_some_and(|e| e <= SystemTime::now()) {
                    return Err(self.login_advice("the AWS credentials have expired"));
                }
                Ok(Keys::from_sdk(&credentials))
            }
            Err(e) => Err(self.login_advice(&format!(
                "the AWS credentials could not be resolved ({})",
                error_chain(&e)
            ))),
        }
    }

    /// Resolves the credentials now: the environment's keys, in a build without the `aws`
    /// feature. The error says what to set, and that profiles and SSO need the feature.
    #[cfg(not(feature = "aws"))]
    pub async fn credentials(&self) -> Result<Keys, String> {
        Keys::from_env(&self.env).ok_or_else(|| {
            self.login_advice(
                "no AWS credentials are in the environment (this build of strata reads \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only; profiles and SSO logins need \
                 its `aws` feature: strata = { package = \"strata-pg\", version = \"0.1\", features = [\"aws\"] })",
            )
        })
    }

    /// The credentials provider for object stores.
    pub fn object_store_credentials(&self) -> Arc<ChainCredentials> {
        Arc::new(ChainCredentials {
            #[cfg(feature = "aws")]
            provider: self.config.credentials_provider(),
            #[cfg(not(feature = "aws"))]
            keys: Keys::from_env(&self.env),
            cached: Mutex::new(None),
        })
    }

    /// Who the credentials belong to: without the `aws` feature, STS is not asked.
    #[cfg(not(feature = "aws"))]
    pub async fn identity(&self) -> Result<Identity, String> {
        let keys = self.credentials().await?;
        Ok(Identity {
            access_key_id: keys.access_key_id,
            expiry: keys.expiry,
            account_arn: Err(
                "this build of strata has no STS client (its `aws` feature is off)".to_owned(),
            ),
        })
    }

    /// Who the credentials belong to, asking STS.
    #[cfg(feature = "aws")]
    pub async fn identity(&self) -> Result<Identity, String> {
        let credentials = self.credentials().await?;
        let sts = aws_sdk_sts::Client::new(&self.config);
        let account_arn =
            match tokio::time::timeout(Duration::from_secs(10), sts.get_caller_identity().send())
                .await
            {
                Ok(Ok(out)) => Ok((
                    out.account().unwrap_or("").to_owned(),
                    out.arn().unwrap_or("").to_owned(),
                )),
                Ok(Err(e)) => Err(error_chain(&e)),
                Err(_) => Err("STS did not answer within 10 s".to_owned()),
            };
        Ok(Identity {
            access_key_id: credentials.access_key_id,
            expiry: credentials.expiry,
            account_arn,
        })
    }

    /// What to do when credentials are missing or expired: `aws sso login` for an SSO profile.
    fn login_advice(&self, problem: &str) -> String {
        match sso_profile(&self.env, &self.profile) {
            Some(sso) => {
                let token = match &sso.token_expiry {
                    Some(Ok(expiry)) if *expiry <= SystemTime::now() => {
                        format!("; its SSO token expired at {}", rfc3339(*expiry))
                    }
                    Some(Ok(expiry)) => {
                        format!("; its SSO token is valid until {}", rfc3339(*expiry))
                    }
                    Some(Err(e)) => format!("; its SSO token cache cannot be read ({e})"),
                    None => "; there is no SSO token yet".to_owned(),
                };
                format!(
                    "{problem}: profile `{}` signs in with SSO{token}. Run `aws sso login --profile {}` and try again",
                    self.profile, self.profile
                )
            }
            None => format!(
                "{problem} for profile `{}`: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure the profile in ~/.aws/config (`aws configure`, or `aws configure sso` then `aws sso login --profile NAME`) and set AWS_PROFILE",
                self.profile
            ),
        }
    }
}

/// An SSO profile and the state of its cached token.
#[derive(Debug)]
pub struct SsoProfile {
    /// The cache file of its token (`~/.aws/sso/cache/<sha1>.json`).
    pub cache_file: PathBuf,
    /// When the cached token expires (`None`: no cache file).
    pub token_expiry: Option<Result<SystemTime, String>>,
}

/// Reads a profile of the shared config file (`AWS_CONFIG_FILE`, else `~/.aws/config`) and, when
/// it signs in with SSO, its token cache as `aws sso login` wrote it.
pub fn sso_profile(env: &Env, profile: &str) -> Option<SsoProfile> {
    let home = env.get("HOME").map(PathBuf::from)?;
    let config = env
        .get("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/config"));
    let text = std::fs::read_to_string(config).ok()?;
    let header = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    let section = ini_section(&text, &header)?;
    let session = section
        .iter()
        .find(|(k, _)| k == "sso_session")
        .map(|(_, v)| v.clone());
    let start_url = section
        .iter()
        .find(|(k, _)| k == "sso_start_url")
        .map(|(_, v)| v.clone());
    // The cache key: the session name for `sso-session` profiles, else the start URL.
    let key = session.or(start_url)?;
    let digest = {
        use sha1::Digest as _;
        sha1::Sha1::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let cache_file = home.join(".aws/sso/cache").join(format!("{digest}.json"));
    let token_expiry = std::fs::read_to_string(&cache_file).ok().map(|json| {
        let value: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| format!("{}: {e}", cache_file.display()))?;
        let expires = value["expiresAt"]
            .as_str()
            .ok_or_else(|| format!("{}: no expiresAt", cache_file.display()))?;
        parse_rfc3339(expires).ok_or_else(|| {
            format!(
                "{}: cannot read expiresAt `{expires}`",
                cache_file.display()
            )
        })
    });
    Some(SsoProfile {
        cache_file,
        token_expiry,
    })
}

/// The `key = value` pairs of one `[header]` section of an INI file.
fn ini_section(text: &str, header: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == header;
            found |= inside;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            pairs.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    found.then_some(pairs)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff]Z` (the form the SSO cache uses).
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim_end_matches('Z').trim_end_matches("UTC");
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + h * 3600 + min * 60 + s;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(time: SystemTime) -> String {
    let stamp = crate::source::migrations::utc_timestamp_of(time);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[8..10],
        &stamp[10..12],
        &stamp[12..14]
    )
}

/// An error with its causes, one after the other.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The SDK's credentials chain as an `object_store` credential provider, cached until shortly
/// before the credentials expire.
#[derive(Debug)]
pub struct ChainCredentials {
    #[cfg(feature = "aws")]
    provider: Option<SharedCredentialsProvider>,
    #[cfg(not(feature = "aws"))]
    keys: Option<Keys>,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

#[async_trait::async_trait]
impl object_store::CredentialProvider for ChainCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let margin = Duration::from_secs(300);
        if let Some((credential, expiry)) = &*self.cached.lock().expect("credentials poisoned")
            && expiry.is_none_or(|e| e > SystemTime::now() + margin)
        {
            return Ok(credential.clone());
        }
        let missing = || object_store::Error::Generic {
            store: "S3",
            source: "no AWS credentials are configured (run `strata aws check`)".into(),
        };
        #[cfg(feature = "aws")]
        let credentials = Keys::from_sdk(
            &self
                .provider
                .as_ref()
                .ok_or_else(missing)?
                .provide_credentials()
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: format!("resolving AWS credentials: {e} (run `strata aws check`)")
                        .into(),
                })?,
        );
        #[cfg(not(feature = "aws"))]
        let credentials = self.keys.clone().ok_or_else(missing)?;
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id,
            secret_key: credentials.secret_access_key,
            token: credentials.session_token,
        });
        *self.cached.lock().expect("credentials poisoned") =
            Some((credential.clone(), credentials.expiry));
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let time = parse_rfc3339("2026-11-24T09:30:15Z").unwrap();
        assert_eq!(rfc3339(time), "2026-11-24T09:30:15Z");
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59.123Z").map(rfc3339),
            Some("2024-02-29T23:59:59Z".into())
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn ini_sections() {
        let text = "[default]\nregion = eu-west-1\n[profile dev]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n";
        assert_eq!(
            ini_section(text, "profile dev"),
            Some(vec![("sso_session".into(), "corp".into())])
        );
        assert_eq!(ini_section(text, "profile other"), None);
    }
}
