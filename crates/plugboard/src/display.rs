//! Text that came from a plugin (its log lines, command output, error
//! messages, the task titles it wrote, its manifest's name and description)
//! shown on a terminal: the `plugboard` command and any application that
//! prints what a plugin reported use this one function. A plugin must not be able to move the
//! cursor, recolour or clear the screen, or start a line of its own that
//! looks like plugboard's (`handled`, `QUARANTINED`), so every such text goes
//! through [`escaped`] before it is printed: control characters, including
//! newlines, carriage returns, ESC and the C1 controls, and the Unicode
//! characters that reorder or hide text (bidirectional overrides and
//! isolates, zero-width marks) are written as `\n`, `\r`, `\t` or
//! `\u{…}`, visibly and on the same line.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character a terminal would act on written out as an
/// escape; text without any is returned as is.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether a terminal would act on `c` rather than show it: the C0 and C1
/// controls and DEL, and the characters that change the order or visibility
/// of the text around them.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional marks, embeddings, overrides and isolates.
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            // Zero-width characters and the line and paragraph separators.
            | '\u{200b}'..='\u{200d}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_written_out_on_one_line() {
        assert!(matches!(escaped("Buy milk, café ✓"), Cow::Borrowed(_)));
        assert_eq!(
            escaped("ok\n  auto-tag [task-events@2]: handled\r"),
            "ok\\n  auto-tag [task-events@2]: handled\\r"
        );
        assert_eq!(
            escaped("\u{1b}[2J\u{1b}]0;title\u{7}"),
            "\\u{1b}[2J\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(escaped("\u{9b}31m"), "\\u{9b}31m", "the C1 control sequence introducer");
        assert_eq!(escaped("a\u{202e}gnp.exe"), "a\\u{202e}gnp.exe");
        assert_eq!(escaped("x\u{2066}y\u{200b}\u{7f}"), "x\\u{2066}y\\u{200b}\\u{7f}");
        assert_eq!(escaped("tab\there"), "tab\\there");
    }
}
