//! Text that reaches the terminal.
//!
//! Titles, annotations, tags, paths and registry messages come from content nobody here
//! controls. Printed raw, their control characters could clear the screen, set the window title,
//! hide text or reorder it (bidirectional overrides). Every line `ocictl` prints goes through
//! [`escape`], which shows such characters as `\uXXXX` instead: readable, and still valid inside
//! a JSON string.

use std::borrow::Cow;

/// True for characters that change how a terminal shows what follows: C0 and C1 controls, DEL,
/// and the bidirectional embeddings, overrides and isolates.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character, newlines included, written as `\uXXXX`.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    escape_keeping(text, None)
}

/// As [`escape`], keeping `keep` (a newline, for multi-line output this program laid out).
fn escape_keeping(text: &str, keep: Option<char>) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && Some(c) != keep) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && Some(c) != keep {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Multi-line output laid out by this program (pretty JSON): newlines kept, all else escaped.
pub(crate) fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_keeping(text, Some('\n'))
}

pub(crate) use oci_digest::clip;

/// Writes one line to stdout or stderr. A reader that went away (`ocictl ... | head`) is not an
/// error worth a panic: the line is dropped.
pub(crate) fn write_line(to_stderr: bool, line: &str) {
    use std::io::Write;
    let _ = if to_stderr {
        writeln!(std::io::stderr().lock(), "{line}")
    } else {
        writeln!(std::io::stdout().lock(), "{line}")
    };
}

/// `println!` with the line escaped.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::text::write_line(false, &$crate::text::escape(&format!($($arg)*)))
    };
}

/// `eprintln!` with the line escaped.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::text::write_line(true, &$crate::text::escape(&format!($($arg)*)))
    };
}

pub(crate) use {err, out};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(escape("plain title.txt"), "plain title.txt");
        assert_eq!(escape("a\x1b[2Jb"), "a\\u001b[2Jb");
        assert_eq!(escape("x\u{202e}gpj.exe"), "x\\u202egpj.exe");
        assert_eq!(escape("one\ntwo\r"), "one\\u000atwo\\u000d");
        assert_eq!(escape("\u{9b}31m\u{7f}"), "\\u009b31m\\u007f");
        assert_eq!(
            escape_lines("{\n  \"a\": \"\u{1b}\"\n}"),
            "{\n  \"a\": \"\\u001b\"\n}"
        );
    }

    #[test]
    fn clipping_never_splits_a_character() {
        let wide = "é".repeat(3000);
        let cut = clip(&wide, 2000);
        assert_eq!(cut.chars().count(), 2001);
        assert!(cut.ends_with('…'));
        assert_eq!(clip("short", 2000), "short");
    }
}
