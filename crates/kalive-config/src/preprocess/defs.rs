//! `$NAME=value` definitions and the recognition of `$NAME` / `${NAME}`
//! references (keepalived lib/parser.c `find_definition`, `check_definition`,
//! `set_definition`; man keepalived.conf(5) "Parameter substitution").

use std::collections::HashMap;
use std::rc::Rc;

/// Built-in definitions whose value is computed at each use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `${_PWD}`: keepalived's `getcwd()`, i.e. the directory of the file
    /// being read (keepalived `chdir()`s into it).
    Pwd,
    /// `${_INSTANCE}`: the config id.
    Instance,
    /// `${_RANDOM [MIN [MAX]]}`.
    Random,
}

#[derive(Debug, Clone)]
pub struct Def {
    /// The value; for a multi-line definition lines are separated by `\n`.
    pub value: Rc<Vec<u8>>,
    pub multiline: bool,
    pub builtin: Option<Builtin>,
    /// Only `_RANDOM` takes parameters (`${_RANDOM 1 10}`).
    pub max_params: u32,
}

/// The definitions, keyed by name. keepalived keeps a list and finds the
/// first entry with a name; names are unique in it, so a map is equivalent.
#[derive(Debug, Default)]
pub struct Defs {
    map: HashMap<Vec<u8>, Def>,
}

/// A `$NAME`/`${NAME ...}` reference found in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: Vec<u8>,
    pub braces: bool,
    /// Absolute indexes of the first and last digit of `${NAME 1 2}`.
    pub params: Option<(usize, usize)>,
    /// The reference ends the line, so a multi-line definition may be used.
    pub at_end: bool,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Defs {
    /// The standard definitions keepalived 2.2.7 installs (`set_std_definitions`).
    pub fn with_builtins() -> Defs {
        let mut d = Defs::default();
        let mut builtin = |name: &str, b: Option<Builtin>, value: &[u8], max_params| {
            d.map.insert(
                name.as_bytes().to_vec(),
                Def {
                    value: Rc::new(value.to_vec()),
                    multiline: false,
                    builtin: b,
                    max_params,
                },
            );
        };
        builtin("_PWD", Some(Builtin::Pwd), b"", 0);
        builtin("_INSTANCE", Some(Builtin::Instance), b"", 0);
        builtin("_RANDOM", Some(Builtin::Random), b"", 2);
        builtin("_HASH", None, b"#", 0);
        builtin("_BANG", None, b"!", 0);
        d
    }

    pub fn get(&self, name: &[u8]) -> Option<&Def> {
        self.map.get(name)
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Def> {
        self.map.get_mut(name)
    }

    /// Find the definition a reference names, as `find_definition` does:
    /// a multi-line definition only matches a reference at the end of the
    /// line, and parameters only match a definition that takes them.
    pub fn lookup(&self, r: &Reference) -> Option<&Def> {
        let def = self.map.get(&r.name)?;
        if def.multiline && !r.at_end {
            return None;
        }
        if r.params.is_some() && def.max_params == 0 {
            return None;
        }
        Some(def)
    }

    /// `set_definition`: used for `~SEQ`/`~LST` variables. Overriding a
    /// built-in makes it a plain value; an existing definition keeps its
    /// multi-line flag and parameter count (keepalived only swaps the value),
    /// so a sequence variable named like a multi-line macro still only
    /// matches at the end of a line.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        let (multiline, max_params) = self
            .map
            .get(name)
            .map_or((false, 0), |d| (d.multiline, d.max_params));
        self.map.insert(
            name.to_vec(),
            Def {
                value: Rc::new(value.to_vec()),
                multiline,
                builtin: None,
                max_params,
            },
        );
    }

    /// `check_definition`: store a `$NAME=value` line (overriding a built-in
    /// keeps its parameter count, as keepalived reuses the entry).
    pub fn insert_definition(&mut self, d: Definition, max_params: u32) {
        self.map.insert(
            d.name,
            Def {
                value: Rc::new(d.value),
                multiline: d.multiline,
                builtin: None,
                max_params,
            },
        );
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Parse a reference starting just after a `$` at `start` in `line`
/// (`find_definition(name, 0, false)`): `NAME` must be followed by a space,
/// tab, `,`, `)` or the end of the line; `{NAME}` may carry digit parameters
/// separated by spaces but must not end with a space after them.
pub fn parse_reference(line: &[u8], start: usize) -> Option<Reference> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let braces = at(start) == b'{';
    let name_start = start + usize::from(braces);
    if !is_name_start(at(name_start)) {
        return None;
    }
    let mut p = name_start + 1;
    while is_name_char(at(p)) {
        p += 1;
    }
    let name = line[name_start..p].to_vec();
    let mut params = None;
    if braces {
        let mut first = None;
        let mut last = None;
        while at(p) == b' ' || at(p).is_ascii_digit() {
            if at(p) != b' ' {
                first.get_or_insert(p);
                last = Some(p);
            }
            p += 1;
        }
        if let (Some(f), Some(l)) = (first, last) {
            if l + 1 != p {
                return None;
            }
            params = Some((f, l));
        }
        if at(p) != b'}' {
            return None;
        }
    } else if !matches!(at(p), b' ' | b'\t' | b',' | b')' | 0) {
        return None;
    }
    // keepalived tests name[len] (or name[len+1] with braces) for the end of
    // the line, i.e. the character right after the bare name.
    let after_name = name_start + name.len() + usize::from(braces);
    Some(Reference {
        name,
        braces,
        params,
        at_end: at(after_name) == 0,
    })
}

/// A parsed `$NAME=value` line (`check_definition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: Vec<u8>,
    /// The value; a trailing `\` (multi-line) has been turned into `\n`.
    pub value: Vec<u8>,
    pub multiline: bool,
}

