#!/usr/bin/env bash
# Builds kiln, then uses it as a user would on a machine without Docker Hub access:
# a busybox base image from the machine's busybox-static, the two-stage example in
# examples/hello on top of it, `kiln run` of the result, a rebuild that comes from the
# layer cache, a build step that runs the image, and an OCI archive that an independent
# reader (skopeo) inspects. The store lives in target/quickstart-store.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/install-deps.sh
cargo build --release
kiln() { target/release/kiln --root target/quickstart-store "$@"; }

echo "== a base image from busybox-static"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf examples/busybox-base/rootfs.tar .
kiln build -t kiln-example/busybox:latest examples/busybox-base

echo "== kiln build -t hello examples/hello"
kiln build --progress plain -t hello examples/hello

echo "== kiln run --rm hello  (the hostname is the container's short id)"
kiln run --rm hello

echo "== the same build again: every step after FROM prints 'Using cache'"
kiln build --progress plain -t hello examples/hello

echo "== a build step that runs the image's command"
step=$(mktemp -d)
printf 'FROM hello\nRUN hello\n' > "$step/Dockerfile"
kiln build --progress plain "$step"
rm -rf "$step"

echo "== kiln images"
kiln images

echo "== an OCI archive, read back by skopeo"
kiln save --format oci -o target/hello-oci.tar hello
skopeo inspect oci-archive:target/hello-oci.tar | head -n 12
