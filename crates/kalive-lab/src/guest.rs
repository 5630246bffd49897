//! A throw-away QEMU guest running Debian's own kernel, for what this
//! host's kernel cannot do (IPVS). Facts from reference/ipvs-vm.md: TCG
//! (the host's /dev/kvm only runs specially built guests), the uncompressed
//! kernel (decompressing under TCG costs seconds), the host's `/` over 9p,
//! read-only, under a tmpfs overlay, `tsc=reliable`, no network card.
//!
//! [`run`] boots the guest, runs a shell script in it as root with the
//! host's programs (ipvsadm, keepalived, a fresh kalive build) and
//! `modprobe` of the guest kernel's modules, and returns the console, the
//! script's exit status and the boot time. The script's working directory
//! is the 9p-shared output folder (`$KALIVE_OUT`), where it leaves its
//! artifacts. QEMU is killed by PID when the time bound runs out; a guest
//! that does not boot is an error that shows the console. One guest at a
//! time on the machine (a lock file), because two would starve each other
//! on two cores.
//!
//! Environment: `KALIVE_GUEST_ACCEL` replaces QEMU's `-accel` (default
//! TCG); `KALIVE_GUEST_CACHE` where the extracted kernel and the initramfs
//! are kept.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};

/// Printed on the console when the script starts and ends.
const START_MARKER: &str = "KALIVE-GUEST-START";
const EXIT_MARKER: &str = "KALIVE-GUEST-EXIT ";
const FAIL_MARKER: &str = "KALIVE-GUEST-FAIL ";
/// The lock that keeps guests one at a time.
pub const LOCK_FILE: &str = "/run/lock/kalive-lab-guest.lock";
/// Where the extracted kernel and the initramfs are kept between runs
/// (override with `KALIVE_GUEST_CACHE`).
pub const DEFAULT_CACHE: &str = "/var/cache/kalive-lab-guest";
/// Debian packages the guest needs on the host.
pub const PACKAGES: &str = "qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils";

/// Modules the initramfs loads before it can mount the host's root.
const BOOT_MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p", "overlay"];

/// What to run.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Shell script text, run by `/bin/sh` as root in the guest.
    pub script: String,
    /// Host folder shared read-write with the guest (created if absent);
    /// the script's working directory and `$KALIVE_OUT`.
    pub out_dir: PathBuf,
    /// Bound on the whole run, boot included.
    pub timeout: Duration,
    pub memory_mib: u32,
    /// Added to the kernel command line (e.g. `ip_vs.conn_tab_bits=12`).
    pub kernel_args: String,
}

impl GuestSpec {
    pub fn new(script: impl Into<String>, out_dir: impl Into<PathBuf>) -> GuestSpec {
        GuestSpec {
            script: script.into(),
            out_dir: out_dir.into(),
            timeout: Duration::from_secs(240),
            memory_mib: 512,
            kernel_args: String::new(),
        }
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct GuestRun {
    /// The script's exit status.
    pub exit_code: i32,
    /// The serial console, `\r` removed.
    pub console: String,
    /// From QEMU's start to the script's first line.
    pub boot_time: Duration,
    /// From QEMU's start to its exit.
    pub total_time: Duration,
    pub kernel_version: String,
}

fn guest_error(what: impl Into<String>) -> LabError {
    LabError::Usage(format!("guest: {}", what.into()))
}

/// Boots the guest, runs the script, powers it off.
pub fn run(spec: &GuestSpec) -> Result<GuestRun> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(LabError::NotRoot(nix::unistd::Uid::effective().as_raw()));
    }
    let qemu = which("qemu-system-x86_64")?;
    fs::create_dir_all("/run/lock").map_err(|e| LabError::io("create /run/lock", e))?;
    let lock = File::create(LOCK_FILE).map_err(|e| LabError::io(LOCK_FILE, e))?;
    // Held until this function returns (dropping it unlocks).
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(
        |(_, errno)| LabError::Sys {
            context: format!("lock {LOCK_FILE}"),
            source: errno,
        },
    )?;

