//! References between catalog objects, read from PostgreSQL's deparsed text.
//!
//! The catalog is read with `search_path = pg_catalog`, so every user object that an expression,
//! type or definition mentions is schema-qualified. Scanning the text for `schema.name` tokens
//! (outside string literals, dollar quotes and comments) and keeping those that name an object of
//! the catalog gives the objects it references. A false positive (a table alias that happens to
//! equal a schema name) only adds an ordering constraint; it never changes SQL.

use std::collections::BTreeSet;

use crate::catalog::{Catalog, FunctionKey, QualName};
use crate::plan::ObjectRef;

/// Every `a.b` pair of identifiers in `text`, in order of appearance (duplicates removed).
pub fn qualified_names(text: &str) -> Vec<QualName> {
    let tokens: Vec<Token> = identifier_tokens(text)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for window in tokens.windows(3) {
        if let [Token::Ident(a), Token::Dot, Token::Ident(b)] = window {
            let name = QualName::new(a.clone(), b.clone());
            if seen.insert(name.clone()) {
                out.push(name);
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Dot,
    Other,
}

/// Identifiers (bare ones folded to lower case, quoted ones as written) and dots, each with its
/// span (in chars); everything else collapses to `Other`.
fn identifier_tokens(text: &str) -> Vec<(Token, std::ops::Range<usize>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let before = tokens.len();
        match c {
            '\'' => {
                // A string literal: '' is an escaped quote.
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                tokens.push((Token::Other, 0..0));
            }
            '"' => {
                let mut name = String::new();
                i += 1;
                while i < chars.len() {
                    if chars[i] == '"' {
                        if chars.get(i + 1) == Some(&'"') {
                            name.push('"');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                i += 1;
                tokens.push((Token::Ident(name), 0..0));
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            '$' => {
                // A dollar quote $tag$ … $tag$ (or a positional parameter $1).
                let start = i;
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if chars.get(j) == Some(&'$')
                    && !chars[i + 1..j].first().is_some_and(|c| c.is_ascii_digit())
                {
                    let tag: String = chars[start..=j].iter().collect();
                    let rest: String = chars[j + 1..].iter().collect();
                    match rest.find(&tag) {
                        Some(end) => i = j + 1 + rest[..end].chars().count() + tag.chars().count(),
                        None => i = chars.len(),
                    }
                } else {
                    i = j;
                }
                tokens.push((Token::Other, 0..0));
            }
            '.' => {
                tokens.push((Token::Dot, 0..0));
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::new();
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    name.push(chars[i].to_ascii_lowercase());
                    i += 1;
                }
                tokens.push((Token::Ident(name), 0..0));
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                tokens.push((Token::Other, 0..0));
                i += 1;
            }
        }
        if tokens.len() > before {
            let span = start..i.min(chars.len());
            if let Some(last) = tokens.last_mut() {
                last.1 = span;
            }
        }
    }
    tokens
}

/// Rewrites identifiers in `text`: `replace` gets the tokens and the index of an identifier
/// and returns its new spelling, or `None` to keep it.
fn rewrite(
    text: &str,
    replace: impl Fn(&[(Token, std::ops::Range<usize>)], usize) -> Option<String>,
) -> String {
    let tokens = identifier_tokens(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for i in 0..tokens.len() {
        if !matches!(tokens[i].0, Token::Ident(_)) {
            continue;
        }
        if let Some(new) = replace(&tokens, i) {
            let span = tokens[i].1.clone();
            out.extend(&chars[at..span.start]);
            out.push_str(&new);
            at = span.end;
        }
    }
    out.extend(&chars[at..]);
    out
}

fn ident_at(tokens: &[(Token, std::ops::Range<usize>)], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some((Token::Ident(name), _)) => Some(name),
        _ => None,
    }
}

fn is_dot(tokens: &[(Token, std::ops::Range<usize>)], i: usize) -> bool {
    matches!(tokens.get(i), Some((Token::Dot, _)))
}

/// An identifier spelled as PostgreSQL's deparser would: bare when plain lower case.
pub fn spell(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else {
        crate::sql::quote_ident(name)
    }
}

/// Whether `text` mentions the identifier `name` anywhere outside literals and comments (as a
/// column, or as part of a qualified name).
pub fn mentions(text: &str, name: &str) -> bool {
    identifier_tokens(text)
        .iter()
        .any(|(t, _)| matches!(t, Token::Ident(n) if n == name))
}

/// Replaces `old.schema.old.name` (as a qualified pair) with `new`, also inside `'…'::regclass`
/// literals.
pub fn replace_qualified(text: &str, old: &QualName, new: &QualName) -> String {
    let replaced = rewrite(text, |tokens, i| {
        if ident_at(tokens, i) == Some(old.schema.as_str())
            && is_dot(tokens, i + 1)
            && ident_at(tokens, i + 2) == Some(old.name.as_str())
        {
            return Some(spell(&new.schema));
        }
        if i >= 2
            && ident_at(tokens, i) == Some(old.name.as_str())
            && is_dot(tokens, i - 1)
            && ident_at(tokens, i - 2) == Some(old.schema.as_str())
        {
            return Some(spell(&new.name));
        }
        None
    });
    replaced.replace(&format!("'{old}'::regclass"), &format!("'{new}'::regclass"))
}

/// Replaces the schema part of every `old.x` pair with `new`.
pub fn replace_schema(text: &str, old: &str, new: &str) -> String {
    let replaced = rewrite(text, |tokens, i| {
        (ident_at(tokens, i) == Some(old)
            && is_dot(tokens, i + 1)
            && ident_at(tokens, i + 2).is_some())
        .then(|| spell(new))
    });
    replaced.replace(&format!("'{}.", spell(old)), &format!("'{}.", spell(new)))
}

/// Replaces every identifier `old` that is not the name part of a qualified pair (a column
/// name in an expression, bare or as `alias.column`).
pub fn replace_identifier(text: &str, old: &str, new: &str) -> String {
    rewrite(text, |tokens, i| {
        if ident_at(tokens, i) != Some(old) {
            return None;
        }
        // `schema.table` pairs name relations: leave them alone.
        if is_dot(tokens, i + 1) {
            return None;
        }
        Some(spell(new))
    })
}

/// The user objects of `catalog` that `text` mentions: relations (tables, views, sequences,
/// types) and functions (every overload of a mentioned name).
pub fn objects_in(catalog: &Catalog, text: &str) -> Vec<ObjectRef> {
    let mut out = Vec::new();
    for name in qualified_names(text) {
        if catalog.tables.contains_key(&name)
            || catalog.views.contains_key(&name)
            || catalog.sequences.contains_key(&name)
            || catalog.types.contains_key(&name)
        {
            out.push(ObjectRef::Relation { name: name.clone() });
        }
        if catalog.collations.contains_key(&name) {
            out.push(ObjectRef::Collation { name: name.clone() });
        }
        if catalog.statistics.contains_key(&name) {
            out.push(ObjectRef::Statistics { name: name.clone() });
        }
        let overloads = catalog.functions.range(
            FunctionKey {
                name: name.clone(),
                arguments: String::new(),
            }..,
        );
        for (key, _) in overloads.take_while(|(key, _)| key.name == name) {
            out.push(ObjectRef::Function { key: key.clone() });
        }
    }
    if !catalog.operators.is_empty() {
        for (schema, symbol) in operators_named(text) {
            out.extend(
                catalog
                    .operators
                    .values()
                    .filter(|o| o.schema == schema && o.name == symbol)
                    .map(|o| ObjectRef::Operator {
                        schema: o.schema.clone(),
                        signature: o.signature(),
                    }),
            );
        }
    }
    out
}

/// The operators a deparsed expression names as `OPERATOR(schema.symbol)` (how PostgreSQL
/// prints an operator outside the search path): schema and symbol.
pub fn operators_named(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("OPERATOR(") {
        rest = &rest[at + "OPERATOR(".len()..];
        let Some(end) = rest.find(')') else { break };
        if let Some((schema, symbol)) = rest[..end].rsplit_once('.') {
            let schema = schema
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .map_or_else(|| schema.to_owned(), |s| s.replace("\"\"", "\""));
            out.push((schema, symbol.to_owned()));
        }
        rest = &rest[end..];
    }
    out
}

/// Names written as `'name'::regclass` literals (as `nextval` defaults are deparsed).
pub fn regclass_literals(text: &str) -> Vec<QualName> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find("'::regclass") {
        let before = &rest[..end];
        if let Some(start) = before.rfind('\'')
            && let Ok(name) = before[start + 1..].parse::<QualName>()
        {
            out.push(name);
        }
        rest = &rest[end + 11..];
    }
    out
}

/// The user collation a `COLLATE` clause's name (`app.german`) refers to.
pub fn collation_refs(catalog: &Catalog, collation: Option<&String>) -> Vec<ObjectRef> {
    collation
        .map(|c| objects_in(catalog, c))
        .unwrap_or_default()
        .into_iter()
        .filter(|r| matches!(r, ObjectRef::Collation { .. }))
        .collect()
}

/// The user types (or tables, as row types) a type name like `app.status[]` refers to.
pub fn type_refs(catalog: &Catalog, data_type: &str) -> Vec<ObjectRef> {
    objects_in(catalog, data_type)
        .into_iter()
        .filter(|r| matches!(r, ObjectRef::Relation { .. }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_qualified_names_outside_literals_and_comments() {
        let text = "nextval('app.ignored'::regclass) + app.f(x) -- other.comment\n + \"My S\".\"T\".col /* a.b */ $$ x.y $$";
        let names: Vec<String> = qualified_names(text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["app.f", "\"My S\".\"T\"", "\"T\".col"]);
    }

    #[test]
    fn rewrites_names() {
        let old = QualName::new("app", "items");
        let new = QualName::new("app", "Goods");
        assert_eq!(
            replace_qualified(
                "SELECT items.id FROM app.items WHERE nextval('app.items'::regclass) > 0",
                &old,
                &new
            ),
            "SELECT items.id FROM app.\"Goods\" WHERE nextval('app.\"Goods\"'::regclass) > 0"
        );
        assert_eq!(
            replace_schema("app.f(x) + 'app.s'::regclass", "app", "core"),
            "core.f(x) + 'core.s'::regclass"
        );
        assert_eq!(
            replace_identifier(
                "CREATE INDEX i ON app.t USING btree (label, lower(label))",
                "label",
                "name"
            ),
            "CREATE INDEX i ON app.t USING btree (name, lower(name))"
        );
        assert_eq!(
            replace_identifier("(old.label IS DISTINCT FROM new.label)", "label", "name"),
            "(old.name IS DISTINCT FROM new.name)"
        );
    }

    #[test]
    fn reads_regclass_literals() {
        assert_eq!(
            regclass_literals("nextval('app.t_id_seq'::regclass)"),
            [QualName::new("app", "t_id_seq")]
        );
    }

    #[test]
    fn regclass_literals_are_strings() {
        // A sequence in a default is a string literal: the caller resolves it explicitly.
        assert!(qualified_names("nextval('s.seq'::regclass)").is_empty());
    }

    #[test]
    fn dollar_quotes_with_tags_and_parameters() {
        let names: Vec<String> = qualified_names("$body$ a.b $body$ || $1 || c.d")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["c.d"]);
    }
}
