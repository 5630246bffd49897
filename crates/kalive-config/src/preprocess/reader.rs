//! keepalived's `read_line()` state machine (lib/parser.c, 2.2.7): the
//! include stack, pending `~SEQ`/`~LST` generators, multi-line macro
//! expansion and the line residue after a `{`/`}` split.

use super::cbuf::{decomment, Buf, MAXBUF};
use super::defs::{parse_definition, parse_reference, Builtin, Defs};
use super::glob::{glob, GlobResult};
use super::seq::{parse_lst, parse_seq_head, parse_seq_numbers, Generator, SEQ_BUF};
use super::{Limits, PreprocessOptions, Preprocessed};
use crate::diag::{DiagKind, Diagnostic, Severity};
use crate::source::{SourceLine, Span};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// keepalived's `include_t` bits (lib/parser.c).
const INCLUDE_R: u8 = 0x01;
const INCLUDE_M: u8 = 0x02;
const INCLUDE_W: u8 = 0x04;
const INCLUDE_B: u8 = 0x08;
const INCLUDE_ALL: u8 = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;

/// Iterations of the line loop that produce nothing before we call it a
/// runaway (keepalived would spin forever).
const MAX_SILENT_ITERATIONS: usize = 1_000_000;
/// `@`/`$` re-examinations of one line.
const MAX_RECHECKS: usize = 4096;
/// A runaway expansion can log "would exceed maximum line length" on every
/// line; after this many only the first ones are kept.
const MAX_REPEATED_NOTES: usize = 20;

/// Where produced text comes from: file, line, and the column that bytes
/// created by expansion map to.
#[derive(Debug, Clone)]
struct Origin {
    file: Arc<PathBuf>,
    line: u32,
    col: u32,
}

impl Origin {
    fn span(&self, col: u32) -> Span {
        Span {
            file: self.file.clone(),
            line: self.line,
            col,
        }
    }
}

/// A position inside a multi-line definition's value (keepalived's
/// `next_ptr`); the value is shared so redefining the macro while it is being
/// expanded cannot pull it away.
#[derive(Debug, Clone)]
struct MultilinePtr {
    value: Rc<Vec<u8>>,
    pos: usize,
    origin: Origin,
}

#[derive(Debug)]
struct SeqEntry {
    gen: Generator,
    text: Buf,
    origin: Origin,
}

#[derive(Debug)]
struct OpenFile {
    display: Arc<PathBuf>,
    canonical: Option<PathBuf>,
    content: Content,
    /// Physical line number of the next chunk and column where it starts.
    line: u32,
    col: u32,
    /// The working directory to return to when the file ends.
    saved_cwd: Option<PathBuf>,
}

/// Where a file's bytes come from: read as needed from the file (a large
/// config is never held whole), or from memory (text given directly,
/// files that are not regular).
#[derive(Debug)]
enum Content {
    Memory { bytes: Vec<u8>, pos: usize },
    Stream(std::io::BufReader<std::fs::File>),
}

impl Content {
    /// Up to `max` bytes ending at the first newline (included) into `out`
    /// (emptied first); empty at the end of the file. A read error ends
    /// the file like the end of file does for `fgets`.
    fn next_chunk(&mut self, max: usize, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Content::Memory { bytes, pos } => {
                let rest = &bytes[(*pos).min(bytes.len())..];
                let nl = rest.iter().take(max).position(|&b| b == b'\n');
                let take = nl.map_or(rest.len().min(max), |i| i + 1);
                out.extend_from_slice(&rest[..take]);
                *pos += take;
            }
            Content::Stream(reader) => {
                use std::io::BufRead;
                while out.len() < max {
                    let Ok(avail) = reader.fill_buf() else { break };
                    if avail.is_empty() {
                        break;
                    }
                    let room = &avail[..avail.len().min(max - out.len())];
                    let nl = room.iter().position(|&b| b == b'\n');
                    let take = nl.map_or(room.len(), |i| i + 1);
                    out.extend_from_slice(&room[..take]);
                    reader.consume(take);
                    if nl.is_some() {
                        break;
                    }
                }
            }
        }
    }
}

/// One `include` (or the main file): its glob matches and the open one.
#[derive(Debug)]
struct IncludeEntry {
    pattern: String,
    paths: Vec<String>,
    next: usize,
    include_type: u8,
    saved_include_check: u8,
    num_matches: u32,
    /// Directory the matches' display names are relative to.
    display_dir: PathBuf,
    file: Option<OpenFile>,
}

/// A physical line chunk as `fgets(buf, MAXBUF)` returns it.
struct Chunk {
    buf: Buf,
    origin: Origin,
}

pub struct Reader {
    config_id: Option<Vec<u8>>,
    limits: Limits,
    diags: Vec<Diagnostic>,
    files: Vec<Arc<PathBuf>>,
    /// The chunk being read (kept to reuse its allocation).
    chunk: Vec<u8>,
    /// Produced lines not yet taken by [`Reader::next_line`] (all of them
    /// when [`Reader::run`] is used).
    lines: Vec<SourceLine>,
    /// Lines produced so far (for [`Limits::max_lines`]).
    emitted: usize,
    out_bytes: usize,
    stopped: bool,
    main_file_missing: bool,
    include_error: bool,

    include_stack: Vec<IncludeEntry>,
    include_check: u8,
    cwd: PathBuf,

    defs: Defs,
    seqs: Vec<SeqEntry>,
    /// keepalived's `seq_list_count`, kept apart from `seqs.len()` because
    /// a rejected `~LST` decrements it without ever having added an entry
    /// (`free_seq_lst()` on the error path). It wraps like the C unsigned,
    /// so after a bad `~LST` later sequences stall exactly as in keepalived.
    seq_count: usize,
    multiline_seq_depth: usize,
    next_ptr: Option<MultilinePtr>,
    multiline_stack: Vec<(MultilinePtr, usize)>,
    residue: Option<(Buf, Origin)>,
    /// Name of the definition whose continuation lines are being read
    /// (keepalived's static `def` + `multiline_param_def`).
    building_def: Option<Vec<u8>>,
    rng: u64,
    overflow_notes: usize,