    let version = guest_kernel_version()?;
    let cache = PathBuf::from(
        std::env::var_os("KALIVE_GUEST_CACHE").unwrap_or_else(|| DEFAULT_CACHE.into()),
    );
    fs::create_dir_all(&cache)
        .map_err(|e| LabError::io(format!("create {}", cache.display()), e))?;
    let kernel = uncompressed_kernel(&version, &cache)?;
    let initramfs = initramfs(&version, &cache)?;

    fs::create_dir_all(&spec.out_dir)
        .map_err(|e| LabError::io(format!("create {}", spec.out_dir.display()), e))?;
    let out_dir = fs::canonicalize(&spec.out_dir)
        .map_err(|e| LabError::io(format!("resolve {}", spec.out_dir.display()), e))?;
    write_file(&out_dir.join(".guest-script.sh"), &spec.script, 0o755)?;
    write_file(&out_dir.join(".guest-run.sh"), RUN_WRAPPER, 0o755)?;
    let _ = fs::remove_file(out_dir.join(".guest-rc"));

    // TCG unless told otherwise: this machine's /dev/kvm (PVM) cannot run
    // Debian's kernel, and a KVM that can is not detectable without trying.
    let accel = std::env::var("KALIVE_GUEST_ACCEL")
        .unwrap_or_else(|_| "tcg,thread=multi,tb-size=256".to_string());
    let mut command = Command::new(qemu);
    command
        .args(["-M", "pc", "-accel", &accel, "-cpu", "max", "-smp", "2"])
        .args(["-m", &spec.memory_mib.to_string()])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .args(["-serial", "stdio", "-monitor", "none", "-nic", "none"])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initramfs)
        .arg("-append")
        .arg(format!(
            "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init tsc=reliable {}",
            spec.kernel_args
        ))
        .args([
            "-fsdev",
            "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device",
            "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
        ])
        .arg("-fsdev")
        .arg(format!(
            "local,id=out,path={},security_model=none,multidevs=remap",
            out_dir.display()
        ))
        .args(["-device", "virtio-9p-pci,fsdev=out,mount_tag=kaliveout"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| LabError::io("start qemu-system-x86_64", e))?;
    let (lines_tx, lines_rx) = mpsc::channel::<(Instant, String)>();
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        if let Some(out) = stdout {
            for line in BufReader::new(out).split(b'\n').map_while(|l| l.ok()) {
                let text = String::from_utf8_lossy(&line).replace('\r', "");
                if lines_tx.send((Instant::now(), text)).is_err() {
                    break;
                }
            }
        }
    });
    let mut stderr = child.stderr.take();

    let deadline = started + spec.timeout;
    let mut console = String::new();
    let mut boot_time = None;
    let mut exit_code = None;
    let mut timed_out = false;
    loop {
        while let Ok((at, line)) = lines_rx.try_recv() {
            note_line(&line, at, started, &mut boot_time, &mut exit_code);
            console.push_str(&line);
            console.push('\n');
        }
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => return Err(LabError::io("wait for qemu", e)),
        }
        if Instant::now() >= deadline {
            timed_out = true;
            // Killed by its own PID (the Child handle), never by name.
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let total_time = started.elapsed();
    let _ = reader.join();
    while let Ok((at, line)) = lines_rx.try_recv() {
        note_line(&line, at, started, &mut boot_time, &mut exit_code);
        console.push_str(&line);
        console.push('\n');
    }
    let mut qemu_err = String::new();
    if let Some(err) = stderr.as_mut() {
        let _ = err.read_to_string(&mut qemu_err);
    }
    let tail = tail_of(&console, 40);
    if let Some(failure) = console
        .lines()
        .find_map(|l| l.trim().strip_prefix(FAIL_MARKER))
    {
        return Err(guest_error(format!(
            "the guest's init failed ({failure}), kernel {version}; console:\n{tail}"
        )));
    }
    let Some(boot_time) = boot_time else {
        return Err(guest_error(format!(
            "the guest did not boot (kernel {version}{}); qemu said: {}; console:\n{tail}",
            if timed_out {
                ", killed at the time bound"
            } else {
                ""
            },
            qemu_err.trim()
        )));
    };
    let exit_code = match exit_code {
        Some(code) => code,
        None => fs::read_to_string(out_dir.join(".guest-rc"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                guest_error(format!(
                    "the script did not finish within {:?}; console:\n{tail}",
                    spec.timeout
                ))
            })?,
    };
    Ok(GuestRun {
        exit_code,
        console,
        boot_time,
        total_time,
        kernel_version: version,
    })
}

