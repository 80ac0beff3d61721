//! The sandbox's inside: `kiln __sandbox SPEC`, started by [`super::run`] with the namespaces
//! already unshared. It forks PID 1 of the new pid namespace, which builds the root and execs
//! the command; the first process only waits and passes the exit status on.
//!
//! Setup failures are written to `<created_log>.err` (opened before the root changes) and end
//! with status 125, so the parent can tell them from the command's own exit codes.

use super::spec::{MountKind, Network, RootFs, SandboxSpec};
use super::user;
use std::ffi::CString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Exit status that marks a failure to set the sandbox up (docker's own "container failed").
pub const SETUP_FAILED: i32 = 125;

/// Entry point of `kiln __sandbox SPEC`; returns the process exit code.
pub fn main(spec_path: &Path) -> i32 {
    let spec: SandboxSpec = match std::fs::read(spec_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kiln sandbox: reading {}: {e}", spec_path.display());
            return SETUP_FAILED;
        }
    };
    // Opened before the root changes, so that setup errors can be reported from anywhere.
    let mut err_file = match std::fs::File::create(err_path(&spec)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("kiln sandbox: creating the error file: {e}");
            return SETUP_FAILED;
        }
    };
    // SAFETY: this process is single-threaded (a fresh exec that started no threads).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let _ = write!(err_file, "fork: {}", io::Error::last_os_error());
        return SETUP_FAILED;
    }
    if pid == 0 {
        // PID 1 of the new namespace: die with our parent.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        let err = child(&spec);
        let _ = err_file.write_all(err.as_bytes());
        return SETUP_FAILED;
    }
    drop(err_file);
    wait_for(pid)
}

/// Where setup errors are written: beside the created-paths log.
pub fn err_path(spec: &SandboxSpec) -> PathBuf {
    let mut p = spec.created_log.clone().into_os_string();
    p.push(".err");
    PathBuf::from(p)
}

fn wait_for(pid: libc::pid_t) -> i32 {
    loop {
        let mut status = 0;
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return SETUP_FAILED;
        }
        if libc::WIFEXITED(status) {
            return libc::WEXITSTATUS(status);
        }
        if libc::WIFSIGNALED(status) {
            return 128 + libc::WTERMSIG(status);
        }
    }
}

/// Builds the root and execs the command; returns only on failure, with the reason.
fn child(spec: &SandboxSpec) -> String {
    match setup(spec) {
        Ok((argv, envp)) => {
            let (err, code) = exec(&argv, &envp, spec);
            // The command could not start: report as the shell would (127 not found, 126
            // found but not runnable), not as setup.
            let _ = writeln!(io::stderr(), "{err}");
            std::process::exit(code);
        }
        Err(e) => e,
    }
}

type Prepared = (Vec<CString>, Vec<CString>);

fn setup(spec: &SandboxSpec) -> Result<Prepared, String> {
    mount_raw(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(|e| format!("making / private: {e}"))?;
    if spec.network == Network::None {
        loopback_up().map_err(|e| format!("bringing loopback up: {e}"))?;
    }
    let root = match &spec.root {
        RootFs::Overlay {
            lower,
            upper,
            work,
            merged,
        } => {
            mount_overlay(lower, upper, work, merged)?;
            merged.clone()
        }
        RootFs::Dir(dir) => {
            mount_raw(Some(dir), dir, None, libc::MS_BIND | libc::MS_REC, None)
                .map_err(|e| format!("binding {}: {e}", dir.display()))?;
            dir.clone()
        }
    };
    let mut created = Vec::new();
    let mut mk = |rel: &str, dir: bool, remove: bool| -> Result<PathBuf, String> {
        ensure(&root, rel, dir, remove, &mut created)
    };

    let proc_dir = mk("/proc", true, true)?;
    mount_raw(
        Some(Path::new("proc")),
        &proc_dir,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )
    .map_err(|e| format!("mounting /proc: {e}"))?;
    let sys_dir = mk("/sys", true, true)?;
    mount_raw(
        Some(Path::new("sysfs")),
        &sys_dir,
        Some("sysfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY,
        None,
    )
    .map_err(|e| format!("mounting /sys: {e}"))?;
    let dev = mk("/dev", true, true)?;
    setup_dev(&dev)?;
    if let Some(h) = &spec.hosts_file {
        let target = mk("/etc/hosts", false, true)?;
        bind(h, &target, false)?;
    }
    if let Some(r) = &spec.resolv_file {
        let target = mk("/etc/resolv.conf", false, true)?;
        bind(r, &target, false)?;
    }
    for m in &spec.mounts {
        let dir = !matches!(&m.kind, MountKind::Bind { source, .. } if !source.is_dir());
        let target = mk(&m.target, dir, m.remove_created)?;
        match &m.kind {
            MountKind::Bind { source, readonly } => bind(source, &target, *readonly)?,
            MountKind::Tmpfs { size } => {
                let opts = size.map(|s| format!("size={s}"));
                mount_raw(
                    Some(Path::new("tmpfs")),
                    &target,
                    Some("tmpfs"),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    opts.as_deref(),
                )
                .map_err(|e| format!("mounting tmpfs on {}: {e}", m.target))?;
            }
        }
    }
    let log: String = created.iter().map(|p: &String| format!("{p}\n")).collect();
    std::fs::write(&spec.created_log, log)
        .map_err(|e| format!("writing {}: {e}", spec.created_log.display()))?;

    let hostname = spec.hostname.as_bytes();
    if unsafe { libc::sethostname(hostname.as_ptr().cast(), hostname.len()) } != 0 {
        return Err(format!("sethostname: {}", io::Error::last_os_error()));
    }
    pivot(&root)?;

    let who = user::resolve(Path::new("/"), &spec.user)?;
    let mut env: Vec<String> = spec.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", who.home));
    }
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    if !Path::new(cwd).is_dir() {
        std::fs::create_dir_all(cwd)
            .map_err(|e| format!("creating working directory {cwd}: {e}"))?;
    }
    std::env::set_current_dir(cwd)
        .map_err(|e| format!("changing to working directory {cwd}: {e}"))?;
    let groups: Vec<libc::gid_t> = who.groups.clone();
    unsafe {
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
            return Err(format!("setgroups: {}", io::Error::last_os_error()));
        }
        if libc::setgid(who.gid) != 0 {
            return Err(format!(
                "setgid {}: {}",
                who.gid,
                io::Error::last_os_error()
            ));
        }
        if libc::setuid(who.uid) != 0 {
            return Err(format!(
                "setuid {}: {}",
                who.uid,
                io::Error::last_os_error()
            ));
        }
    }
    let argv = spec
        .args
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    if argv.is_empty() {
        return Err("no command given".to_string());
    }
    Ok((argv, envp))
}

