//! Scanning a build context of 20,000 files (~300 MB, mixed sizes, nested directories):
//! `cold` with an empty metadata index (every file read and hashed; the page cache is warm,
//! so this measures hashing, not the disk) and `warm` with a full index (an unchanged
//! context: one `lstat` per file, nothing read).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kiln::context::{walk, ContextIndex, IgnoreRules, RACY_WINDOW};
use kiln::image::digest::HashingWriter;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// The allocator the kiln binary uses (see `src/main.rs`), so that the figures are the
/// binary's.
#[global_allocator]
static ALLOCATOR: kiln::allocator::Allocator = kiln::allocator::Allocator;

const FILES: usize = 20_000;

/// xorshift64*: incompressible, reproducible contents without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Size classes: many small sources, some medium assets, a few large blobs.
fn size_of(i: usize, rng: &mut Rng) -> u64 {
    const K: u64 = 1024;
    match i % 2000 {
        0 => rng.range(4 * K * K, 6 * K * K),   // 10 files, ~50 MB
        1..=19 => rng.range(256 * K, 1024 * K), // 190 files, ~120 MB
        20..=299 => rng.range(8 * K, 64 * K),   // 2,800 files, ~100 MB
        _ => rng.range(0, 4 * K),               // 17,000 files, ~34 MB
    }
}

/// Writes the context; returns the total bytes.
fn generate(root: &Path) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total = 0;
    let mut buf = Vec::new();
    for i in 0..FILES {
        let dir = root.join(format!(
            "pkg{:02}/mod{:02}/part{}",
            i % 25,
            (i / 25) % 16,
            (i / 400) % 3
        ));
        fs::create_dir_all(&dir).expect("create dir");
        let size = size_of(i, &mut rng) as usize;
        buf.clear();
        while buf.len() < size {
            buf.extend_from_slice(&rng.next().to_le_bytes());
        }
        buf.truncate(size);
        fs::write(dir.join(format!("file{i:05}.dat")), &buf).expect("write file");
        total += size as u64;
    }
    total
}

fn bench(c: &mut Criterion) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let ctx = tempfile::TempDir::new().expect("temp dir");
    let store = tempfile::TempDir::new().expect("temp dir");
    let started = Instant::now();
    let total = generate(ctx.path());
    eprintln!(
        "context: {FILES} files, {:.1} MB, written in {:.1?}",
        total as f64 / 1e6,
        started.elapsed()
    );
    // Let every file age past the racy window so that the warm index trusts it.
    std::thread::sleep(RACY_WINDOW + Duration::from_millis(200));
    let index_dir = store.path().join("index");
    let open = || ContextIndex::open(ctx.path(), &index_dir, IgnoreRules::none());

    // The ceiling for a cold scan: sha256 of in-memory data on one thread.
    let block = vec![0x5au8; 1 << 20];
    let t = Instant::now();
    let mut w = HashingWriter::new(std::io::sink());
    for _ in 0..256 {
        w.write_all(&block).expect("hash");
    }
    let (_, n, _) = w.finish();
    eprintln!(
        "sha256 alone, one thread: {:.0} MB/s",
        n as f64 / 1e6 / t.elapsed().as_secs_f64()
    );

    let mut group = c.benchmark_group("context_scan");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));

    group.throughput(Throughput::Bytes(total));
    group.bench_function("cold_20k_files_300MB", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let _ = fs::remove_dir_all(&index_dir);
                let t = Instant::now();
                let stats = open().scan().expect("scan");
                spent += t.elapsed();
                assert_eq!(stats.bytes_hashed, total, "a cold scan reads everything");
            }
            spent
        })
    });

    let stats = open().scan().expect("scan");
    assert_eq!(stats.files_untrusted, 0, "files older than the racy window");
    // Where a warm scan's time goes (`RUST_LOG=kiln=debug` shows each scan's phases).
    let walk_only = (0..5)
        .map(|_| {
            let t = Instant::now();
            walk(ctx.path(), &IgnoreRules::none()).expect("walk");
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    eprintln!("walk alone (best of 5): {walk_only:.1?}");
    group.throughput(Throughput::Elements(FILES as u64));
    group.bench_function("warm_20k_files", |b| {
        b.iter(|| {
            let stats = open().scan().expect("scan");
            assert_eq!(stats.bytes_hashed, 0, "a warm scan reads nothing");
            assert_eq!(stats.files_reused, FILES);
            stats
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
