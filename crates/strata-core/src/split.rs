//! Splitting SQL text into statements the way `psql` does.
//!
//! PostgreSQL runs a multi-statement string as one implicit transaction (which
//! `CREATE INDEX CONCURRENTLY` refuses), and reports error positions within the statement it
//! ran, so strata sends statements one by one and keeps where each began. A semicolon ends a
//! statement unless it is inside a string (`'…'`, `E'…'` with backslash escapes), a quoted
//! identifier, a dollar quote (`$tag$…$tag$`), a comment (`--`, nested `/* */`), parentheses, or
//! a SQL-standard function body (`BEGIN ATOMIC … END`).

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The text, without the terminating semicolon, trimmed of surrounding whitespace (comments
    /// before it are kept: they may hold directives).
    pub text: String,
    /// Byte offset of the statement's first character in the script.
    pub offset: usize,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column (in characters) of its first character.
    pub column: usize,
}

impl Statement {
    /// Line and column in the script of a 1-based character position within the statement (as
    /// PostgreSQL reports them).
    pub fn position(&self, script: &str, character: usize) -> (usize, usize) {
        let within: usize = self
            .text
            .chars()
            .take(character.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        crate::split::line_column(script, self.offset + within)
    }

    /// Whether the statement holds nothing but comments.
    pub fn is_empty(&self) -> bool {
        strip_comments(&self.text).trim().is_empty()
    }

    /// The first `n` words of the statement, upper-cased, comments left out
    /// (`["CREATE", "INDEX", "CONCURRENTLY"]`).
    pub fn keywords(&self, n: usize) -> Vec<String> {
        self.words(n)
            .iter()
            .map(|w| w.to_ascii_uppercase())
            .collect()
    }

    /// The first `n` words as written, comments left out; a word ends at white space or `(`.
    pub fn words(&self, n: usize) -> Vec<String> {
        strip_comments(&self.text)
            .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
            .filter(|w| !w.is_empty())
            .take(n)
            .map(str::to_owned)
            .collect()
    }

    /// Whether the statement starts, ends or steps inside a transaction (`BEGIN`, `COMMIT`,
    /// `ROLLBACK`, `SAVEPOINT`, …), which a script wrapped in a transaction must not do.
    pub fn controls_transaction(&self) -> bool {
        let words = self.keywords(2);
        match words.first().map(String::as_str) {
            Some("BEGIN" | "COMMIT" | "ROLLBACK" | "ABORT" | "END" | "SAVEPOINT" | "RELEASE") => {
                true
            }
            Some("START" | "PREPARE") => words.get(1).is_some_and(|w| w == "TRANSACTION"),
            _ => false,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The statements of a script, in order; empty statements (only comments or whitespace) are left
/// out.
pub fn split(script: &str) -> Vec<Statement> {
    let bytes = script.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut depth = 0usize; // parentheses
    let mut atomic = 0usize; // BEGIN ATOMIC … END nesting
    let mut previous_word = String::new();
    let mut word = String::new();
    let push = |statements: &mut Vec<Statement>, start: usize, end: usize| {
        let raw = &script[start..end];
        let leading = raw.len() - raw.trim_start().len();
        let text = raw.trim().to_owned();
        // Lines and columns are filled in below, in one pass over the script.
        let statement = Statement {
            text,
            offset: start + leading,
            line: 0,
            column: 0,
        };
        if !statement.is_empty() {
            statements.push(statement);
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        // Words, to recognise BEGIN ATOMIC … END (CASE … END inside is balanced too).
        if c.is_ascii_alphanumeric() || c == b'_' {
            word.push(c.to_ascii_lowercase() as char);
            i += 1;
            continue;
        }
        if !word.is_empty() {
            match (previous_word.as_str(), word.as_str()) {
                ("begin", "atomic") => atomic += 1,
                (_, "case") if atomic > 0 => atomic += 1,
                (_, "end") if atomic > 0 => atomic -= 1,
                _ => {}
            }
            previous_word = std::mem::take(&mut word);
        }
        match c {
            b'\'' => {
                // E'…' strings take backslash escapes.
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !bytes[i - 2].is_ascii_alphanumeric());
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if escapes => i += 2,
                        b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                        b'\'' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'"' if bytes.get(i + 1) == Some(&b'"') => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut nesting = 0;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        nesting += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        nesting -= 1;
                        i += 2;
                        if nesting == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' => {
                // $tag$ … $tag$, where a tag is empty or an identifier not starting with a digit;
                // otherwise ($1) a parameter.
                let mut j = i + 1;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] >= 0x80)
                {
                    j += 1;
                }
                let tag_ok = bytes.get(j) == Some(&b'$')
                    && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if tag_ok {
                    let tag = &script[i..=j];
                    match script[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = bytes.len(),
                    }
                } else {
                    i = j.max(i + 1);
                }
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b';' if depth == 0 && atomic == 0 => {
                push(&mut statements, start, i);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < script.len() {
        push(&mut statements, start, script.len());
    }
    let (mut line, mut line_start, mut scanned) = (1, 0, 0);
    for statement in &mut statements {
        for (i, byte) in bytes[scanned..statement.offset].iter().enumerate() {
            if *byte == b'\n' {
                line += 1;
                line_start = scanned + i + 1;
            }
        }
        scanned = statement.offset;
        statement.line = line;
        statement.column = script[line_start..statement.offset].chars().count() + 1;
    }
    statements
}

/// The text without `--` and `/* */` comments (strings and dollar quotes left as they are).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut nesting = 1;
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '/' && c == '*' {
                        nesting += 1;
                    } else if last == '*' && c == '/' {
                        nesting -= 1;
                        if nesting == 0 {
                            break;
                        }
                    }
                    last = c;
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(script: &str) -> Vec<String> {
        split(script).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        assert_eq!(
            texts("select 1; select ';' as \"a;b\"; -- c;\nselect /* d; /* e; */ */ 2;"),
            [
                "select 1",
                "select ';' as \"a;b\"",
                "-- c;\nselect /* d; /* e; */ */ 2"
            ]
        );
    }

    #[test]
    fn dollar_quotes_and_escape_strings() {
        let script = "create function f() returns int language plpgsql as $body$ begin return 1; end $body$;\n\
                      select E'it\\'s; fine', $$a;b$$, $1;";
        assert_eq!(texts(script).len(), 2, "{:?}", texts(script));
        assert!(texts(script)[1].starts_with("select E'it"));
    }

    #[test]
    fn sql_standard_function_bodies() {
        let script = "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end;\nselect 3;";
        assert_eq!(texts(script).len(), 2, "{:?}", texts(script));
    }

    #[test]
    fn keywords_and_transaction_control() {
        let statements = split(
            "-- setup\nbegin;\nCREATE /* x */ index concurrently i ON t(a);\nstart transaction;\n\
             COMMIT;\nCREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;\nPREPARE q AS SELECT 1",
        );
        let keywords: Vec<Vec<String>> = statements.iter().map(|s| s.keywords(3)).collect();
        assert_eq!(keywords[0], ["BEGIN"]);
        assert_eq!(keywords[1], ["CREATE", "INDEX", "CONCURRENTLY"]);
        let control: Vec<bool> = statements
            .iter()
            .map(Statement::controls_transaction)
            .collect();
        assert_eq!(control, [true, false, true, true, false, false]);
    }

    #[test]
    fn comment_only_statements_are_dropped_and_positions_kept() {
        let script = "-- header\n\n  create table t (id int);\n-- trailing comment only\n";
        let statements = split(script);
        assert_eq!(statements.len(), 1);
        assert_eq!((statements[0].line, statements[0].column), (1, 1));
        let script = "select 1;\n\n   select nope;";
        let statements = split(script);
        assert_eq!((statements[1].line, statements[1].column), (3, 4));
        // PostgreSQL reports 1-based character positions within the statement.
        assert_eq!(statements[1].position(script, 8), (3, 11));
    }
}
