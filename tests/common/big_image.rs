//! Large images for transfer tests (progress display, interrupted pulls): a layer of random
//! bytes made at memory speed, pushed to a test registry; and a loopback proxy that slows
//! downloads so that a transfer is reliably caught half-way.

use super::registry::{build_oci_layout, skopeo, Registry, TestImage};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `len` bytes from splitmix64: incompressible, far faster than reading /dev/urandom.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A gzip layer holding one file of `size` random bytes. Stored, not deflated: random data
/// would not shrink, and the blob is then as big as the file.
pub fn random_layer(size: usize, seed: u64) -> Vec<u8> {
    let data = random_bytes(size, seed);
    let mut tar = tar::Builder::new(Vec::with_capacity(size + 4096));
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, "random.bin", &data[..]).unwrap();
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() + 4096),
        flate2::Compression::none(),
    );
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// The seed of the layer [`push_random_image`] makes.
pub const SEED: u64 = 0x6b69_6c6e;

/// Pushes an image of one random layer of `size` bytes to `reg` as `repo:tag`; returns the
/// full reference and the layout it came from (written under `dir`).
pub fn push_random_image(
    reg: &Registry,
    dir: &Path,
    repo: &str,
    tag: &str,
    size: usize,
) -> (String, TestImage) {
    let img = build_oci_layout(dir, "amd64", &[random_layer(size, SEED)], tag);
    let name = format!("{}/{repo}:{tag}", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:{tag}", img.dir.display()),
        &format!("docker://{name}"),
    ]);
    (name, img)
}

/// A loopback TCP proxy to `upstream` that moves bytes each way at no more than
/// `bytes_per_sec` (0: as fast as they come). Stopped on Drop.
pub struct SlowProxy {
    pub port: u16,
    pub bytes_per_sec: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SlowProxy {
    pub fn start(upstream: u16, bytes_per_sec: u64) -> SlowProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let rate = Arc::new(AtomicU64::new(bytes_per_sec));
        let (stop2, rate2) = (stop.clone(), rate.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = conn else { continue };
                let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (c_in, u_out) = (client.try_clone().unwrap(), up.try_clone().unwrap());
                let (rate, stop) = (rate2.clone(), stop2.clone());
                std::thread::spawn(move || slow_copy(c_in, u_out, &rate, &stop));
                let (rate, stop) = (rate2.clone(), stop2.clone());
                std::thread::spawn(move || slow_copy(up, client, &rate, &stop));
            }
        });
        SlowProxy {
            port,
            bytes_per_sec: rate,
            stop,
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Copies in 64 KiB steps, sleeping after each as long as it takes at the rate (time spent
/// idle is not saved up for a burst later).
fn slow_copy(mut from: TcpStream, mut to: TcpStream, rate: &AtomicU64, stop: &AtomicBool) {
    let mut buf = vec![0u8; 64 << 10];
    let mut next = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        let r = rate.load(Ordering::SeqCst);
        if r > 0 {
            next = next.max(Instant::now()) + Duration::from_secs_f64(n as f64 / r as f64);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