    /// Enclosing blocks of the produced lines, to spot `include_check`
    /// inside `global_defs`.
    blocks: Vec<String>,
    last_keyword: String,
}

fn severity_note(span: Option<Span>, msg: String) -> Diagnostic {
    Diagnostic::new(Severity::Note, span, msg)
}

impl Reader {
    pub fn new(opts: &PreprocessOptions, limits: &Limits) -> Reader {
        let config_id = opts
            .config_id
            .clone()
            .unwrap_or_else(super::default_config_id)
            .into_bytes();
        let seed = limits.random_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        Reader {
            config_id: Some(config_id),
            limits: limits.clone(),
            diags: Vec::new(),
            files: Vec::new(),
            chunk: Vec::with_capacity(MAXBUF),
            lines: Vec::new(),
            emitted: 0,
            out_bytes: 0,
            stopped: false,
            main_file_missing: false,
            include_error: false,
            include_stack: Vec::new(),
            include_check: if opts.all_config { INCLUDE_ALL } else { 0 },
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            defs: Defs::with_builtins(),
            seqs: Vec::new(),
            seq_count: 0,
            multiline_seq_depth: 0,
            next_ptr: None,
            multiline_stack: Vec::new(),
            residue: None,
            building_def: None,
            rng: seed | 1,
            overflow_notes: 0,
            blocks: Vec::new(),
            last_keyword: String::new(),
        }
    }

    pub fn finish(self) -> Preprocessed {
        Preprocessed {
            lines: self.lines,
            diagnostics: self.diags,
            files: self.files,
            main_file_missing: self.main_file_missing,
            include_error: self.include_error,
        }
    }

    // ---------------------------------------------------------------- diags

    fn current_span(&self) -> Option<Span> {
        let f = self.include_stack.last()?.file.as_ref()?;
        Some(Span {
            file: f.display.clone(),
            line: f.line.saturating_sub(1).max(1),
            col: 1,
        })
    }

    fn error(&mut self, span: Option<Span>, msg: String) {
        self.diags.push(Diagnostic::error(span, msg));
    }

    fn note(&mut self, span: Option<Span>, msg: String) {
        self.diags.push(severity_note(span, msg));
    }

    /// keepalived's `file_config_error()`: an error (exit 4) if the check is
    /// switched on by `include_check`/`-e` or the include variant, else only
    /// printed.
    fn file_error(&mut self, error_type: u8, span: Option<Span>, msg: String) {
        let top_type = self.include_stack.last().map_or(0, |e| e.include_type);
        if (self.include_check | top_type) & error_type != 0 {
            self.include_error = true;
            self.diags
                .push(Diagnostic::new(Severity::Fatal, span, msg).with_kind(DiagKind::Fatal));
        } else {
            self.note(span, msg);
        }
    }

    /// Stop everything: a runaway that keepalived would never finish.
    fn runaway(&mut self, span: Option<Span>, msg: String) {
        self.error(span, msg);
        self.stopped = true;
    }

    // ---------------------------------------------------------------- files

    /// keepalived's `check_conf_file()` then `open_glob_file(conf, R|M|W)`.
    pub fn open_main_file(&mut self, path: &Path) -> bool {
        let pattern = path.to_string_lossy().into_owned();
        let res = glob(&pattern, &self.cwd);
        if !self.check_glob_result(&pattern, &res, None) {
            self.main_file_missing = true;
            return false;
        }
        let mut ok = true;
        let mut readable = 0;
        for p in &res.paths {
            if let Err(msg) = self.check_glob_file(p) {
                self.file_error(INCLUDE_R, None, msg);
                ok = false;
                continue;
            }
            if std::fs::File::open(self.cwd.join(p)).is_err() {
                self.diags.push(
                    Diagnostic::new(
                        Severity::Fatal,
                        None,
                        format!("Unable to read configuration file {p}"),
                    )
                    .with_kind(DiagKind::Fatal),
                );
                ok = false;
                break;
            }
            readable += 1;
        }
        if ok {
            if readable > 1 {
                self.error(
                    None,
                    format!(
                        "WARNING, multiple configuration file matches of {pattern}, starting with {}",
                        res.paths[0]
                    ),
                );
            } else if readable == 0 {
                self.diags.push(
                    Diagnostic::new(
                        Severity::Fatal,
                        None,
                        format!("Unable to find configuration file {pattern}"),
                    )
                    .with_kind(DiagKind::Fatal),
                );
                ok = false;
            }
        }
        if !ok {
            self.main_file_missing = true;
            return false;
        }
        self.push_glob(
            pattern,
            res,
            INCLUDE_R | INCLUDE_M | INCLUDE_W,
            PathBuf::new(),
        );
        if !self.open_next_match() {
            self.include_stack.pop();
            self.file_error(INCLUDE_R, None, "Failed to open configuration file".into());
            self.main_file_missing = true;
            return false;
        }
        true
    }

    /// The main file given as text (for tests and fuzzing).
    pub fn open_main_text(&mut self, text: &[u8], virtual_path: &Path) {
        let display = Arc::new(virtual_path.to_path_buf());
        self.files.push(display.clone());
        let saved_cwd = self.enter_dir_of(&virtual_path.to_string_lossy());
        self.include_stack.push(IncludeEntry {
            pattern: virtual_path.to_string_lossy().into_owned(),
            paths: vec![virtual_path.to_string_lossy().into_owned()],
            next: 1,
            include_type: INCLUDE_R | INCLUDE_M | INCLUDE_W,
            saved_include_check: self.include_check,
            num_matches: 1,
            display_dir: PathBuf::new(),
            file: Some(OpenFile {
                display,
                canonical: None,
                content: Content::Memory {
                    bytes: text.to_vec(),
                    pos: 0,
                },
                line: 1,
                col: 1,
                saved_cwd,
            }),
        });
    }