/// Recognise `$NAME=value` (only blanks allowed between the name and `=`;
/// keepalived's loop stops the name at `=` and then skips blanks, but a blank
/// is not a name character, so in practice no space is allowed before `=`).
pub fn parse_definition(line: &[u8]) -> Option<Definition> {
    if line.first() != Some(&b'$') || !line.get(1).copied().is_some_and(is_name_start) {
        return None;
    }
    let mut p = 2;
    while p < line.len() && line[p] != b'=' {
        if !is_name_char(line[p]) {
            return None;
        }
        p += 1;
    }
    let name = line[1..p].to_vec();
    if p >= line.len() {
        return None;
    }
    // Skip the '=' then leading blanks of the value.
    p += 1;
    while p < line.len() && matches!(line[p], b' ' | b'\t') {
        p += 1;
    }
    let mut value = line[p..].to_vec();
    let multiline = value.last() == Some(&b'\\');
    if multiline {
        let mut len = value.len();
        while len >= 2 && matches!(value[len - 2], b' ' | b'\t') {
            len -= 1;
        }
        if len < 2 {
            value.clear();
        } else {
            value.truncate(len);
            value[len - 1] = b'\n';
        }
    }
    // An empty plain value: keepalived reads p[-1] here (the '='), which is
    // never '\\', so the definition is simply empty.
    Some(Definition {
        name,
        value,
        multiline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = parse_reference(b"$A x", 1).unwrap();
        assert_eq!(r.name, b"A");
        assert!(!r.at_end);
        assert!(parse_reference(b"$Ay", 1).is_some_and(|r| r.name == b"Ay"));
        assert!(parse_reference(b"$A-", 1).is_none());
        assert!(parse_reference(b"$1", 1).is_none());
        let r = parse_reference(b"${_RANDOM 1 10}", 1).unwrap();
        assert_eq!(r.params, Some((10, 13)));
        // keepalived looks just past the name, so parameters are never "at end".
        assert!(!r.at_end);
        assert!(parse_reference(b"${A}", 1).is_some_and(|r| r.at_end));
        assert!(parse_reference(b"${_RANDOM 1 }", 1).is_none());
        assert!(parse_reference(b"${A }", 1).is_some_and(|r| r.params.is_none()));
        assert!(parse_reference(b"${A", 1).is_none());
    }

    #[test]
    fn definitions() {
        let d = parse_definition(b"$A=  x y").unwrap();
        assert_eq!(
            (d.name.as_slice(), d.value.as_slice()),
            (&b"A"[..], &b"x y"[..])
        );
        assert!(parse_definition(b"$A =x").is_none());
        assert!(parse_definition(b"$1=x").is_none());
        let d = parse_definition(b"$M=abc \\").unwrap();
        assert!(d.multiline);
        assert_eq!(d.value, b"abc\n");
        let d = parse_definition(b"$M= \\").unwrap();
        assert!(d.multiline);
        assert!(d.value.is_empty());
        assert!(parse_definition(b"$E=").is_some_and(|d| d.value.is_empty()));
    }
}
