//! The store's library API: images and names, docker's removal rules, verification,
//! the layer table, and snapshots (whiteouts, opaque dirs, unsafe entries).

mod common_store;

use common_store::*;
use kiln::store::images::Removal;
use kiln::store::StoreError;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

const BB: &str = "docker.io/library/busybox:latest";

#[test]
fn add_resolve_and_tag() {
    let env = Env::new();
    let store = env.store();
    let img = add_busybox(&store, BB, "one");
    // the image ID is the config digest
    assert_eq!(img.id, img.manifest.config.digest);
    for s in [
        "busybox",
        "busybox:latest",
        BB,
        img.id.as_str(),
        &img.id.hex()[..12],
    ] {
        let r = store.resolve(s).unwrap();
        assert_eq!(r.id, img.id, "{s}");
    }
    assert!(matches!(
        store.resolve("nope"),
        Err(StoreError::NoSuchImage(_))
    ));
    let r = store.resolve("busybox").unwrap();
    store.tag(&r, "docker.io/me/app:v1").unwrap();
    assert_eq!(store.resolve("me/app:v1").unwrap().id, img.id);
    // the store only takes full names
    assert!(store.tag(&r, "busybox").is_err());
    // manifest and config bytes are kept as given
    let again = store.image(&img.manifest_digest).unwrap();
    assert_eq!(again.manifest_bytes, img.manifest_bytes);
    assert_eq!(kiln::image::digest::Digest::of(&again.config_bytes), img.id);
}

#[test]
fn retagging_leaves_the_old_image_untagged() {
    let env = Env::new();
    let store = env.store();
    let a = add_busybox(&store, BB, "a");
    let b = add_busybox(&store, BB, "b");
    assert_ne!(a.id, b.id);
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 2);
    let old = entries.iter().find(|e| e.id == a.id).unwrap();
    assert_eq!(old.name, None);
    assert_eq!(store.resolve("busybox").unwrap().id, b.id);
}

#[test]
fn removal_follows_docker_rules() {
    let env = Env::new();
    let store = env.store();
    let img = add_busybox(&store, BB, "x");
    let r = store.resolve("busybox").unwrap();
    store.tag(&r, "docker.io/library/busybox:v2").unwrap();
    store.tag(&r, "docker.io/other/repo:latest").unwrap();
    // by ID with tags in several repositories: refused without force
    let err = store.remove(img.id.short(), false).unwrap_err();
    assert!(err.to_string().contains("must be forced"), "{err}");
    // by name: only untagged while other names remain
    assert_eq!(
        store.remove("other/repo", false).unwrap(),
        vec![Removal::Untagged("other/repo:latest".into())]
    );
    // by ID, tags in one repository: untag all and delete
    let events = store.remove(img.id.short(), false).unwrap();
    assert_eq!(
        events,
        vec![
            Removal::Untagged("busybox:latest".into()),
            Removal::Untagged("busybox:v2".into()),
            Removal::Deleted(img.id.clone()),
        ]
    );
    assert!(store.entries().unwrap().is_empty());
    // gc then removes its blobs
    store.prune(true).unwrap();
    assert!(!store.has_blob(&img.manifest_digest));
    assert!(!store.has_blob(&img.id));
}

#[test]
fn ambiguous_prefix_is_an_error() {
    let env = Env::new();
    let store = env.store();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(add_busybox(&store, &format!("docker.io/library/t:{i}"), &i.to_string()).id);
    }
    // With 40 IDs, some pair shares its first hex digit.
    let c = ids
        .iter()
        .map(|d| &d.hex()[..1])
        .find(|p| ids.iter().filter(|d| d.hex().starts_with(*p)).count() > 1)
        .unwrap();
    let err = store.resolve(c).unwrap_err();
    assert!(err.to_string().contains("multiple IDs"), "{err}");
}

#[test]
fn corrupt_blobs_are_caught_on_read() {
    let env = Env::new();
    let store = env.store();
    let img = add_busybox(&store, BB, "c");
    let layer = &img.manifest.layers[0].digest;
    let path = store.blob_path(layer);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let mut buf = Vec::new();
    let err = store
        .open_blob(layer)
        .unwrap()
        .read_to_end(&mut buf)
        .unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    // and a blob written with a promised digest that does not match is refused
    let wrong = kiln::image::digest::Digest::of(b"other");
    assert!(matches!(
        store.put_blob(b"content", Some(&wrong)),
        Err(StoreError::DigestMismatch { .. })
    ));
    assert!(!store.has_blob(&kiln::image::digest::Digest::of(b"content")));
}