    /// The glob-level checks of `open_and_check_glob()`; false = give up.
    fn check_glob_result(&mut self, pattern: &str, res: &GlobResult, span: Option<Span>) -> bool {
        if res.paths.is_empty() {
            if res.missing_files > 0 || res.missing_directories > 0 {
                let kind = if have_brace(pattern) {
                    INCLUDE_B
                } else {
                    INCLUDE_M
                };
                self.file_error(kind, span, format!("Config files missing '{pattern}'."));
            } else if res.have_wildcards {
                let top_type = self.include_stack.last().map_or(0, |e| e.include_type);
                if (self.include_check | top_type) & INCLUDE_W != 0 {
                    self.file_error(
                        INCLUDE_W,
                        span,
                        format!("No config files matched '{pattern}'."),
                    );
                }
            }
            return false;
        }
        if res.missing_files > 0 || res.missing_directories > 0 {
            self.file_error(
                INCLUDE_B,
                span,
                format!("Some config files missing: \"{pattern}\"."),
            );
            let top_type = self.include_stack.last().map_or(0, |e| e.include_type);
            if (self.include_check | top_type) & INCLUDE_B != 0 {
                return false;
            }
        }
        true
    }

    /// keepalived's `check_glob_file()`.
    fn check_glob_file(&self, p: &str) -> Result<(), String> {
        if p.ends_with('/') {
            return Err(format!(
                "Configuration file '{p}' is a directory - skipping"
            ));
        }
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(self.cwd.join(p)) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 == 0 => Ok(()),
            _ => Err(format!(
                "Configuration file '{p}' is not a regular non-executable file - skipping"
            )),
        }
    }

    fn push_glob(
        &mut self,
        pattern: String,
        res: GlobResult,
        include_type: u8,
        display_dir: PathBuf,
    ) {
        self.include_stack.push(IncludeEntry {
            pattern,
            paths: res.paths,
            next: 0,
            include_type,
            saved_include_check: self.include_check,
            num_matches: 0,
            display_dir,
            file: None,
        });
    }

    /// `chdir()` into the directory of `path` if it has one; returns the
    /// directory to go back to.
    fn enter_dir_of(&mut self, path: &str) -> Option<PathBuf> {
        if !path.contains('/') {
            return None;
        }
        let dir = match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => ".",
        };
        let saved = self.cwd.clone();
        self.cwd = self.cwd.join(dir);
        Some(saved)
    }

    /// keepalived's `open_conf_file()`: open the next usable match of the
    /// include on top of the stack.
    fn open_next_match(&mut self) -> bool {
        loop {
            let Some(top) = self.include_stack.last_mut() else {
                return false;
            };
            if top.next >= top.paths.len() {
                return false;
            }
            let p = top.paths[top.next].clone();
            top.next += 1;
            let display_dir = top.display_dir.clone();
            let span = self.including_span();
            if let Err(msg) = self.check_glob_file(&p) {
                self.file_error(INCLUDE_R, span, msg);
                continue;
            }
            let fs_path = self.cwd.join(&p);
            let canonical = std::fs::canonicalize(&fs_path).ok();
            if let Some(c) = &canonical {
                let open_already = self
                    .include_stack
                    .iter()
                    .filter_map(|e| e.file.as_ref())
                    .any(|f| f.canonical.as_ref() == Some(c));
                if open_already {
                    self.error(
                        span,
                        format!("include loop: configuration file '{p}' is already being read - skipping"),
                    );
                    continue;
                }
            }
            let content = match read_limited(&fs_path, self.limits.max_file_bytes) {
                Ok(c) => c,
                Err(e) => {
                    self.file_error(
                        INCLUDE_R,
                        span,
                        format!("Configuration file '{p}' open problem ({e}) - skipping"),
                    );
                    continue;
                }
            };
            let display = Arc::new(if Path::new(&p).is_absolute() {
                PathBuf::from(&p)
            } else {
                display_dir.join(&p)
            });
            self.files.push(display.clone());
            let saved_cwd = self.enter_dir_of(&p);
            let Some(top) = self.include_stack.last_mut() else {
                return false;
            };
            top.num_matches += 1;
            top.file = Some(OpenFile {
                display,
                canonical,
                content,
                line: 1,
                col: 1,
                saved_cwd,
            });
            return true;
        }
    }

    /// Span of the line being processed in the including file (for include
    /// errors): the last line read from the file below the top entry.
    fn including_span(&self) -> Option<Span> {
        let n = self.include_stack.len();
        let below = if n >= 2 {
            self.include_stack.get(n - 2)
        } else {
            None
        };
        let f = below?.file.as_ref()?;
        Some(Span {
            file: f.display.clone(),
            line: f.line.saturating_sub(1).max(1),
            col: 1,
        })
    }

    /// keepalived's `end_file()` for the file on top of the stack.
    fn end_file(&mut self) {
        let Some(top) = self.include_stack.last_mut() else {
            return;
        };
        let saved_check = top.saved_include_check;
        let file = top.file.take();
        self.include_check = saved_check;
        if let Some(cwd) = file.and_then(|f| f.saved_cwd) {
            self.cwd = cwd;
        }
    }

    /// keepalived's `get_next_file()`: false when every file is done.
    fn next_file(&mut self) -> bool {
        self.end_file();
        if self.open_next_match() {
            return true;
        }
        if let Some(entry) = self.include_stack.pop() {
            if entry.num_matches == 0 {
                self.note(
                    None,
                    format!("No config files matched '{}'.", entry.pattern),
                );
            }
        }
        !self.include_stack.is_empty()
    }

    /// `fgets(buf, MAXBUF, stream)`: the next chunk of at most 1023 bytes,
    /// ending at a newline; None at the end of all files.
    fn read_chunk(&mut self) -> Option<Chunk> {
        loop {
            let top = self.include_stack.last_mut()?;
            let Some(f) = top.file.as_mut() else {
                if !self.next_file() {
                    return None;
                }
                continue;
            };
            let raw = &mut self.chunk;
            f.content.next_chunk(MAXBUF - 1, raw);
            if raw.is_empty() {
                if !self.next_file() {
                    return None;
                }
                continue;
            }
            let raw = raw.as_slice();
            let nl = raw.last().filter(|&&b| b == b'\n');
            let ended_line = nl.is_some();
            // A NUL ends the C string; the rest of the chunk is lost.
            let visible = raw.iter().position(|&b| b == 0).map_or(raw, |i| &raw[..i]);
            let origin = Origin {
                file: f.display.clone(),
                line: f.line,
                col: f.col,
            };
            let buf = Buf::from_file_bytes(visible, f.col);
            if ended_line {
                f.line += 1;
                f.col = 1;
            } else {
                f.col += String::from_utf8_lossy(raw).chars().count() as u32;
            }
            return Some(Chunk { buf, origin });
        }
    }

    // -------------------------------------------------------------- the loop

    /// Produce every line.
    pub fn run(&mut self) {
        while !self.stopped {
            let Some((buf, origin)) = self.read_line() else {
                break;
            };
            self.emit(buf, origin);
        }
        if self.stopped {
            // Close files so nothing is left half-read.
            self.include_stack.clear();
        }
    }

    /// The next produced line, or `None` at the end (or once stopped).
    /// Streaming the lines keeps memory bounded by one line instead of the
    /// whole expanded config.
    pub fn next_line(&mut self) -> Option<SourceLine> {
        while self.lines.is_empty() && !self.stopped {
            let Some((buf, origin)) = self.read_line() else {
                break;
            };
            self.emit(buf, origin);
        }
        if self.lines.is_empty() {
            if self.stopped {
                self.include_stack.clear();
            }
            return None;
        }
        // `emit` produces at most one line per call.
        self.lines.pop()
    }

    fn emit(&mut self, buf: Buf, origin: Origin) {
        if self.emitted >= self.limits.max_lines
            || self.out_bytes + buf.len() > self.limits.max_bytes
        {
            let limit = self.limits.max_lines;
            self.runaway(
                Some(origin.span(buf.col_at(0))),
                format!(
                    "configuration expands to more than {limit} lines or {} bytes - preprocessing stopped",
                    self.limits.max_bytes
                ),
            );
            return;
        }
        self.out_bytes += buf.len();
        self.emitted += 1;
        let first_col = buf.col_at(0);
        let (text, col_map) = buf.into_text_and_cols();
        self.track_blocks(&text, &origin, first_col);
        self.lines.push(SourceLine {
            text,
            file: origin.file,
            line: origin.line,
            col_map,
        });
    }

    /// Follow `{`/`}` lines to know when a line is directly inside
    /// `global_defs`, where `include_check` takes effect for later includes
    /// (keepalived applies it as soon as its keyword handler runs).
    fn track_blocks(&mut self, text: &str, origin: &Origin, col: u32) {
        match text {
            "{" => {
                let kw = std::mem::take(&mut self.last_keyword);
                self.blocks.push(kw);
            }
            "}" => {
                self.blocks.pop();
            }
            _ => {
                // Only the first word matters unless it is include_check:
                // no word list for every line of a large config.
                first_word_into(text, &mut self.last_keyword);
                if self.last_keyword == "include_check"
                    && self.blocks.len() == 1
                    && self.blocks[0] == "global_defs"
                {
                    let words = split_words(text);
                    self.include_check_set(&words[1..], origin.span(col));
                }
            }
        }
    }

    /// keepalived's `include_check_set()` (note: the option is `read`, not
    /// the man page's `readable`).
    fn include_check_set(&mut self, words: &[String], span: Span) {
        if words.is_empty() {
            self.include_check = INCLUDE_ALL;
            return;
        }
        for (i, word) in words.iter().enumerate() {
            let (mode, name) = match word.as_bytes().first() {
                Some(b'-') => (-1, &word[1..]),
                Some(b'+') => (1, &word[1..]),
                _ => {
                    if i == 0 {
                        self.include_check = 0;
                    } else {
                        self.error(
                            Some(span.clone()),
                            format!("Duplicate include_check '{word}' specified - ignoring"),
                        );
                        continue;
                    }
                    (0, word.as_str())
                }
            };
            let flag = match name {
                "read" => INCLUDE_R,
                "match" => INCLUDE_M,
                "wildcard_match" => INCLUDE_W,
                "brace_match" => INCLUDE_B,
                _ => {
                    self.error(
                        Some(span.clone()),
                        format!("Unknown include_check type '{name}' - ignoring"),
                    );
                    0
                }
            };
            if flag != 0 {
                match mode {
                    0 => self.include_check = INCLUDE_R | flag,
                    1 => self.include_check |= flag,
                    _ => self.include_check &= !flag,
                }
            }
        }
    }

    /// keepalived's `read_line()`: the next line for the keyword parser.
    fn read_line(&mut self) -> Option<(Buf, Origin)> {
        let mut silent = 0usize;
        loop {
            if self.stopped {
                return None;
            }
            silent += 1;
            if silent > MAX_SILENT_ITERATIONS {
                let span = self.current_span();
                self.runaway(
                    span,
                    "macro or sequence expansion does not terminate - preprocessing stopped".into(),
                );
                return None;
            }
            let (mut buf, origin) = if let Some(r) = self.residue.take() {
                r
            } else if !self.seqs.is_empty() && self.seq_count > self.multiline_seq_depth {
                self.next_seq_line()
            } else if let Some(ptr) = self.next_ptr.take() {
                self.next_multiline_line(ptr)
            } else {
                silent = 0;
                self.next_file_line()?
            };

            if let Some(name) = self.building_def.clone() {
                self.continue_definition(&name, &mut buf);
                continue;
            }
            if buf.is_empty() {
                continue;
            }
            self.process(&mut buf, &origin);
            if buf.is_empty() {
                continue;
            }
            if self.check_include(&buf, &origin) {
                continue;
            }
            self.split_at_brace(&mut buf, &origin);
            return Some((buf, origin));
        }
    }

    /// Read the next non-blank physical line, decommented; a blank line
    /// ends a multi-line definition.
    fn next_file_line(&mut self) -> Option<(Buf, Origin)> {
        loop {
            let chunk = self.read_chunk()?;
            let mut buf = chunk.buf;
            while matches!(buf.bytes.last(), Some(b'\n' | b'\r')) {
                buf.bytes.pop();
                buf.cols.pop();
            }
            if buf.is_empty() {
                if let Some(name) = self.building_def.take() {
                    if let Some(d) = self.defs.get_mut(&name) {
                        if d.value.is_empty() {
                            d.multiline = false;
                        }
                    }
                }
                continue;
            }
            self.decomment_reporting(&mut buf, &chunk.origin);
            if !buf.is_empty() {
                return Some((buf, chunk.origin));
            }
        }
    }

    fn decomment_reporting(&mut self, buf: &mut Buf, origin: &Origin) {
        let d = decomment(buf);
        if let Some(text) = d.unterminated_quote {
            self.error(
                Some(origin.span(buf.col_at(0))),
                format!("Unterminated quote '{text}'"),
            );
        }
    }

    /// A continuation line of a multi-line `$NAME=... \` definition.
    fn continue_definition(&mut self, name: &[u8], buf: &mut Buf) {
        let mut text = buf.bytes.clone();
        let more = text.last() == Some(&b'\\');
        if more {
            text.pop();
            while matches!(text.last(), Some(b' ' | b'\t')) {
                text.pop();
            }
            text.push(b'\n');
        } else {
            self.building_def = None;
        }
        if let Some(d) = self.defs.get_mut(name) {
            if !more && d.value.is_empty() {
                d.multiline = false;
            }
            // Lines holding only the `\` are not added.
            if text.len() >= 2 || (!text.is_empty() && !more) {
                Rc::make_mut(&mut d.value).extend_from_slice(&text);
            }
        }
        buf.clear();
    }

    fn next_seq_line(&mut self) -> (Buf, Origin) {
        let Some(entry) = self.seqs.last_mut() else {
            return (Buf::default(), self.fallback_origin());
        };
        let buf = entry.text.clone();
        let origin = entry.origin.clone();
        let mut sets: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let finished = match &mut entry.gen {
            Generator::Seq {
                var,
                next,
                last,
                step,
                hex,
            } => {
                let val = if *hex {
                    format!("{:x}", *next as u64)
                } else {
                    next.to_string()
                };
                sets.push((var.clone(), val.into_bytes()));
                match next.checked_add(*step) {
                    Some(n) => {
                        *next = n;
                        (*step > 0 && n > *last) || (*step < 0 && n < *last)
                    }
                    None => true,
                }
            }
            Generator::Lst {
                params,
                sets: values,
                next_set,
            } => {
                if let Some(set) = values.get(*next_set) {
                    for (p, v) in params.iter().zip(set) {
                        sets.push((p.clone(), v.clone()));
                    }
                }
                *next_set += 1;
                *next_set >= values.len()
            }
        };
        if finished {
            self.seqs.pop();
            self.seq_count = self.seq_count.wrapping_sub(1);
        }
        for (name, value) in sets {
            self.defs.set(&name, &value);
        }
        (buf, origin)
    }

    fn next_multiline_line(&mut self, ptr: MultilinePtr) -> (Buf, Origin) {
        let value = &ptr.value;
        let start = ptr.pos.min(value.len());
        let rest = &value[start..];
        let bytes = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.next_ptr = Some(MultilinePtr {
                    value: ptr.value.clone(),
                    pos: start + i + 1,
                    origin: ptr.origin.clone(),
                });
                rest[..i].to_vec()
            }
            None => {
                match self.multiline_stack.pop() {
                    Some((p, depth)) => {
                        self.next_ptr = Some(p);
                        self.multiline_seq_depth = depth;
                    }
                    None => {
                        self.next_ptr = None;
                        self.multiline_seq_depth = 0;
                    }
                }
                // keepalived reads past the value when a multi-line value has
                // no line break; treat that as an empty line.
                if ptr.pos > value.len() {
                    Vec::new()
                } else {
                    rest.to_vec()
                }
            }
        };
        (Buf::uniform(&bytes, ptr.origin.col), ptr.origin)
    }

    fn fallback_origin(&self) -> Origin {
        Origin {
            file: self
                .files
                .first()
                .cloned()
                .unwrap_or_else(|| Arc::new(PathBuf::new())),
            line: 1,
            col: 1,
        }
    }

    /// The `do { ... } while (recheck)` body of `read_line()`.
    fn process(&mut self, buf: &mut Buf, origin: &Origin) {
        // keepalived keeps this length across substitutions (see strip_id).
        let mut len = buf.len();
        let mut rechecks = 0;
        loop {
            rechecks += 1;
            if rechecks > MAX_RECHECKS {
                self.runaway(
                    Some(origin.span(buf.col_at(0))),
                    format!(
                        "runaway conditional/macro expansion on line '{}' - preprocessing stopped",
                        buf.lossy_text()
                    ),
                );
                buf.clear();
                return;
            }
            let mut recheck = false;
            if buf.bytes.first() == Some(&b'@') && !self.strip_id(buf, &mut len) {
                buf.clear();
                return;
            }
            if buf.bytes.first() == Some(&b'$') {
                if let Some(d) = parse_definition(&buf.bytes) {
                    self.define(d);
                    buf.clear();
                    return;
                }
            }
            if buf.starts_with(b"~SEQ") || buf.starts_with(b"~LST") {
                self.add_generator(buf, origin);
                buf.clear();
                return;
            }
            if buf.bytes.first() == Some(&b'~') {
                return;
            }
            if !self.defs.is_empty() && buf.bytes.contains(&b'$') {
                let mut ptr = self.next_ptr.take();
                let replaced = self.replace_params(buf, MAXBUF, &mut ptr, origin);
                self.next_ptr = ptr;
                if !replaced {
                    return;
                }
                self.decomment_reporting(buf, origin);
                if buf.bytes.first() == Some(&b'@') || buf.bytes.contains(&b'$') {
                    recheck = true;
                }
            }
            if !recheck {
                return;
            }
        }
    }

    /// `@id` / `@^id`: false drops the line. keepalived strips the prefix
    /// with `memmove(buf, start, len + 1)` where `len` is the line length
    /// from *before* any substitution, so after `$M=@id` it may move too few
    /// bytes (or none); that quirk is reproduced.
    fn strip_id(&mut self, buf: &mut Buf, len: &mut usize) -> bool {
        let rev = buf.bytes.get(1) == Some(&b'^');
        let ofs = if rev { 2 } else { 1 };
        let Some(sp) = buf.bytes[ofs.min(buf.len())..]
            .iter()
            .position(|&b| b == b' ' || b == b'\t')
            .map(|i| i + ofs)
        else {
            return false;
        };
        let id = &buf.bytes[ofs..sp];
        let matches = self.config_id.as_deref() == Some(id);
        if matches == rev {
            return false;
        }
        let mut start = sp;
        while matches!(buf.bytes.get(start), Some(b' ' | b'\t')) {
            start += 1;
        }
        *len = len.wrapping_sub(start);
        let n = len.wrapping_add(1);
        let remaining = buf.len() - start;
        if n == 0 {
            // memmove of zero bytes: the line keeps its "@id " prefix.
        } else if n > remaining {
            buf.drop_front(start);
        } else {
            let mut out = Buf::default();
            for i in start..start + n {
                out.push(buf.bytes[i], buf.cols[i]);
            }
            for i in n..buf.len() {
                out.push(buf.bytes[i], buf.cols[i]);
            }
            *buf = out;
        }
        true
    }

    fn define(&mut self, d: super::defs::Definition) {
        let max_params = self.defs.get(&d.name).map_or(0, |old| old.max_params);
        if d.multiline {
            self.building_def = Some(d.name.clone());
        }
        self.defs.insert_definition(d, max_params);
    }

    fn add_generator(&mut self, buf: &Buf, origin: &Origin) {
        let is_seq = buf.bytes.get(1) == Some(&b'S');
        let span = Some(origin.span(buf.col_at(0)));
        let text = buf.lossy_text();
        let parsed = if is_seq {
            self.parse_seq(buf, origin)
        } else {
            parse_lst(&buf.bytes)
        };
        match parsed {
            Ok((gen, after)) => {
                let count = gen.remaining();
                if count > self.limits.max_sequence_len {
                    let kind = if is_seq { "~SEQ" } else { "~LST" };
                    self.error(
                        span,
                        format!(
                            "{kind} would produce {count} lines (limit {}) - ignored '{text}'",
                            self.limits.max_sequence_len
                        ),
                    );
                    return;
                }
                let mut rest = buf.clone();
                rest.drop_front(after.min(buf.len()));
                self.seqs.push(SeqEntry {
                    gen,
                    text: rest,
                    origin: origin.clone(),
                });
                self.seq_count = self.seq_count.wrapping_add(1);
            }
            Err(e) => {
                if !is_seq {
                    self.seq_count = self.seq_count.wrapping_sub(1);
                }
                if let Some(m) = e.message {
                    self.error(span.clone(), m);
                }
                let kind = if is_seq { "~SEQ" } else { "~LST" };
                self.error(span, format!("Invalid {kind} specification '{text}'"));
            }
        }
    }

    fn parse_seq(
        &mut self,
        buf: &Buf,
        origin: &Origin,
    ) -> Result<(Generator, usize), super::seq::SeqError> {
        let head = parse_seq_head(&buf.bytes)?;
        // keepalived substitutes macros in the arguments first, in a 64-byte
        // buffer, and rejects a multi-line definition there.
        let mut args = Buf::uniform(&head.args, buf.col_at(0));
        let mut ptr: Option<MultilinePtr> = None;
        let depth = self.multiline_seq_depth;
        let stack_len = self.multiline_stack.len();
        self.replace_params(&mut args, SEQ_BUF, &mut ptr, origin);
        if ptr.is_some() {
            self.multiline_seq_depth = depth;
            self.multiline_stack.truncate(stack_len);
            return Err(super::seq::SeqError {
                message: Some(format!(
                    "~SEQ parameter is multiline definition '{}'",
                    buf.lossy_text()
                )),
            });
        }
        let gen = parse_seq_numbers(&head, &args.bytes, &buf.bytes)?;
        let mut after = head.after;
        while matches!(buf.bytes.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        Ok((gen, after))
    }

    /// keepalived's `replace_param()`: substitute `$NAME`/`${NAME}` in place,
    /// rescanning the inserted text (that is what makes it recursive).
    /// Returns false when nothing was replaced or the line would exceed
    /// `max_len` (keepalived then keeps the line as it stands).
    fn replace_params(
        &mut self,
        buf: &mut Buf,
        max_len: usize,
        mptr: &mut Option<MultilinePtr>,
        origin: &Origin,
    ) -> bool {
        let mut cur = 0usize;
        let mut len_used = buf.len();
        let mut found = false;
        let mut ml = mptr.clone();
        let mut count = 0usize;
        while let Some(dollar) = buf.bytes[cur.min(buf.len())..]
            .iter()
            .position(|&b| b == b'$')
            .map(|i| i + cur)
        {
            cur = dollar;
            if cur + 1 >= buf.len() {
                break;
            }
            let Some(r) = parse_reference(&buf.bytes, cur + 1) else {
                cur += 1;
                continue;
            };
            let Some(def) = self.defs.lookup(&r).cloned() else {
                cur += 1;
                continue;
            };
            count += 1;
            if count > self.limits.max_substitutions {
                self.runaway(
                    Some(origin.span(buf.col_at(cur))),
                    format!(
                        "runaway macro expansion (more than {} substitutions) on line '{}' - preprocessing stopped",
                        self.limits.max_substitutions,
                        buf.lossy_text()
                    ),
                );
                buf.clear();
                return false;
            }
            found = true;
            let extra = if r.braces { 2 } else { 0 };
            let ref_col = buf.col_at(cur);
            if def.multiline {
                if let Some(p) = ml.clone() {
                    self.multiline_stack.push((p, self.multiline_seq_depth));
                }
                self.multiline_seq_depth = self.seq_count;
            }
            let value: Rc<Vec<u8>> = match def.builtin {
                Some(b) => Rc::new(self.builtin_value(b, buf, r.params, origin)),
                None => def.value.clone(),
            };
            let name_len = r.name.len();
            let (replaced_len, rlen) = if def.multiline {
                let first = value
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(value.len());
                ml = Some(MultilinePtr {
                    value: value.clone(),
                    pos: first + 1,
                    origin: Origin {
                        file: origin.file.clone(),
                        line: origin.line,
                        col: ref_col,
                    },
                });
                (name_len, first)
            } else {
                let replaced = match r.params {
                    Some((_, pe)) => pe - (cur + 1) + if r.braces { 0 } else { 1 },
                    None => name_len,
                };
                (replaced, value.len())
            };
            let total = replaced_len + 1 + extra;
            if len_used.wrapping_add(rlen).wrapping_sub(total) >= max_len {
                self.overflow_notes += 1;
                if self.overflow_notes > MAX_REPEATED_NOTES {
                    return false;
                }
                self.note(
                    Some(origin.span(ref_col)),
                    format!(
                        "Parameter substitution on line '{}' would exceed maximum line length",
                        buf.lossy_text()
                    ),
                );
                return false;
            }
            let new_text = Buf::uniform(&value[..rlen], ref_col);
            splice(buf, cur, total, &new_text, r.params.is_some());
            if total != rlen {
                len_used = len_used.wrapping_add(rlen).wrapping_sub(total);
            }
            let first_non_blank = value.iter().find(|&&b| b != b' ' && b != b'\t');
            if first_non_blank == Some(&b'~') {
                break;
            }
        }
        if found {
            *mptr = ml;
        }
        found
    }

    fn builtin_value(
        &mut self,
        b: Builtin,
        buf: &Buf,
        params: Option<(usize, usize)>,
        origin: &Origin,
    ) -> Vec<u8> {
        match b {
            Builtin::Pwd => {
                let dir = std::fs::canonicalize(&self.cwd).unwrap_or_else(|_| self.cwd.clone());
                dir.to_string_lossy().into_owned().into_bytes()
            }
            Builtin::Instance => self.config_id.clone().unwrap_or_default(),
            Builtin::Random => {
                let (mut min, mut max) = (0u64, 32767u64);
                if let Some((ps, pe)) = params {
                    let (v, end) = strtoul10(&buf.bytes, ps);
                    min = v;
                    if end < pe {
                        let (v2, end2) = strtoul10(&buf.bytes, end);
                        max = v2;
                        if end2 != pe + 1 {
                            let p = String::from_utf8_lossy(&buf.bytes[ps..=pe]).into_owned();
                            self.note(
                                Some(origin.span(buf.col_at(ps))),
                                format!("Too many parameters or extra text for ${{_RANDOM {p}}}"),
                            );
                        }
                    }
                }
                random_text(self.next_random(), min, max)
            }
        }
    }

    /// glibc `random()`-like: 31 random bits.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x >> 33
    }

    /// `check_include()`: an `include*` line opens its files (relative to
    /// the directory of the file being read) and produces no line itself.
    fn check_include(&mut self, buf: &Buf, origin: &Origin) -> bool {
        let b = &buf.bytes;
        if !b.starts_with(b"include") || b.len() <= 7 {
            return false;
        }
        let is_space =
            |c: Option<&u8>| matches!(c, Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'));
        let (include_type, start) = if is_space(b.get(7)) {
            (0, 8)
        } else if is_space(b.get(8)) && b"rmwba".contains(&b[7]) {
            let t = match b[7] {
                b'r' => INCLUDE_R,
                b'a' => INCLUDE_ALL,
                b'w' => INCLUDE_R | INCLUDE_M | INCLUDE_W,
                b'm' => INCLUDE_R | INCLUDE_M,
                _ => INCLUDE_R | INCLUDE_B,
            };
            (t, 9)
        } else {
            return false;
        };
        let mut p = start;
        while matches!(b.get(p), Some(b' ' | b'\t')) {
            p += 1;
        }
        let pattern = String::from_utf8_lossy(&b[p.min(b.len())..]).into_owned();
        let span = Some(origin.span(buf.col_at(0)));
        if !self.limits.follow_includes {
            self.note(span, format!("include of '{pattern}' not followed"));
            return true;
        }
        if self.include_stack.len() >= self.limits.max_include_depth {
            self.error(
                span,
                format!(
                    "includes nested more than {} deep - not including '{pattern}'",
                    self.limits.max_include_depth
                ),
            );
            return true;
        }
        let display_dir = self
            .include_stack
            .last()
            .and_then(|e| e.file.as_ref())
            .and_then(|f| f.display.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let res = glob(&pattern, &self.cwd);
        // keepalived pushes the entry before checking, so the new include's
        // own type decides whether a problem is an error.
        self.push_glob(pattern.clone(), res.clone(), include_type, display_dir);
        if !self.check_glob_result(&pattern, &res, span.clone()) {
            self.include_stack.pop();
            return true;
        }
        if !self.open_next_match() {
            self.include_stack.pop();
        }
        true
    }

    /// Split the line before its first `{`/`}` outside double quotes (or
    /// after a leading one); the rest becomes the next line.
    fn split_at_brace(&mut self, buf: &mut Buf, origin: &Origin) {
        let b = &buf.bytes;
        let mut found = None;
        if matches!(b.first(), Some(b'{' | b'}')) {
            found = Some(0);
        } else {
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'{' | b'}' => {
                        found = Some(i);
                        break;
                    }
                    b'"' => match b[i + 1..].iter().position(|&c| c == b'"') {
                        Some(j) => i += j + 2,
                        None => break,
                    },
                    _ => i += 1,
                }
            }
        }
        if let Some(p) = found {
            let mut skip = 0;
            if p == 0 {
                skip = 1;
                while matches!(buf.bytes.get(skip), Some(b' ' | b'\t')) {
                    skip += 1;
                }
            }
            if p + skip < buf.len() {
                let mut rest = buf.split_off(p + skip);
                rest.trim_end_blanks();
                if p == 0 {
                    buf.truncate(1);
                }
                self.residue = Some((rest, origin.clone()));
            }
        }
        buf.trim_end_blanks();
    }
}

