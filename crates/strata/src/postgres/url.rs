//! Database URLs that never show their password.
//!
//! A [`DbUrl`] holds a connection string in either form libpq accepts (a `postgres://` URL or
//! `key=value` pairs). Its `Display` and `Debug` print the redacted form, so a URL that ends up in
//! a message or a log cannot leak a password; only [`DbUrl::expose`] gives the real text, for the
//! driver.

use std::fmt;

/// A connection string whose `Display` and `Debug` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(String);

impl DbUrl {
    /// Wraps a connection string.
    pub fn new(url: impl Into<String>) -> Self {
        DbUrl(url.into())
    }

    /// The real connection string, password included. Hand it to a driver, never to a user.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server and credentials with another database name.
    ///
    /// Used to reach a scratch database, or the maintenance database, of the server a URL points at.
    pub fn with_database(&self, database: &str) -> DbUrl {
        let url = &self.0;
        if let Some(scheme_end) = url_scheme_end(url) {
            // postgres://[userinfo@]host[:port][/dbname][?params]
            let rest = &url[scheme_end..];
            let authority_start = rest.rfind('@').map_or(0, |at| at + 1);
            let after_authority = rest[authority_start..]
                .find(['/', '?'])
                .map_or(rest.len(), |i| authority_start + i);
            let query = rest[after_authority..]
                .find('?')
                .map(|i| &rest[after_authority + i..]);
            let encoded = percent_encode_path(database);
            DbUrl(format!(
                "{}{}/{}{}",
                &url[..scheme_end],
                &rest[..after_authority],
                encoded,
                query.unwrap_or("")
            ))
        } else {
            let mut pairs: Vec<String> = split_conninfo(url)
                .into_iter()
                .filter(|(key, _)| key != "dbname")
                .map(|(key, value)| format!("{key}={}", quote_conninfo(&value)))
                .collect();
            pairs.push(format!("dbname={}", quote_conninfo(database)));
            DbUrl(pairs.join(" "))
        }
    }

    /// Removes the given parameters, returning the rest of the connection string and the values
    /// removed (percent-decoded). strata handles some libpq parameters itself (`sslmode`
    /// `verify-full`, `sslrootcert`) that the driver does not know.
    pub(crate) fn remove_params(&self, keys: &[&str]) -> (DbUrl, Vec<(String, String)>) {
        let mut removed = Vec::new();
        let url = &self.0;
        if url_scheme_end(url).is_some() {
            let Some((base, query)) = url.split_once('?') else {
                return (self.clone(), removed);
            };
            let mut kept = Vec::new();
            for param in query.split('&') {
                let (key, value) = param.split_once('=').unwrap_or((param, ""));
                if keys.contains(&key) {
                    removed.push((key.to_owned(), percent_decode(value)));
                } else {
                    kept.push(param);
                }
            }
            let rest = if kept.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", kept.join("&"))
            };
            (DbUrl(rest), removed)
        } else {
            let mut kept = Vec::new();
            for (key, value) in split_conninfo(url) {
                if keys.contains(&key.as_str()) {
                    removed.push((key, value));
                } else {
                    kept.push(format!("{key}={}", quote_conninfo(&value)));
                }
            }
            (DbUrl(kept.join(" ")), removed)
        }
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({:?})", redact(&self.0))
    }
}

const MASK: &str = "***";

