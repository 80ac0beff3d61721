//! `kiln build --secret` with `RUN --mount=type=secret`: the step reads the secret (its hash
//! lands in the image), while no layer, config or output carries the secret itself.

mod build_support;

use build_support::{contains, read, sha256_hex, Env};

const SECRET: &str = "hunter2-kiln-secret-value";
const ENV_SECRET: &str = "env-borne-kiln-secret";

#[test]
fn secret_is_readable_in_run_and_absent_from_the_image() {
    let env = Env::new();
    let secret_file = env.path("token.txt");
    std::fs::write(&secret_file, SECRET).unwrap();
    let ctx = env.context(
        "secrets",
        "FROM BASE\n\
         RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok > /hash\n\
         RUN --mount=type=secret,id=tok,target=/etc/tok.txt,mode=0440,uid=1000,gid=1000 \
             stat -c '%a %u %g' /etc/tok.txt > /perm && cat /etc/tok.txt | wc -c > /len\n\
         RUN --mount=type=secret,id=envtok,env=MYTOK echo -n \"$MYTOK\" | sha256sum > /envhash\n\
         RUN --mount=type=secret,id=KILN_TEST_BARE_ID sha256sum /run/secrets/KILN_TEST_BARE_ID > /bare\n\
         RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && touch /optional-ok\n\
         RUN test ! -e /run/secrets && test ! -e /etc/tok.txt && touch /clean\n",
        &[],
    );
    let out = env.path("rootfs");
    let src = format!("id=tok,src={}", secret_file.display());
    let dest = format!("type=local,dest={}", out.display());
    let ctx_s = ctx.display().to_string();
    let run = env
        .kiln_with(
            &[
                "build",
                "-t",
                "secrets:1",
                "--secret",
                &src,
                "--secret",
                "id=envtok,env=KILN_TEST_SECRET_VAR",
                "--secret",
                "id=KILN_TEST_BARE_ID",
                "--output",
                &dest,
                &ctx_s,
            ],
            None,
            &[
                ("KILN_TEST_SECRET_VAR", ENV_SECRET),
                ("KILN_TEST_BARE_ID", "bare-value"),
            ],
        )
        .ok();
    assert!(read(&out.join("hash")).starts_with(&sha256_hex(SECRET.as_bytes())));
    assert_eq!(read(&out.join("perm")), "440 1000 1000\n");
    assert_eq!(read(&out.join("len")).trim(), SECRET.len().to_string());
    assert!(read(&out.join("envhash")).starts_with(&sha256_hex(ENV_SECRET.as_bytes())));
    assert!(read(&out.join("bare")).starts_with(&sha256_hex(b"bare-value")));
    assert!(
        out.join("optional-ok").exists(),
        "optional secret broke the step"
    );
    assert!(
        out.join("clean").exists(),
        "mount points stayed in the rootfs"
    );
    assert!(!out.join("run/secrets").exists());

    // Nothing of the secrets in any layer, in the config, or in the build's output.
    let image = env.image("secrets:1");
    for layer in env.layers(&image) {
        for (path, data) in layer {
            assert!(
                !path.starts_with("run/secrets") && !path.starts_with("etc/tok.txt"),
                "mount point {path} in a layer"
            );
            for s in [SECRET, ENV_SECRET, "bare-value"] {
                assert!(!contains(&data, s.as_bytes()), "{path} holds a secret");
            }
        }
    }
    for s in [SECRET, ENV_SECRET, "bare-value"] {
        assert!(
            !contains(&image.config_bytes, s.as_bytes()),
            "config holds a secret"
        );
        assert!(!contains(&run.stdout, s.as_bytes()) && !run.stderr.contains(s));
    }
    // Nor in the store's scratch space once the build is over.
    let tmp = env.root().join("tmp");
    let leftovers = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "work dirs left in {}", tmp.display());
}

#[test]
fn required_secret_missing_and_ssh_are_clear_errors() {
    let env = Env::new();
    let ctx = env.context(
        "required",
        "FROM BASE\nRUN --mount=type=secret,id=needed,required=true cat /run/secrets/needed\n",
        &[],
    );
    let r = env.kiln(&["build", &ctx.display().to_string()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("secret needed: not found"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Dockerfile:2"), "{}", r.stderr);

    let ctx = env.context("ssh", "FROM BASE\nRUN --mount=type=ssh true\n", &[]);
    let r = env.kiln(&["build", &ctx.display().to_string()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("type=ssh is not supported"),
        "{}",
        r.stderr
    );

    // A --secret naming a file that does not exist fails before anything runs.
    let r = env.kiln(&[
        "build",
        "--secret",
        "id=x,src=/nonexistent/kiln/secret",
        &ctx.display().to_string(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("invalid --secret"), "{}", r.stderr);
}