/// Replace `total` bytes at `cur` with `new`. When a `${_RANDOM a b}` with
/// parameters is replaced by shorter text keepalived only moves two bytes
/// (its copy loop stops just after the `}`), leaving the old tail in place;
/// that is reproduced.
fn splice(buf: &mut Buf, cur: usize, total: usize, new: &Buf, has_params: bool) {
    let rlen = new.len();
    let old_len = buf.len();
    let end = (cur + total).min(old_len);
    if has_params && rlen < total {
        // Result: head + new + old[end] + old[cur + rlen + 1..], or just
        // head + new when the reference ended the line.
        let mut out = Buf::default();
        out.bytes.extend_from_slice(&buf.bytes[..cur]);
        out.cols.extend_from_slice(&buf.cols[..cur]);
        out.bytes.extend_from_slice(&new.bytes);
        out.cols.extend_from_slice(&new.cols);
        if end < old_len {
            out.push(buf.bytes[end], buf.cols[end]);
            out.bytes.extend_from_slice(&buf.bytes[cur + rlen + 1..]);
            out.cols.extend_from_slice(&buf.cols[cur + rlen + 1..]);
        }
        *buf = out;
    } else {
        buf.bytes.splice(cur..end, new.bytes.iter().copied());
        buf.cols.splice(cur..end, new.cols.iter().copied());
    }
}

