//! ONBUILD triggers run when an image is used as a base, their words expanded with the
//! base's environment, and are consumed (not inherited by the child's children).

mod common;

use common::build_env::{archive_files, BuildEnv};

#[test]
fn triggers_run_in_the_child_with_the_base_environment() {
    let env = BuildEnv::new();
    let base = env.context(
        "obase",
        "FROM BASE\nENV SRC=greeting.txt DEST=/etc/greeting\nONBUILD COPY $SRC $DEST\nONBUILD RUN cat $DEST > /seen\n",
        &[],
    );
    env.build_ok(&base, "obase:1", &[]);
    let child = env.context(
        "ochild",
        "FROM obase:1\nRUN echo child > /child\n",
        &[("greeting.txt", "hi from the context\n")],
    );
    let r = env.build_ok(&child, "ochild:1", &[]);
    assert!(r.stdout.contains("ONBUILD COPY"), "{}", r.stdout);
    let oci = env.tmp.path().join("ochild.tar");
    let s = env.kiln(&[
        "save",
        "--format",
        "oci",
        "-o",
        oci.to_str().unwrap(),
        "ochild:1",
    ]);
    assert_eq!(s.code, 0, "{}", s.all());
    let files = archive_files(&oci);
    let get = |n: &str| {
        files
            .iter()
            .rev()
            .find(|(p, _)| p == n)
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
    };
    assert_eq!(
        get("etc/greeting").as_deref(),
        Some("hi from the context\n")
    );
    assert_eq!(get("seen").as_deref(), Some("hi from the context\n"));
    let inspect = env.kiln(&["inspect", "ochild:1"]);
    assert!(
        !inspect.stdout.contains("ONBUILD COPY"),
        "{}",
        inspect.stdout
    );
    // Rebuilt, the trigger steps come from the cache like any other.
    let again = env.build_ok(&child, "ochild:1", &[]);
    assert!(!again.stdout.contains(" ---> Ran in"), "{}", again.stdout);
}
