//! The `glob(pattern, GLOB_MARK | GLOB_BRACE | GLOB_ALTDIRFUNC)` call that
//! keepalived uses for the config file and every include
//! (lib/parser.c `open_and_check_glob`), written out so the counters
//! keepalived collects through its `gl_opendir`/`gl_lstat` hooks are exact:
//! a directory that cannot be opened counts as a missing directory, a
//! non-wildcard name that does not exist counts as a missing file.
//!
//! Behaviour follows glibc: csh-style braces are expanded first (nested,
//! left to right) and each alternative is globbed on its own with its matches
//! sorted, appended in brace order; `*`, `?` and `[...]` do not match a
//! leading `.`; `\` escapes the next character; directories get a trailing
//! `/` (GLOB_MARK).

use std::path::{Path, PathBuf};

/// The outcome of one glob call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GlobResult {
    /// Matches as glob returns them: relative patterns give relative paths.
    pub paths: Vec<String>,
    pub missing_files: u32,
    pub missing_directories: u32,
    /// A directory had to be read (the pattern has a wildcard somewhere).
    pub have_wildcards: bool,
}

/// glibc gives up on brace patterns past this many alternatives in practice
/// only through memory; we cap it so a hostile include line cannot explode.
const MAX_ALTERNATIVES: usize = 4096;

/// Expand csh braces: `a{b,c{d,e}}f` → `abf acdf acef`. An unbalanced brace
/// is kept literally (glibc falls back to globbing the pattern as it is).
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ALTERNATIVES {
        return;
    }
    let bytes = pattern.as_bytes();
    let Some(open) = find_unescaped(bytes, 0, b'{') else {
        out.push(pattern.to_string());
        return;
    };
    let Some((close, commas)) = matching_brace(bytes, open) else {
        out.push(pattern.to_string());
        return;
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut start = open + 1;
    for &c in commas.iter().chain(std::iter::once(&close)) {
        let alt = &pattern[start..c];
        expand_into(&format!("{prefix}{alt}{suffix}"), out);
        start = c + 1;
    }
}

fn find_unescaped(bytes: &[u8], mut i: usize, wanted: u8) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == wanted => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The `}` matching the `{` at `open`, and the depth-1 commas in between.
fn matching_brace(bytes: &[u8], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some((i, commas)),
            b'}' => depth -= 1,
            b',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn has_magic(component: &str) -> bool {
    let b = component.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'*' | b'?' | b'[' => return true,
            _ => i += 1,
        }
    }
    false
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// fnmatch(pattern, name, 0) without FNM_PERIOD handling (done by the
/// caller) for one path component.
pub fn fnmatch(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = match_class(pattern, p, name[n]) {
                        if matched {
                            p = next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == '[' {
                        // No closing ']': a literal '['.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                '\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == name[n] {
                        p += 2;
                        n += 1;
                        continue;
                    }
                }
                c => {
                    if c == name[n] {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

/// Match `c` against the bracket expression at `pattern[start] == '['`;
/// returns (matched, index after `]`) or None if there is no closing `]`.
fn match_class(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &pc = pattern.get(i)?;
        if pc == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if pc == '\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            pc
        };
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = pattern[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
}

/// Glob `pattern` relative to `cwd` (the directory keepalived has
/// `chdir()`ed into).
pub fn glob(pattern: &str, cwd: &Path) -> GlobResult {
    let mut res = GlobResult::default();
    for alt in expand_braces(pattern) {
        let mut found = Vec::new();
        glob_one(&alt, cwd, false, &mut res, &mut found);
        found.sort();
        res.paths.extend(found);
    }
    res
}

fn fs_path(cwd: &Path, p: &str) -> PathBuf {
    if p.is_empty() {
        cwd.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// glibc `glob()` for one brace-free pattern: split at the last `/`, glob the
/// directory part recursively if it has wildcards, then look in each dir.
fn glob_one(
    pattern: &str,
    cwd: &Path,
    only_dirs: bool,
    res: &mut GlobResult,
    out: &mut Vec<String>,
) {
    let (dir_part, file_part) = match pattern.rfind('/') {
        Some(0) => ("/", &pattern[1..]),
        Some(i) => (&pattern[..i], &pattern[i + 1..]),
        None => ("", pattern),
    };
    if file_part.is_empty() {
        // "dir/": only the directory itself, marked.
        let p = fs_path(cwd, &unescape(dir_part));
        if p.is_dir() {
            out.push(format!("{}/", pattern.trim_end_matches('/')));
        } else {
            res.missing_files += 1;
        }
        return;
    }
    let dirs: Vec<String> = if has_magic(dir_part) {
        let mut found = Vec::new();
        glob_one(dir_part, cwd, true, res, &mut found);
        found.sort();
        found
            .into_iter()
            .map(|d| d.trim_end_matches('/').to_string())
            .collect()
    } else {
        vec![unescape(dir_part)]
    };
    for dir in dirs {
        glob_in_dir(file_part, &dir, cwd, only_dirs, res, out);
    }
}

fn join_display(dir: &str, name: &str) -> String {
    match dir {
        "" => name.to_string(),
        "/" => format!("/{name}"),
        d => format!("{d}/{name}"),
    }
}

fn glob_in_dir(
    file_part: &str,
    dir: &str,
    cwd: &Path,
    only_dirs: bool,
    res: &mut GlobResult,
    out: &mut Vec<String>,
) {
    if !has_magic(file_part) {
        let name = unescape(file_part);
        let shown = join_display(dir, &name);
        let p = fs_path(cwd, &shown);
        match std::fs::symlink_metadata(&p) {
            Ok(_) => {
                let is_dir = p.is_dir();
                if only_dirs && !is_dir {
                    return;
                }
                out.push(if is_dir { format!("{shown}/") } else { shown });
            }
            Err(_) => res.missing_files += 1,
        }
        return;
    }
    res.have_wildcards = true;
    let Ok(entries) = std::fs::read_dir(fs_path(cwd, dir)) else {
        res.missing_directories += 1;
        return;
    };
    let pat: Vec<char> = file_part.chars().collect();
    let leading_dot_ok =
        pat.first() == Some(&'.') || (pat.first() == Some(&'\\') && pat.get(1) == Some(&'.'));
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    // readdir() also returns "." and ".."; only a pattern with a leading dot
    // can match them.
    names.push(".".into());
    names.push("..".into());
    for name in names {
        if name.starts_with('.') && !leading_dot_ok {
            continue;
        }
        let chars: Vec<char> = name.chars().collect();
        if !fnmatch(&pat, &chars) {
            continue;
        }
        let shown = join_display(dir, &name);
        let is_dir = fs_path(cwd, &shown).is_dir();
        if only_dirs && !is_dir {
            continue;
        }
        out.push(if is_dir { format!("{shown}/") } else { shown });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{foo/{,cat,dog},bar}"),
            vec!["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(expand_braces("a{b"), vec!["a{b"]);
        assert_eq!(expand_braces("a{b}c"), vec!["abc"]);
        assert_eq!(expand_braces("a\\{b,c}"), vec!["a\\{b,c}"]);
    }

    #[test]
    fn matching() {
        let m = |p: &str, n: &str| {
            fnmatch(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf.bak"));
        assert!(m("a?c", "abc"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("\\*", "*"));
        assert!(m("*", ""));
    }
}