/// `strtoul(s + p, &end, 10)` for the digit/space parameter strings.
fn strtoul10(s: &[u8], p: usize) -> (u64, usize) {
    let mut i = p;
    while matches!(s.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        i += 1;
    }
    if i == start {
        return (0, p);
    }
    (v, i)
}

/// keepalived's `get_random()` arithmetic: `random() % (max - min + 1) + min`
/// in unsigned long, printed with at most as many characters as `max` has
/// digits.
fn random_text(r: u64, min: u64, max: u64) -> Vec<u8> {
    let range = max.wrapping_sub(min).wrapping_add(1);
    let val = if range == 0 { r } else { r % range };
    let val = val.wrapping_add(min) as i64;
    let mut digits = 0;
    let mut m = max as i64;
    loop {
        digits += 1;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let mut s = val.to_string();
    s.truncate(digits);
    s.into_bytes()
}

/// Open a config file of at most `max` bytes for reading as it is
/// consumed. Only a regular file is opened ([`crate::fileread`]): a FIFO
/// or a device would block or never end.
fn read_limited(path: &Path, max: u64) -> std::io::Result<Content> {
    match crate::fileread::open_regular(path, max) {
        Ok(f) => Ok(Content::Stream(std::io::BufReader::with_capacity(
            64 << 10,
            f,
        ))),
        Err(crate::fileread::FileReadError::Io(e)) => Err(e),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// keepalived's `have_brace()`: an unescaped `{` in the pattern.
fn have_brace(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => return true,
            _ => i += 1,
        }
    }
    false
}

/// Words of a produced line, with double and single quotes removed (enough
/// for `include_check` arguments).
/// `split_words(text).first()` into `out` (empty when there is none),
/// without splitting the rest of the line.
fn first_word_into(text: &str, out: &mut String) {
    out.clear();
    let rest = text.trim_start();
    let run = rest.split(char::is_whitespace).next().unwrap_or("");
    if !run.contains(['"', '\'']) {
        // No quotes: the word is the run of non-blanks.
        out.push_str(run);
        return;
    }
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    return;
                }
            }
            None => {
                out.push(c);
                in_word = true;
            }
        }
    }
}

fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_text_like_keepalived() {
        assert_eq!(random_text(7, 5, 5), b"5");
        assert_eq!(random_text(40, 0, 9), b"0");
        // min > max wraps; the text is cut to the digits of max.
        assert_eq!(random_text(123, 100, 5).len(), 1);
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words("include_check \"read\" +match"),
            vec!["include_check", "read", "+match"]
        );
    }

    #[test]
    fn first_word_is_split_words_first() {
        for text in [
            "include_check \"read\" +match",
            "  a b",
            "'q w' e",
            "\"\" x",
            "x\"y z\"w v",
            "",
            "   ",
            "\"unterminated",
            "a'b c' d",
            "\tx\u{a0}y z",
            "global_defs",
        ] {
            let mut first = String::from("stale");
            first_word_into(text, &mut first);
            let expected = split_words(text).first().cloned().unwrap_or_default();
            assert_eq!(first, expected, "{text:?}");
        }
    }
}
