//! Parse and plan a generated 10,000-instruction Dockerfile: the front end must stay
//! negligible next to a build (goal: parse + plan under 5 ms).
//!
//! Environment switches instead of criterion's statistics:
//! - `FRONTEND_MIN_OF=N`: the best, median and 90th percentile wall-clock times of N runs
//!   (parse, parse + plan, and plan alone on a kept tree);
//! - `FRONTEND_SERIES=N`: the start and wall-clock time of each of N parse + plan runs;
//! - `FRONTEND_PROFILE=parse|plan`: a loop over one phase, for `perf record` or callgrind
//!   (`FRONTEND_ROUNDS=N` rounds, 200 unless set);
//! - `FRONTEND_WRITE=PATH`: writes the generated Dockerfile there (to compare parser versions
//!   on it);
//! - `FRONTEND_FILE=PATH`: the best parse time of that file.
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::fmt::Write;

use kiln::dockerfile::parser::parse;
use kiln::plan::{plan, PlanOptions};

/// The allocator the kiln binary uses (see `src/main.rs`), so that the figures are the
/// binary's.
#[global_allocator]
static ALLOCATOR: kiln::allocator::Allocator = kiln::allocator::Allocator;

const STAGES: usize = 10;
const INSTRUCTIONS: usize = 10_000;

/// Several stages that copy from each other, with global and stage ARGs, ENV chains,
/// mounts, heredocs and every common instruction, so that expansion does real work.
fn generate() -> String {
    let mut s = String::from("# syntax=docker/dockerfile:1\nARG BASE=alpine\nARG VERSION=3.19\n");
    // Two global ARGs (the syntax line is a directive, not an instruction).
    let per_stage = (INSTRUCTIONS - 2) / STAGES;
    let mut count = 2;
    for st in 0..STAGES {
        let _ = writeln!(s, "FROM ${{BASE}}:${{VERSION}} AS stage{st}");
        let _ = writeln!(s, "ARG VERSION\nARG N{st}=n{st}");
        count += 3;
        let mut i = 0;
        while i < per_stage - 3 {
            let line = match i % 12 {
                0 => format!("ENV V{i}=\"value ${{N{st}}} {i}\" PATH=/opt/{i}:$PATH"),
                1 => format!("RUN --mount=type=cache,target=/cache/$N{st},id=c{i} echo $V{i} && make -j2 target{i}"),
                2 => format!("COPY --chown=1000:1000 src/{i}/ /app/${{N{st}}}/{i}/"),
                3 => format!("WORKDIR /work/${{V{}:-none}}/{i}", i.saturating_sub(3)),
                4 => format!("LABEL org.example.l{i}=\"$VERSION-{i}\" other{i}=x"),
                5 => format!("ARG A{i}=${{N{st}}}-{i}"),
                6 => "RUN set -e; \\\n    apt-get update && \\\n    apt-get install -y curl".to_string(),
                7 => format!("EXPOSE {}/tcp", 8000 + i),
                8 => format!("USER u{i}"),
                9 => {
                    if st > 0 {
                        format!("COPY --from=stage{} /out/{i} /in/{i}", st - 1)
                    } else {
                        format!("ADD https://example.com/{i}.tar.gz /dl/")
                    }
                }
                10 => format!("COPY <<EOF /etc/conf{i}\nkey=$N{st}\nEOF"),
                _ => "HEALTHCHECK --interval=30s CMD [\"true\"]".to_string(),
            };
            s.push_str(&line);
            s.push('\n');
            i += 1;
            count += 1;
        }
    }
    while count < INSTRUCTIONS {
        s.push_str("RUN true\n");
        count += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    if let Ok(path) = std::env::var("FRONTEND_FILE") {
        // Parse time of another file (one kind of line repeated, say), best of 100.
        let src = std::fs::read(&path).expect("reads FRONTEND_FILE");
        let best = (0..100)
            .map(|_| {
                let t = std::time::Instant::now();
                drop(black_box(parse(black_box(&src))));
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        println!("{path}: parse best of 100 (wall clock) {best:?}");
        return;
    }
    let src = generate();
    if let Ok(path) = std::env::var("FRONTEND_WRITE") {
        std::fs::write(&path, &src).expect("writes the generated Dockerfile");
        return;
    }
    let parsed = parse(src.as_bytes()).expect("generated Dockerfile parses");
    assert_eq!(parsed.ast.children.len(), INSTRUCTIONS);
    let opts = PlanOptions {
        build_args: [("VERSION".to_string(), "3.20".to_string())].into(),
        ..Default::default()
    };
    let p = plan(&parsed, &opts).expect("generated Dockerfile plans");
    assert_eq!(p.stages.len(), STAGES);
    // What every timing of parse + plan times: the plan is given back, to be freed by the
    // caller (inside the timing, as criterion's `iter` frees it).
    let round = || {
        let parsed = parse(black_box(src.as_bytes())).expect("parses");
        plan(&parsed, &opts).expect("plans")
    };

    if let Some(n) = std::env::var("FRONTEND_SERIES")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        // Each run's wall-clock time in order, with when it started: on one thread
        // (RAYON_NUM_THREADS=1) the work is the same every run, so what varies is the machine.
        let t0 = std::time::Instant::now();
        for _ in 0..n {
            let t = std::time::Instant::now();
            drop(round());
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            println!("{:.1} {:.3}", ms(t - t0), ms(t.elapsed()));
        }
        return;
    }
    if let Ok(what) = std::env::var("FRONTEND_PROFILE") {
        // A steady loop of one phase only, for a profiler to look at.
        let rounds: usize = std::env::var("FRONTEND_ROUNDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(200);
        for _ in 0..rounds {
            let parsed = parse(black_box(src.as_bytes())).expect("parses");
            if what == "plan" {
                drop(plan(&parsed, &opts).expect("plans"));
            }
        }
        return;
    }
    if let Ok(n) = std::env::var("FRONTEND_MIN_OF") {
        // On a shared machine the mean wanders with the load; the best of many runs is a
        // steadier figure to compare two versions of the code with, and the median says what
        // a run usually costs. Wall-clock time, since long files are parsed and planned on
        // several threads: the calling thread's CPU time would leave their work out.
        let n: usize = n.parse().unwrap_or(100);
        // Best, median and 90th percentile of the wall-clock times.
        let spread = |f: &dyn Fn()| {
            let mut v: Vec<std::time::Duration> = (0..n.max(1))
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed()
                })
                .collect();
            v.sort();
            let at = |q: usize| v[(v.len() - 1) * q / 100];
            format!("best {:?}, median {:?}, p90 {:?}", at(0), at(50), at(90))
        };
        let p = spread(&|| drop(parse(black_box(src.as_bytes())).expect("parses")));
        let pp = spread(&|| drop(round()));
        let pl = spread(&|| drop(plan(&parsed, &opts).expect("plans")));
        println!("{n} runs (wall clock): parse {p}; parse+plan {pp}; plan alone {pl}");
        return;
    }
    let mut g = c.benchmark_group("frontend");
    g.sample_size(30);
    g.bench_function("parse 10k instructions", |b| {
        b.iter(|| parse(black_box(src.as_bytes())).expect("parses"))
    });
    g.bench_function("parse+plan 10k instructions", |b| b.iter(round));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