fn cstring(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("argument or environment entry contains a NUL byte: {s:?}"))
}

/// Makes `rel` exist under `root` (a dir or an empty file), recording what it had to create.
fn ensure(
    root: &Path,
    rel: &str,
    dir: bool,
    remove: bool,
    created: &mut Vec<String>,
) -> Result<PathBuf, String> {
    let rel = rel.trim_start_matches('/');
    let mut cur = root.to_path_buf();
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let mut relpath = String::new();
    for (i, part) in parts.iter().enumerate() {
        if *part == ".." {
            return Err(format!("mount target {rel:?} leaves the root"));
        }
        relpath.push('/');
        relpath.push_str(part);
        cur.push(part);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(format!("mount target {relpath} is a symbolic link"));
            }
            Ok(_) => {}
            Err(_) => {
                if last && !dir {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o644)
                        .open(&cur)
                        .map_err(|e| format!("creating {relpath}: {e}"))?;
                } else {
                    std::fs::create_dir(&cur).map_err(|e| format!("creating {relpath}: {e}"))?;
                    std::fs::set_permissions(&cur, std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| format!("chmod {relpath}: {e}"))?;
                }
                if remove {
                    created.push(relpath.clone());
                }
            }
        }
    }
    Ok(cur)
}

fn path_c(p: &Path) -> Result<CString, io::Error> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

