//! `kalive genhash` (also run as `genhash`, or `kalive --genhash`/`-T`):
//! keepalived's genhash(1) (reference §1.13), so that the `digest` of an
//! existing `url { }` can be made and checked with the same command line:
//! `-s ADDR -p PORT -u URL [-S] [-I] [-V HOST] [-P 1.0|1.0c|1.1] [-t SECS]
//! [-m MARK] [-v]`. The fetch and the digest are kalive-probe's, the same
//! code an HTTP_GET / SSL_GET check runs.
//!
//! Exit status and output follow keepalived 2.2.7's genhash: the digest on
//! a line, or `Connection failed`, both with status 0; a usage error (and
//! `-h`) prints the usage on stderr and exits 1. `-v` prints the timing and
//! the final digest, not genhash's hex dumps of the header and body.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kalive_probe::{genhash, ConnectOptions, GenhashRequest, HttpGet, HttpProtocol, TlsClient};

const USAGE: &str = "Usage: genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
";

/// keepalived's genhash waits this long by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the command line asks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Options {
    ssl: bool,
    sni: bool,
    server: Option<IpAddr>,
    port: Option<u16>,
    url: Option<String>,
    virtualhost: Option<String>,
    verbose: bool,
    fwmark: Option<u32>,
    protocol: Option<String>,
    timeout: Option<Duration>,
    help: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Usage {
    /// Print the usage, exit 1.
    Bad,
    /// The server, port or url is missing (the same answer; kept apart
    /// for the tests).
    Incomplete,
}

fn parse(args: &[String]) -> Result<Options, Usage> {
    let mut o = Options::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        // `--port=80` and `-p80` as getopt_long takes them.
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ if word.len() > 2 && word.starts_with('-') && !word.starts_with("--") => {
                (word[..2].to_string(), Some(word[2..].to_string()))
            }
            _ => (word.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| words.next().cloned())
                .ok_or(Usage::Bad)
        };
        match flag.as_str() {
            "-S" | "--use-ssl" => o.ssl = true,
            "-I" | "--use-sni" => o.sni = true,
            "-v" | "--verbose" => o.verbose = true,
            "-h" | "--help" => o.help = true,
            "-s" | "--server" => o.server = Some(value()?.parse().map_err(|_| Usage::Bad)?),
            "-p" | "--port" => o.port = Some(value()?.parse().map_err(|_| Usage::Bad)?),
            "-u" | "--url" => o.url = Some(value()?),
            "-V" | "--use-virtualhost" => o.virtualhost = Some(value()?),
            "-m" | "--fwmark" => o.fwmark = Some(value()?.parse().map_err(|_| Usage::Bad)?),
            "-P" | "--protocol" => o.protocol = Some(value()?),
            "-t" | "--timeout" => {
                let secs: u64 = value()?.parse().map_err(|_| Usage::Bad)?;
                o.timeout = Some(Duration::from_secs(secs));
            }
            _ => return Err(Usage::Bad),
        }
    }
    if o.help {
        return Err(Usage::Bad);
    }
    if o.server.is_none() || o.port.is_none() || o.url.is_none() {
        return Err(Usage::Incomplete);
    }
    Ok(o)
}

fn protocol(text: Option<&str>) -> Result<HttpProtocol, Usage> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("1.0") => Ok(HttpProtocol::Http10),
        Some("1.0c") => Ok(HttpProtocol::Http10Close),
        Some("1.1") => Ok(HttpProtocol::Http11),
        Some(_) => Err(Usage::Bad),
    }
}

/// Run genhash with `args` (the words after the program or subcommand);
/// `program` is the name it was run by.
pub fn main(program: &str, args: Vec<String>) -> ExitCode {
    // genhash's usage names the program as it was run.
    let usage = USAGE.replacen("genhash", program, 1);
    let options = match parse(&args) {
        Ok(o) => o,
        Err(Usage::Bad | Usage::Incomplete) => {
            eprint!("{usage}");
            return ExitCode::from(1);
        }
    };
    let Ok(proto) = protocol(options.protocol.as_deref()) else {
        eprintln!(
            "invalid HTTP protocol version '{}'",
            options.protocol.as_deref().unwrap_or_default()
        );
        eprint!("{usage}");
        return ExitCode::from(1);
    };
    let (Some(server), Some(port), Some(url)) = (options.server, options.port, options.url.clone())
    else {
        return ExitCode::from(1);
    };
    let mut http = if options.ssl {
        match TlsClient::insecure() {
            // keepalived's genhash does not check the server's certificate.
            Ok(client) => HttpGet::ssl(Arc::new(client)),
            Err(e) => {
                eprintln!("genhash: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        HttpGet::http()
    };
    http.protocol = proto;
    http.virtualhost = options.virtualhost.clone();
    if let Some(tls) = http.tls.as_mut() {
        tls.enable_sni = options.sni;
    }
    let mut connect = ConnectOptions::new(
        SocketAddr::new(server, port),
        options.timeout.unwrap_or(DEFAULT_TIMEOUT),
    );
    connect.fwmark = options.fwmark;
    let request = GenhashRequest { http, path: url };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genhash: {e}");
            return ExitCode::from(1);
        }
    };
    let started = Instant::now();
    let result = runtime.block_on(genhash(&connect, &request));
    match result {
        Ok(fetched) => {
            if options.verbose {
                println!(
                    "-----------------------[ HTML hash final resulting ]-----------------------"
                );
            }
            println!("{}", fetched.digest_hex());
            if options.verbose {
                println!(
                    "\nGlobal response time for [{}] = {} usecs",
                    request.path,
                    started.elapsed().as_micros()
                );
            }
        }
        Err(outcome) => {
            println!("Connection failed");
            if options.verbose {
                if let Some(reason) = outcome.reason {
                    println!("({reason})");
                }
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn takes_genhash_flags_in_short_long_and_glued_forms() {
        let o = parse(&words(
            "-S -I -s 10.0.0.1 -p443 --url=/index.html -V www -P 1.1 -t 3 -m 7 -v",
        ))
        .expect("parse");
        assert!(o.ssl && o.sni && o.verbose);
        assert_eq!(o.server, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(o.port, Some(443));
        assert_eq!(o.url.as_deref(), Some("/index.html"));
        assert_eq!(o.virtualhost.as_deref(), Some("www"));
        assert_eq!(o.timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.fwmark, Some(7));
        assert_eq!(protocol(o.protocol.as_deref()), Ok(HttpProtocol::Http11));
    }

    #[test]
    fn usage_errors_as_genhash_reports_them() {
        assert_eq!(parse(&words("-x")), Err(Usage::Bad));
        assert_eq!(parse(&words("-h")), Err(Usage::Bad));
        assert_eq!(parse(&words("-s 127.0.0.1 -u /")), Err(Usage::Incomplete));
        assert_eq!(parse(&words("-s nothost -p 80 -u /")), Err(Usage::Bad));
        assert_eq!(parse(&words("-s 127.0.0.1 -p")), Err(Usage::Bad));
        assert_eq!(protocol(Some("2.0")), Err(Usage::Bad));
        assert_eq!(protocol(Some("1.0C")), Ok(HttpProtocol::Http10Close));
    }
}
