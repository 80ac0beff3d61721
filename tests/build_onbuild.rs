//! ONBUILD triggers run when an image is used as a base, their words expanded with the
//! base's environment, and are consumed (not inherited by the child's children).

mod common;

use common::build_env::{file_text, BuildEnv};

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
    let files = env.image_files("ochild:1");
    let get = |n: &str| file_text(&files, n);
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