fn note_line(
    line: &str,
    at: Instant,
    started: Instant,
    boot_time: &mut Option<Duration>,
    exit_code: &mut Option<i32>,
) {
    if line.trim() == START_MARKER && boot_time.is_none() {
        *boot_time = Some(at.duration_since(started));
    }
    if let Some(rest) = line.trim().strip_prefix(EXIT_MARKER) {
        *exit_code = rest.trim().parse().ok();
    }
}

fn tail_of(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn which(program: &str) -> Result<PathBuf> {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(program);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(LabError::MissingProgram(program.into(), PACKAGES))
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    let mut f =
        File::create(path).map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| LabError::io(format!("chmod {}", path.display()), e))
}

/// The newest `/boot/vmlinuz-*` whose modules include IPVS.
pub fn guest_kernel_version() -> Result<String> {
    let mut versions: Vec<String> = fs::read_dir("/boot")
        .map_err(|e| LabError::io("list /boot", e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("vmlinuz-"))
                .map(str::to_string)
        })
        .filter(|v| {
            Path::new("/lib/modules")
                .join(v)
                .join("kernel/net/netfilter/ipvs")
                .is_dir()
        })
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| {
        LabError::MissingProgram("/boot/vmlinuz-* with IPVS modules".into(), PACKAGES)
    })
}

/// `vmlinux` extracted from `/boot/vmlinuz-VERSION` (the xz stream inside
/// the bzImage, as the kernel tree's `extract-vmlinux` finds it), cached.
fn uncompressed_kernel(version: &str, cache: &Path) -> Result<PathBuf> {
    let target = cache.join(format!("vmlinux-{version}"));
    if target.exists() {
        return Ok(target);
    }
    let image = Path::new("/boot").join(format!("vmlinuz-{version}"));
    let bytes =
        fs::read(&image).map_err(|e| LabError::io(format!("read {}", image.display()), e))?;
    const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";
    let start = bytes
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .ok_or_else(|| guest_error(format!("{} holds no xz stream", image.display())))?;
    let mut xz = Command::new(which("xz")?)
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| LabError::io("start xz", e))?;
    let mut input = xz.stdin.take();
    let payload = bytes[start..].to_vec();
    let feeder = std::thread::spawn(move || {
        if let Some(stdin) = input.as_mut() {
            let _ = stdin.write_all(&payload);
        }
    });
    let output = xz
        .wait_with_output()
        .map_err(|e| LabError::io("run xz", e))?;
    let _ = feeder.join();
    if !output.stdout.starts_with(b"\x7fELF") {
        return Err(guest_error(format!(
            "the xz stream of {} is not an ELF kernel",
            image.display()
        )));
    }
    let partial = cache.join(format!(".vmlinux-{version}.{}", std::process::id()));
    fs::write(&partial, &output.stdout)
        .map_err(|e| LabError::io(format!("write {}", partial.display()), e))?;
    fs::rename(&partial, &target)
        .map_err(|e| LabError::io(format!("rename to {}", target.display()), e))?;
    Ok(target)
}

