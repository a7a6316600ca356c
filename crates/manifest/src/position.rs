//! Where in `plugin.toml` a byte offset is, in the two forms a user can act on: a
//! line and column to jump to, and the path of the field there
//! (`[events].timers[1].name`).

use std::fmt;

use toml::de::{DeTable, DeValue};

/// A 1-based line and column; the column counts characters, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineColumn {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

impl LineColumn {
    /// The line and column of byte `offset` in `text` (clamped to the text).
    pub(crate) fn of_offset(text: &str, offset: usize) -> Self {
        let before = &text[..text.floor_char_boundary(offset)];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for LineColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One step of a field path: a key of a table or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The path of a field from the top of the manifest, shown as `[events].timers[1].name`;
/// empty for the top level itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of the deepest key or value in `root` whose source span holds `offset`;
    /// the top level when none does (e.g. an error about the whole document).
    pub(crate) fn at_offset(root: &DeTable<'_>, offset: usize) -> Self {
        let mut segments = Vec::new();
        if !search_table(root, offset, &mut segments) {
            segments.clear();
        }
        Self(segments)
    }

    /// Whether this is the top level of the manifest.
    pub(crate) fn is_top_level(&self) -> bool {
        self.0.is_empty()
    }

    /// The last segment when it is the key `key`, removed: the path of the table that
    /// holds `key`. Any other path is returned unchanged.
    pub(crate) fn without_last_key(mut self, key: &str) -> Self {
        if self.0.last() == Some(&Segment::Key(key.to_owned())) {
            self.0.pop();
        }
        self
    }
}

impl FieldPath {
    /// The path of the key reached from the top level through `keys`, e.g.
    /// `["dependencies", "x"]`, and the span of that key in the source; `None` when
    /// the document has no such key. A check that runs after parsing uses it to point
    /// at what it refuses.
    pub(crate) fn of_key(root: &DeTable<'_>, keys: &[&str]) -> Option<(Self, std::ops::Range<usize>)> {
        let (last, tables) = keys.split_last()?;
        let mut table = root;
        for key in tables {
            match table.get(*key)?.get_ref() {
                DeValue::Table(inner) => table = inner,
                _ => return None,
            }
        }
        let (key, _) = table.get_key_value(*last)?;
        let path = keys.iter().map(|key| Segment::Key((*key).to_owned())).collect();
        Some((Self(path), key.span()))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => write!(f, "[{key}]")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn holds(span: std::ops::Range<usize>, offset: usize) -> bool {
    span.contains(&offset)
}

// Children are searched before their parent: the span of an inline table or array
// holds the spans of everything inside it, and the deepest match names the field.
// (The span of a `[table]` header holds only the header, not the keys below it.)
fn search_table(table: &DeTable<'_>, offset: usize, path: &mut Vec<Segment>) -> bool {
    for (key, value) in table {
        path.push(Segment::Key(key.get_ref().to_string()));
        if search_value(value.get_ref(), offset, path) || holds(key.span(), offset) || holds(value.span(), offset) {
            return true;
        }
        path.pop();
    }
    false
}

fn search_value(value: &DeValue<'_>, offset: usize, path: &mut Vec<Segment>) -> bool {
    match value {
        DeValue::Table(table) => search_table(table, offset, path),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                if search_value(item.get_ref(), offset, path) || holds(item.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_at(text: &str, needle: &str) -> String {
        let root = DeTable::parse(text).expect("test documents are valid TOML");
        let offset = text.find(needle).expect("needle is in the test document");
        FieldPath::at_offset(root.get_ref(), offset).to_string()
    }

    #[test]
    fn line_and_column_count_lines_and_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(LineColumn::of_offset(text, 0).to_string(), "1:1");
        assert_eq!(LineColumn::of_offset(text, 6).to_string(), "2:1");
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(LineColumn::of_offset(text, 12).to_string(), "2:6");
        assert_eq!(LineColumn::of_offset(text, 1000).to_string(), "3:1");
    }

    #[test]
    fn paths_name_headers_keys_inline_tables_and_array_items() {
        let text = "[plugin]\nid = \"x\"\n\n[events]\ntimers = [{ name = \"a\" }, { name = \"bb\" }]\n\n[permissions.state]\nquota = 3\n";
        assert_eq!(path_at(text, "[plugin]"), "[plugin]");
        assert_eq!(path_at(text, "\"x\""), "[plugin].id");
        assert_eq!(path_at(text, "\"bb\""), "[events].timers[1].name");
        assert_eq!(path_at(text, "{ name = \"a\""), "[events].timers[0]");
        assert_eq!(path_at(text, "quota"), "[permissions].state.quota");
        assert_eq!(path_at(text, "\n\n[events]"), "");
    }

    #[test]
    fn keys_are_found_in_every_table_form() {
        for text in [
            "[dependencies]\nx = \"1\"\n",
            "dependencies.x = \"1\"\n",
            "dependencies = { x = \"1\" }\n",
            "[dependencies.x]\nversion = \"1\"\n",
        ] {
            let root = DeTable::parse(text).expect("test documents are valid TOML");
            let (path, span) = FieldPath::of_key(root.get_ref(), &["dependencies", "x"]).expect(text);
            assert_eq!(path.to_string(), "[dependencies].x", "{text}");
            assert_eq!(&text[span], "x", "{text}");
        }
        let root = DeTable::parse("[dependencies]\ny = \"1\"\n").expect("valid");
        assert!(FieldPath::of_key(root.get_ref(), &["dependencies", "x"]).is_none());
        assert!(FieldPath::of_key(root.get_ref(), &["plugin", "x"]).is_none());
    }

    #[test]
    fn paths_follow_arrays_of_tables() {
        let text = "[[events.timers]]\nname = \"a\"\n[[events.timers]]\nname = \"b\"\n";
        assert_eq!(path_at(text, "\"b\""), "[events].timers[1].name");
    }
}