#[test]
fn add_image_refuses_missing_blobs() {
    let env = Env::new();
    let store = env.store();
    let layer = busybox_layer("m");
    let diff_id = kiln::image::digest::Digest::of(&layer);
    let config = config_json(std::slice::from_ref(&diff_id), "2024-01-01T00:00:00Z");
    let cd = store.put_blob(&config, None).unwrap();
    let manifest = manifest_json(
        (&cd, config.len() as u64),
        &[(
            "application/vnd.oci.image.layer.v1.tar".into(),
            diff_id.clone(),
            layer.len() as u64,
        )],
    );
    let err = store.add_image(&manifest, &[BB.to_string()]).unwrap_err();
    assert!(matches!(err, StoreError::MissingBlob(_)), "{err}");
    assert!(store.entries().unwrap().is_empty());
}

#[test]
fn layer_table_knows_compressed_layers() {
    let env = Env::new();
    let store = env.store();
    let layer = busybox_layer("gz");
    let img = add_image_with(
        &store,
        std::slice::from_ref(&layer),
        &[BB],
        "2024-01-01T00:00:00Z",
        true,
    );
    let diff_id = &img.config.rootfs.diff_ids[0];
    assert_eq!(*diff_id, kiln::image::digest::Digest::of(&layer));
    let rec = store.layer(diff_id).unwrap().unwrap();
    assert_eq!(rec.size, layer.len() as u64);
    assert!(rec.uncompressed().is_none());
    let (mut r, size) = store.open_layer(diff_id).unwrap();
    let mut buf = Vec::new();
    r.read_to_end(&mut buf).unwrap();
    assert_eq!(size, layer.len() as u64);
    assert_eq!(buf, layer);
}