/// The boot modules with their dependencies, dependencies first.
fn module_order(version: &str) -> Result<Vec<(String, PathBuf)>> {
    fn visit(
        version: &str,
        name: &str,
        out: &mut Vec<(String, PathBuf)>,
        depth: usize,
    ) -> Result<()> {
        if depth > 16 || out.iter().any(|(n, _)| n == name) {
            return Ok(());
        }
        let info = |field: &str| -> Result<String> {
            let o = Command::new("modinfo")
                .args(["-k", version, "-F", field, name])
                .output()
                .map_err(|e| LabError::io("run modinfo", e))?;
            if !o.status.success() {
                return Err(guest_error(format!("modinfo {name} for {version} failed")));
            }
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let path = info("filename")?;
        if path == "(builtin)" || path.is_empty() {
            return Ok(());
        }
        for dep in info("depends")?.split(',').filter(|d| !d.is_empty()) {
            visit(version, dep, out, depth + 1)?;
        }
        out.push((name.replace('-', "_"), PathBuf::from(path)));
        Ok(())
    }
    let mut out = Vec::new();
    for m in BOOT_MODULES {
        visit(version, m, &mut out, 0)?;
    }
    Ok(out)
}

/// A tiny initramfs: busybox-static, the boot modules, and [`INIT`].
fn initramfs(version: &str, cache: &Path) -> Result<PathBuf> {
    let target = cache.join(format!("initramfs-{version}.cpio"));
    if target.exists() {
        return Ok(target);
    }
    let root = cache.join(format!(".initramfs-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    for dir in [
        "bin",
        "dev",
        "proc",
        "sys",
        "modules",
        "mnt/lower",
        "mnt/rw",
        "mnt/root",
    ] {
        fs::create_dir_all(root.join(dir)).map_err(|e| LabError::io("build initramfs", e))?;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .ok_or_else(|| LabError::MissingProgram("busybox".into(), PACKAGES))?;
    fs::copy(busybox, root.join("bin/busybox")).map_err(|e| LabError::io("copy busybox", e))?;
    let mut order = String::new();
    for (name, path) in module_order(version)? {
        if path.extension().and_then(|e| e.to_str()) != Some("ko") {
            return Err(guest_error(format!(
                "module {} is compressed; only plain .ko is supported",
                path.display()
            )));
        }
        fs::copy(&path, root.join("modules").join(format!("{name}.ko")))
            .map_err(|e| LabError::io(format!("copy {}", path.display()), e))?;
        order.push_str(&name);
        order.push('\n');
    }
    write_file(&root.join("modules/order"), &order, 0o644)?;
    write_file(&root.join("init"), INIT, 0o755)?;
    let partial = cache.join(format!(".initramfs-{version}.{}.cpio", std::process::id()));
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && mknod dev/console c 5 1 && find . | cpio -o -H newc --quiet > '{}'",
            root.display(),
            partial.display()
        ))
        .status()
        .map_err(|e| LabError::io("run cpio", e))?;
    let _ = fs::remove_dir_all(&root);
    if !status.success() {
        return Err(guest_error(format!(
            "building the initramfs failed ({status}); is cpio installed?"
        )));
    }
    fs::rename(&partial, &target).map_err(|e| LabError::io("rename initramfs", e))?;
    Ok(target)
}

/// PID 1 of the initramfs: mount the host's root read-only under a tmpfs
/// overlay, the output share inside it, and hand over to the run wrapper.
const INIT: &str = r#"#!/bin/busybox sh
B=/bin/busybox
fail() { echo "KALIVE-GUEST-FAIL $*"; $B poweroff -f; }
$B mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
for m in $($B cat /modules/order); do $B insmod /modules/$m.ko || fail "insmod $m"; done
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /mnt/lower || fail "mount host root"
$B mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || fail "mount tmpfs"
$B mkdir -p /mnt/rw/upper /mnt/rw/work
$B mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /mnt/root || fail "mount overlay"
$B mkdir -p /mnt/root/kalive-out
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 kaliveout /mnt/root/kalive-out || fail "mount output share"
for d in proc sys dev; do $B mount --move /$d /mnt/root/$d || fail "move /$d"; done
exec $B switch_root /mnt/root /bin/sh /kalive-out/.guest-run.sh
fail "switch_root"
"#;

/// Runs the script on the host's root, reports its status on the console
/// (`/tmp` is left to the overlay, which already makes it writable and
/// throw-away: a tmpfs there would hide a checkout under the host's `/tmp`)
/// and in `.guest-rc`, then powers off (busybox's `poweroff -f` is the
/// reboot system call itself; sysrq as a fallback).
const RUN_WRAPPER: &str = r#"#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root KALIVE_OUT=/kalive-out
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
ip link set lo up
echo KALIVE-GUEST-START
cd /kalive-out
/bin/sh /kalive-out/.guest-script.sh
rc=$?
echo "$rc" > /kalive-out/.guest-rc
sync
echo "KALIVE-GUEST-EXIT $rc"
busybox poweroff -f || echo o > /proc/sysrq-trigger
sleep 10
"#;
