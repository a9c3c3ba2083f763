//! The words of one statement, as much grammar as placing a statement (`units`) and judging it
//! (`lint`) need: keywords, names (quoted or not), parentheses and commas, with strings,
//! dollar-quoted bodies and comments left out.

/// One token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A keyword or unquoted name, upper-cased (`CREATE`), with its folded name (`create`).
    Word(String, String),
    /// A quoted identifier, as it names the object (`"Order"` → `Order`).
    Quoted(String),
    /// A string literal or a number (their value does not matter to the rules).
    Literal,
    /// Any other character: `(`, `)`, `,`, `.`, `;`, operators.
    Punct(char),
}

impl Token {
    /// Whether it is the keyword `word` (upper case).
    pub fn is(&self, word: &str) -> bool {
        matches!(self, Token::Word(w, _) if w == word)
    }

    /// The object name it spells, when it can name one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Token::Word(_, folded) => Some(folded),
            Token::Quoted(name) => Some(name),
            _ => None,
        }
    }
}

/// The tokens of a statement's text.
pub fn tokens(text: &str) -> Vec<Token> {
    tokens_up_to(text, usize::MAX)
}

/// The first `limit` tokens of a statement's text.
pub fn tokens_up_to(text: &str, limit: usize) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() && out.len() < limit {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
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
        } else if c == '\'' {
            let escapes = matches!(out.last(), Some(Token::Word(w, _)) if w == "E");
            if escapes {
                out.pop();
            }
            i += 1;
            while i < chars.len() {
                match chars[i] {
                    '\\' if escapes => i += 2,
                    '\'' if chars.get(i + 1) == Some(&'\'') => i += 2,
                    '\'' => break,
                    _ => i += 1,
                }
            }
            i += 1;
            out.push(Token::Literal);
        } else if c == '"' {
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
            out.push(Token::Quoted(name));
        } else if c == '$' && !chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            // A dollar-quoted body: skipped whole.
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if chars.get(j) == Some(&'$') {
                let tag: String = chars[i..=j].iter().collect();
                let rest: String = chars[j + 1..].iter().collect();
                i = match rest.find(&tag) {
                    Some(end) => j + 1 + rest[..end].chars().count() + tag.chars().count(),
                    None => chars.len(),
                };
                out.push(Token::Literal);
            } else {
                out.push(Token::Punct('$'));
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // PostgreSQL folds unquoted names to lower case in ASCII only.
            out.push(Token::Word(
                word.to_ascii_uppercase(),
                word.to_ascii_lowercase(),
            ));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Literal);
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// A table named in a statement: its schema when written, and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    /// The schema, when the statement names one.
    pub schema: Option<String>,
    /// The table's name.
    pub name: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// A cursor over a statement's tokens.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Words<'a> {
    /// At the start of `tokens`.
    pub fn new(tokens: &'a [Token]) -> Words<'a> {
        Words { tokens, at: 0 }
    }

    /// The token under the cursor.
    pub fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    /// Whether the next tokens are these keywords; if so, steps over them.
    pub fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words
            .iter()
            .enumerate()
            .all(|(k, w)| self.tokens.get(self.at + k).is_some_and(|t| t.is(w)));
        if matches {
            self.at += words.len();
        }
        matches
    }

    /// Steps over a name (`a`, `"A"`, `s.t`): its parts, or nothing when none is there.
    pub fn name(&mut self) -> Option<Vec<String>> {
        let mut parts = vec![self.peek()?.name()?.to_owned()];
        self.at += 1;
        while self.peek() == Some(&Token::Punct('.')) {
            let Some(part) = self.tokens.get(self.at + 1).and_then(Token::name) else {
                break;
            };
            parts.push(part.to_owned());
            self.at += 2;
        }
        Some(parts)
    }

    /// Steps over a table name.
    pub fn table(&mut self) -> Option<TableName> {
        let mut parts = self.name()?;
        let name = parts.pop()?;
        Some(TableName {
            schema: parts.pop(),
            name,
        })
    }

    /// The tokens from the cursor on.
    pub fn rest(&self) -> &'a [Token] {
        &self.tokens[self.at.min(self.tokens.len())..]
    }
}

/// Whether these keywords appear in this order, one right after the other, anywhere in `tokens`.
pub fn contains(tokens: &[Token], words: &[&str]) -> bool {
    position(tokens, words).is_some()
}

/// Where these keywords first appear one after the other in `tokens`.
pub fn position(tokens: &[Token], words: &[&str]) -> Option<usize> {
    (0..tokens.len()).find(|&i| {
        words
            .iter()
            .enumerate()
            .all(|(k, w)| tokens.get(i + k).is_some_and(|t| t.is(w)))
    })
}

/// `tokens` cut at the commas outside parentheses (the actions of an `ALTER TABLE`).
pub fn top_level_parts(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.saturating_sub(1),
            Token::Punct(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_comments_and_bodies_are_left_out() {
        let t = tokens("CREATE /* x */ INDEX -- y\n \"Big\".t ON s.t ('a;b', $$ CREATE $$)");
        assert_eq!(t.iter().filter(|t| t.is("CREATE")).count(), 1);
        assert!(t.contains(&Token::Quoted("Big".into())));
        assert_eq!(t.iter().filter(|t| **t == Token::Literal).count(), 2);
    }

    #[test]
    fn names_and_parts() {
        let t =
            tokens("ALTER TABLE ONLY \"S\".orders ADD a int, ADD CONSTRAINT c CHECK (a IN (1, 2))");
        let mut w = Words::new(&t);
        assert!(w.eat(&["ALTER", "TABLE", "ONLY"]));
        assert_eq!(
            w.table(),
            Some(TableName {
                schema: Some("S".into()),
                name: "orders".into()
            })
        );
        assert_eq!(top_level_parts(w.rest()).len(), 2);
    }
}