#[test]
fn snapshot_applies_whiteouts_and_opaque_dirs() {
    let env = Env::new();
    let store = env.store();
    let tar = layer_tar(&[
        Entry::Dir("etc"),
        Entry::File("etc/.wh.passwd", b"", 0o644),
        Entry::Dir("var/cache"),
        Entry::File("var/cache/.wh..wh..opq", b"", 0o644),
        Entry::File("var/cache/new", b"new\n", 0o640),
        Entry::Symlink("etc/link", "/etc/shadow"),
        Entry::File("etc/mode", b"x", 0o4755),
        Entry::HardLink("etc/mode2", "etc/mode"),
    ]);
    let rec = store.put_layer_tar(&tar[..]).unwrap();
    let snap = store.snapshot(&rec.diff_id).unwrap();
    assert_eq!(snap, store.snapshots_dir().join(rec.diff_id.hex()));
    let wh = std::fs::symlink_metadata(snap.join("etc/passwd")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(!snap.join("etc/.wh.passwd").exists());
    let opaque = xattr_get(&snap.join("var/cache"), "trusted.overlay.opaque");
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
    assert!(!snap.join("var/cache/.wh..wh..opq").exists());
    assert_eq!(std::fs::read(snap.join("var/cache/new")).unwrap(), b"new\n");
    assert_eq!(
        std::fs::read_link(snap.join("etc/link")).unwrap().to_str(),
        Some("/etc/shadow")
    );
    let m = std::fs::metadata(snap.join("etc/mode")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o4755);
    assert_eq!(
        m.ino(),
        std::fs::metadata(snap.join("etc/mode2")).unwrap().ino()
    );
    assert_eq!(m.mtime(), 1_700_000_000);
    // a second call returns the same directory without unpacking again
    assert_eq!(store.snapshot(&rec.diff_id).unwrap(), snap);
    // nothing left in tmp
    assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
}

fn xattr_get(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 64];
    let n = rustix::fs::lgetxattr(path, name, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn assert_unsafe(tar: Vec<u8>, outside: &std::path::Path) {
    let env = Env::new();
    let store = env.store();
    let rec = store.put_layer_tar(&tar[..]).unwrap();
    let err = store.snapshot(&rec.diff_id).unwrap_err();
    assert!(matches!(err, StoreError::UnsafePath { .. }), "{err}");
    assert!(!outside.exists(), "{} was written", outside.display());
    assert!(!store.snapshots_dir().join(rec.diff_id.hex()).exists());
}

#[test]
fn snapshot_rejects_path_traversal() {
    let env = Env::new();
    let victim = env.path("victim");
    // `..` climbing out of the snapshot
    let up = format!(
        "../../../../{}",
        victim.file_name().unwrap().to_str().unwrap()
    );
    assert_unsafe(layer_tar(&[Entry::RawFile(&up, b"pwned")]), &victim);
    // an absolute path
    let abs = env.path("abs-victim");
    assert_unsafe(
        layer_tar(&[Entry::RawFile(abs.to_str().unwrap(), b"pwned")]),
        &abs,
    );
    // a symlink to the outside, then a file below it
    let outdir = env.path("outdir");
    std::fs::create_dir(&outdir).unwrap();
    assert_unsafe(
        layer_tar(&[
            Entry::Symlink("escape", outdir.to_str().unwrap()),
            Entry::File("escape/file", b"pwned", 0o644),
        ]),
        &outdir.join("file"),
    );
    // a hard link to a file outside
    let secret = env.path("secret");
    std::fs::write(&secret, b"secret").unwrap();
    let env2 = Env::new();
    let store = env2.store();
    let tar = layer_tar(&[Entry::RawFile("x", b"")]);
    let mut tar2 = tar.clone();
    // rewrite as a hard link whose target climbs out
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    h.set_mode(0o644);
    h.as_old_mut().name[..4].copy_from_slice(b"link");
    let target = b"../../../../../../etc/passwd";
    h.as_old_mut().linkname[..target.len()].copy_from_slice(target);
    h.set_cksum();
    tar2.truncate(tar.len() - 1024);
    tar2.extend_from_slice(h.as_bytes());
    tar2.extend_from_slice(&[0u8; 1024]);
    let rec = store.put_layer_tar(&tar2[..]).unwrap();
    let err = store.snapshot(&rec.diff_id).unwrap_err();
    assert!(matches!(err, StoreError::UnsafePath { .. }), "{err}");
}

#[test]
fn a_prepared_tree_becomes_a_snapshot_by_rename() {
    let env = Env::new();
    let store = env.store();
    let _g = store.ingest().unwrap();
    let work = store.work_dir().unwrap();
    let upper = work.path().join("upper");
    std::fs::create_dir(&upper).unwrap();
    std::fs::write(upper.join("f"), b"x").unwrap();
    let d = kiln::image::digest::Digest::of(b"some layer");
    let snap = store.commit_snapshot(&d, &upper).unwrap();
    assert_eq!(std::fs::read(snap.join("f")).unwrap(), b"x");
    assert!(!upper.exists());
    // a second tree for the same layer leaves the first in place
    let upper2 = work.path().join("upper2");
    std::fs::create_dir(&upper2).unwrap();
    assert_eq!(store.commit_snapshot(&d, &upper2).unwrap(), snap);
    assert!(upper2.exists());
}

#[test]
fn compressed_forms_are_made_once_and_recorded() {
    use kiln::store::layers::Compression;
    let env = Env::new();
    let store = env.store();
    let layer = busybox_layer("z");
    let rec = store.put_layer_tar(&layer[..]).unwrap();
    for (c, mt) in [
        (
            Compression::Gzip,
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        (
            Compression::Zstd,
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
    ] {
        let blob = store.compressed_layer(&rec.diff_id, c).unwrap();
        assert_eq!(blob.media_type, mt);
        assert!(blob.size < layer.len() as u64);
        assert_eq!(store.compressed_layer(&rec.diff_id, c).unwrap(), blob);
        // the compressed blob decompresses to the layer
        let (d, n) =
            kiln::store::layers::diff_id_of(store.open_blob(&blob.digest).unwrap()).unwrap();
        assert_eq!((d, n), (rec.diff_id.clone(), layer.len() as u64));
    }
    let rec = store.layer(&rec.diff_id).unwrap().unwrap();
    assert_eq!(rec.blobs.len(), 3);
}

#[test]
fn a_batch_of_images_is_named_all_or_nothing() {
    let env = Env::new();
    let store = env.store();
    let good = add_busybox(&store, "docker.io/library/good:1", "good");
    store.remove("good:1", false).unwrap();
    // an image whose layer is not in the store
    let missing = kiln::image::digest::Digest::of(b"not stored");
    let config = config_json(std::slice::from_ref(&missing), "2024-01-01T00:00:00Z");
    let cd = store.put_blob(&config, None).unwrap();
    let bad = manifest_json(
        (&cd, config.len() as u64),
        &[("application/vnd.oci.image.layer.v1.tar".into(), missing, 10)],
    );
    let err = store
        .add_images(&[
            (
                good.manifest_bytes.clone(),
                vec!["docker.io/library/good:2".into()],
            ),
            (bad, vec!["docker.io/library/bad:1".into()]),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingBlob(_)), "{err}");
    assert!(store.entries().unwrap().is_empty());
    assert!(store.resolve("good:2").is_err());
}

#[test]
fn snapshot_keeps_owners_and_xattrs() {
    let env = Env::new();
    let store = env.store();
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("SCHILY.xattr.user.kiln", &b"value"[..]),
        ("uid", &b"3000000"[..]),
    ])
    .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o640);
    h.set_uid(0);
    h.set_gid(4321);
    h.set_size(3);
    b.append_data(&mut h, "owned", &b"abc"[..]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_uid(1234);
    h.set_gid(1234);
    h.set_size(0);
    b.append_link(&mut h, "link", "owned").unwrap();
    let tar = b.into_inner().unwrap();
    let rec = store.put_layer_tar(&tar[..]).unwrap();
    let snap = store.snapshot(&rec.diff_id).unwrap();
    let m = std::fs::metadata(snap.join("owned")).unwrap();
    // the PAX uid (too large for the old header) wins
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o7777),
        (3_000_000, 4321, 0o640)
    );
    assert_eq!(
        xattr_get(&snap.join("owned"), "user.kiln").as_deref(),
        Some(&b"value"[..])
    );
    let l = std::fs::symlink_metadata(snap.join("link")).unwrap();
    assert_eq!((l.uid(), l.gid()), (1234, 1234));
}
