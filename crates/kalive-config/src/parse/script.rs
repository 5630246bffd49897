//! Script command lines and script users.
//!
//! keepalived (reference §1.1, §1.11): the first word after the keyword is
//! the command line; when it was quoted it is split again on spaces, single
//! quotes keeping a parameter with spaces together. For notify-style
//! keywords the words after the command are `USER [GROUP]`.

use crate::model::vrrp::{Script, ScriptUser};
use crate::parse::Ctx;
use crate::syntax::Stmt;

/// Split a command line as keepalived does: on unquoted whitespace, with
/// `'...'` and `"..."` grouping and `\x` escaping the next character.
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c == '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
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
        out.push(cur);
    }
    out
}

/// `KEYWORD COMMAND [USER [GROUP]]` (notify_*, startup_script, fifo scripts).
pub fn notify_script(ctx: &mut Ctx, stmt: &Stmt) -> Option<Script> {
    let cmd = stmt.arg(0)?;
    // keepalived re-reads the line with its quote and escape rules
    // (`lib/parser.c:alloc_strvec_quoted_escaped`); a line ending in a
    // lone backslash (a comment ending in one leaves it glued to the last
    // word) fails there, and the script is dropped with only a log line.
    if ends_with_lone_backslash(stmt) {
        ctx.note(
            &cmd.span,
            format!(
                "Missing escape char at end - unable to parse {} script",
                stmt.keyword.text
            ),
        );
        return None;
    }
    let args = split_command(&cmd.text);
    if args.is_empty() {
        ctx.error(&cmd.span, format!("{} script is empty", stmt.keyword.text));
        return None;
    }
    Some(Script::new(
        args,
        script_user(ctx, stmt, 1),
        Some(cmd.span.clone()),
    ))
}

/// Whether the statement's last word ends in an odd number of
/// backslashes. Outside quotes the lexer keeps a backslash as it is, so
/// this is the line's end (`"cmd"\` too); an escaped backslash at the end
/// of a quoted word (`"cmd\\\\"`) is taken for one as well, a rare case.
fn ends_with_lone_backslash(stmt: &Stmt) -> bool {
    let last = stmt.words().last();
    last.is_some_and(|w| w.text.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1)
}

/// The whole rest of the line is the command (`vrrp_script`'s `script`,
/// `MISC_CHECK`'s `misc_path`): `script "cmd args"` or `script cmd args`.
pub fn command_script(ctx: &mut Ctx, stmt: &Stmt) -> Option<Script> {
    let mut args = Vec::new();
    for w in &stmt.args {
        if w.quoted {
            args.extend(split_command(&w.text));
        } else {
            args.push(w.text.clone());
        }
    }
    if args.is_empty() {
        ctx.error(stmt.span(), format!("{} is empty", stmt.keyword.text));
        return None;
    }
    Some(Script::new(args, None, stmt.arg(0).map(|w| w.span.clone())))
}

/// `USER [GROUP]` or `USER:GROUP` starting at argument `from`.
pub fn script_user(_ctx: &mut Ctx, stmt: &Stmt, from: usize) -> Option<ScriptUser> {
    let user = stmt.arg(from)?;
    let (name, group) = match user.text.split_once(':') {
        Some((u, g)) => (u.to_string(), Some(g.to_string()).filter(|g| !g.is_empty())),
        None => (
            user.text.clone(),
            stmt.arg(from + 1)
                .map(|w| w.text.trim_start_matches(':').to_string()),
        ),
    };
    Some(ScriptUser { user: name, group })
}

#[cfg(test)]
mod tests {
    use super::split_command;

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(
            split_command("killall -0 haproxy"),
            ["killall", "-0", "haproxy"]
        );
        assert_eq!(split_command("/bin/x 'a b' c"), ["/bin/x", "a b", "c"]);
        assert_eq!(split_command("  "), Vec::<String>::new());
    }
}