/// Replaces every password in a connection string (URL userinfo, `password=` parameters and
/// `key=value` pairs) with `***`. When the text is ambiguous it hides too much rather than too
/// little.
pub fn redact(url: &str) -> String {
    match url_scheme_end(url) {
        Some(scheme_end) => {
            let (scheme, rest) = url.split_at(scheme_end);
            // The last '@' ends the userinfo; a raw '@' inside a password is then hidden too.
            let rest = match rest.rfind('@') {
                Some(at) => {
                    let userinfo = &rest[..at];
                    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                    let masked = if userinfo.contains(':') {
                        format!("{user}:{MASK}")
                    } else {
                        user.to_owned()
                    };
                    format!("{masked}{}", &rest[at..])
                }
                None => rest.to_owned(),
            };
            match rest.split_once('?') {
                Some((base, query)) => {
                    let query: Vec<String> = query
                        .split('&')
                        .map(|param| match param.split_once('=') {
                            Some((key, _)) if is_secret_key(key) => format!("{key}={MASK}"),
                            _ => param.to_owned(),
                        })
                        .collect();
                    format!("{scheme}{base}?{}", query.join("&"))
                }
                None => format!("{scheme}{rest}"),
            }
        }
        None => {
            let pairs = split_conninfo(url);
            if pairs.is_empty() && !url.trim().is_empty() {
                // Not a form we understand: show nothing of it.
                return MASK.to_owned();
            }
            pairs
                .into_iter()
                .map(|(key, value)| {
                    if is_secret_key(&key) {
                        format!("{key}={MASK}")
                    } else {
                        format!("{key}={}", quote_conninfo(&value))
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

fn is_secret_key(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "password" | "sslpassword"
    )
}

/// Index just past `postgres://` or `postgresql://`, when the text is a URL.
fn url_scheme_end(url: &str) -> Option<usize> {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|scheme| {
            url.len() >= scheme.len() && url[..scheme.len()].eq_ignore_ascii_case(scheme)
        })
        .map(|scheme| scheme.len())
}

/// Splits `key=value key='quoted value'` pairs as libpq does. Malformed input yields the pairs
/// read so far; a trailing fragment without `=` is dropped (and so never shown).
fn split_conninfo(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if key.is_empty() || chars.next() != Some('=') {
            return pairs;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

fn quote_conninfo(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '\'', '\\']) {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn percent_encode_path(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_url_userinfo() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example:5432/app"),
            "postgres://app:***@db.example:5432/app"
        );
        assert_eq!(redact("postgresql://app@db/app"), "postgresql://app@db/app");
        assert_eq!(redact("postgres://db/app"), "postgres://db/app");
    }

    #[test]
    fn redacts_password_with_raw_at_sign_and_colon() {
        let shown = redact("postgres://app:p@ss:w@rd@db/app");
        assert!(!shown.contains("ss:w"), "{shown}");
        assert!(!shown.contains("rd"), "{shown}");
        assert!(shown.ends_with("@db/app"), "{shown}");
    }

    #[test]
    fn redacts_password_query_parameter() {
        assert_eq!(
            redact("postgres://db/app?sslmode=require&password=hunter2&PASSWORD=x"),
            "postgres://db/app?sslmode=require&password=***&PASSWORD=***"
        );
    }

    #[test]
    fn redacts_conninfo_pairs() {
        assert_eq!(
            redact("host=db user=app password='a b\\'c' dbname=app"),
            "host=db user=app password=*** dbname=app"
        );
        assert_eq!(redact("host=db password=plain"), "host=db password=***");
    }

    #[test]
    fn hides_text_it_cannot_parse() {
        assert_eq!(redact("not a url with secret"), "***");
    }

    #[test]
    fn display_and_debug_are_redacted() {
        let url = DbUrl::new("postgres://u:topsecret@h/d");
        assert!(!format!("{url}").contains("topsecret"));
        assert!(!format!("{url:?}").contains("topsecret"));
        assert!(url.expose().contains("topsecret"));
    }

    #[test]
    fn removes_parameters() {
        let (rest, removed) = DbUrl::new(
            "postgres://h/d?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
        )
        .remove_params(&["sslmode", "sslrootcert"]);
        assert_eq!(rest.expose(), "postgres://h/d?application_name=x");
        assert_eq!(
            removed,
            vec![
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), "/tmp/ca.pem".into())
            ]
        );
        let (rest, removed) =
            DbUrl::new("host=h sslmode=require dbname=d").remove_params(&["sslmode"]);
        assert_eq!(rest.expose(), "host=h dbname=d");
        assert_eq!(removed, vec![("sslmode".into(), "require".into())]);
    }

    #[test]
    fn replaces_database_in_urls() {
        let url = DbUrl::new("postgres://u:p@h:5432/app?sslmode=require");
        assert_eq!(
            url.with_database("strata scratch").expose(),
            "postgres://u:p@h:5432/strata%20scratch?sslmode=require"
        );
        assert_eq!(
            DbUrl::new("postgres://h").with_database("x").expose(),
            "postgres://h/x"
        );
        assert_eq!(
            DbUrl::new("postgres://h?sslmode=disable")
                .with_database("x")
                .expose(),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            DbUrl::new("host=h dbname=app password='a b'")
                .with_database("x")
                .expose(),
            "host=h password='a b' dbname=x"
        );
    }
}