pub(crate) fn mount_raw(
    source: Option<&Path>,
    target: impl AsRef<Path>,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let src = source.map(path_c).transpose()?;
    let tgt = path_c(target.as_ref())?;
    let fst = fstype.map(|s| CString::new(s).expect("fs type"));
    let dat = data.map(|s| CString::new(s).expect("mount data"));
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            tgt.as_ptr(),
            fst.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            flags,
            dat.as_ref().map_or(std::ptr::null(), |c| c.as_ptr().cast()),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn bind(source: &Path, target: &Path, readonly: bool) -> Result<(), String> {
    mount_raw(
        Some(source),
        target,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(|e| format!("binding {} on {}: {e}", source.display(), target.display()))?;
    if readonly {
        mount_raw(
            None,
            target,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC,
            None,
        )
        .map_err(|e| format!("making {} read-only: {e}", target.display()))?;
    }
    Ok(())
}

/// Mounts the overlay with the new mount API, one `lowerdir+` per layer, so that deep images
/// never meet the page-size limit of the classic option string; falls back to that string on
/// kernels without `lowerdir+` (before 6.8), failing clearly when it would be too long.
pub(crate) fn mount_overlay(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<(), String> {
    use rustix::mount::{fsconfig_create, fsconfig_set_string, fsmount, fsopen, move_mount};
    use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags};
    if lower.is_empty() {
        return Err("overlay needs at least one lower directory".to_string());
    }
    let new_api = || -> rustix::io::Result<()> {
        let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
        for l in lower {
            fsconfig_set_string(&fs, "lowerdir+", l.as_path())?;
        }
        fsconfig_set_string(&fs, "upperdir", upper)?;
        fsconfig_set_string(&fs, "workdir", work)?;
        for (k, v) in [
            ("index", "off"),
            ("redirect_dir", "off"),
            ("metacopy", "off"),
        ] {
            fsconfig_set_string(&fs, k, v)?;
        }
        fsconfig_create(&fs)?;
        let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())?;
        move_mount(
            &mnt,
            "",
            rustix::fs::CWD,
            merged,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    match new_api() {
        Ok(()) => Ok(()),
        Err(new_err) => {
            let lowers: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
            let opts = format!(
                "lowerdir={},upperdir={},workdir={},index=off,redirect_dir=off,metacopy=off",
                lowers.join(":"),
                upper.display(),
                work.display()
            );
            if opts.len() >= 4096 {
                return Err(format!(
                    "mounting overlay of {} layers: the kernel lacks lowerdir+ ({new_err}) and the option string is too long",
                    lower.len()
                ));
            }
            mount_raw(
                Some(Path::new("overlay")),
                merged,
                Some("overlay"),
                0,
                Some(&opts),
            )
            .map_err(|e| {
                format!(
                    "mounting overlay on {}: {e} (new mount API: {new_err})",
                    merged.display()
                )
            })
        }
    }
}

/// A minimal /dev on tmpfs: the usual device nodes bound from the host, a private devpts, shm.
fn setup_dev(dev: &Path) -> Result<(), String> {
    mount_raw(
        Some(Path::new("tmpfs")),
        dev,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(|e| format!("mounting /dev: {e}"))?;
    for name in ["null", "zero", "full", "random", "urandom", "tty"] {
        let target = dev.join(name);
        std::fs::write(&target, b"").map_err(|e| format!("creating /dev/{name}: {e}"))?;
        bind(&Path::new("/dev").join(name), &target, false)?;
    }
    let pts = dev.join("pts");
    std::fs::create_dir(&pts).map_err(|e| format!("creating /dev/pts: {e}"))?;
    mount_raw(
        Some(Path::new("devpts")),
        &pts,
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )
    .map_err(|e| format!("mounting /dev/pts: {e}"))?;
    let shm = dev.join("shm");
    std::fs::create_dir(&shm).map_err(|e| format!("creating /dev/shm: {e}"))?;
    mount_raw(
        Some(Path::new("shm")),
        &shm,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(|e| format!("mounting /dev/shm: {e}"))?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .map_err(|e| format!("creating /dev/{link}: {e}"))?;
    }
    Ok(())
}

fn pivot(root: &Path) -> Result<(), String> {
    std::env::set_current_dir(root).map_err(|e| format!("entering {}: {e}", root.display()))?;
    let dot = CString::new(".").expect("dot");
    unsafe {
        if libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) != 0 {
            return Err(format!("pivot_root: {}", io::Error::last_os_error()));
        }
        if libc::umount2(dot.as_ptr(), libc::MNT_DETACH) != 0 {
            return Err(format!(
                "detaching the old root: {}",
                io::Error::last_os_error()
            ));
        }
    }
    std::env::set_current_dir("/").map_err(|e| format!("chdir /: {e}"))
}

fn loopback_up() -> io::Result<()> {
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            let r2 = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
            libc::close(fd);
            return if r2 == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            };
        }
        let e = io::Error::last_os_error();
        libc::close(fd);
        Err(e)
    }
}

/// Finds the program as execvp would, with the command's own PATH, and execs it. Returns
/// only on failure: the message and the shell's exit code for it (127 when there is no such
/// program, 126 when it exists but cannot be run).
fn exec(argv: &[CString], envp: &[CString], spec: &SandboxSpec) -> (String, i32) {
    // The Rust runtime ignores SIGPIPE, and an ignored signal stays ignored across exec: put
    // it back so that `yes | head` ends as it does in any shell.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let prog = &spec.args[0];
    let candidates: Vec<PathBuf> = if prog.contains('/') {
        vec![PathBuf::from(prog)]
    } else {
        let path = spec
            .env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(prog))
            .collect()
    };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let explicit = prog.contains('/');
    let mut last = None;
    for c in candidates {
        let Ok(md) = std::fs::metadata(&c) else {
            if explicit {
                return (format!("exec {prog}: no such file or directory"), 127);
            }
            continue;
        };
        // A PATH search passes over what cannot be run; a path named outright is tried
        // as it is, so that the error says why it cannot run.
        if !explicit && (!md.is_file() || md.permissions().mode() & 0o111 == 0) {
            continue;
        }
        let Ok(cpath) = path_c(&c) else { continue };
        unsafe { libc::execve(cpath.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
        last = Some(io::Error::last_os_error());
    }
    match last {
        Some(e) if e.kind() == io::ErrorKind::NotFound => (format!("exec {prog}: {e}"), 127),
        Some(e) => (format!("exec {prog}: {e}"), 126),
        None => (
            format!("exec: \"{prog}\": executable file not found in $PATH"),
            127,
        ),
    }
}
