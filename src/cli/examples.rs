//! The `Examples:` section of each command's `--help` (docker's layout: the heading, then
//! indented command lines), kept together so that they read as one consistent set.

pub const BUILD: &str = "\
Examples:
  kiln build -t myapp:1.0 .
  kiln build -f docker/Dockerfile.prod -t myapp:prod --build-arg VERSION=1.2 .
  kiln build --target test .
  kiln build -t myapp --network none --iidfile app.iid .
  kiln build -o type=oci,dest=myapp.tar .";

pub const IMAGES: &str = "\
Examples:
  kiln images
  kiln images busybox
  kiln images -q
  kiln images --digests --no-trunc";

pub const IMAGE: &str = "\
Examples:
  kiln image ls
  kiln image inspect busybox
  kiln image prune";

pub const IMAGE_LS: &str = "\
Examples:
  kiln image ls
  kiln image ls busybox
  kiln image ls -q";

pub const PRUNE: &str = "\
Examples:
  kiln image prune
  kiln image prune -f";

pub const TAG: &str = "\
Examples:
  kiln tag myapp:1.0 registry.example.com/team/myapp:1.0
  kiln tag 0e5574283393 myapp:latest";

pub const IMAGE_TAG: &str = "\
Examples:
  kiln image tag myapp:1.0 registry.example.com/team/myapp:1.0";

pub const RMI: &str = "\
Examples:
  kiln rmi myapp:1.0
  kiln rmi -f 0e5574283393";

pub const IMAGE_RM: &str = "\
Examples:
  kiln image rm myapp:1.0";

pub const INSPECT: &str = "\
Examples:
  kiln inspect busybox
  kiln inspect myapp:1.0 busybox:latest";

pub const IMAGE_INSPECT: &str = "\
Examples:
  kiln image inspect busybox";

pub const SAVE: &str = "\
Examples:
  kiln save -o myapp.tar myapp:1.0
  kiln save myapp:1.0 | docker load
  kiln save --format oci -o myapp-oci.tar myapp:1.0";

pub const IMAGE_SAVE: &str = "\
Examples:
  kiln image save -o myapp.tar myapp:1.0";

pub const LOAD: &str = "\
Examples:
  kiln load -i myapp.tar
  docker save busybox | kiln load";

pub const IMAGE_LOAD: &str = "\
Examples:
  kiln image load -i myapp.tar";

pub const PULL: &str = "\
Examples:
  kiln pull busybox
  kiln pull --platform linux/arm64 alpine:3.20
  kiln pull registry.example.com/team/base@sha256:<digest>";

pub const IMAGE_PULL: &str = "\
Examples:
  kiln image pull busybox";

pub const PUSH: &str = "\
Examples:
  kiln push registry.example.com/team/myapp:1.0
  kiln push --insecure-registry localhost:5000 localhost:5000/myapp:dev";

pub const IMAGE_PUSH: &str = "\
Examples:
  kiln image push registry.example.com/team/myapp:1.0";

pub const LOGIN: &str = "\
Examples:
  kiln login registry.example.com
  echo \"$REGISTRY_TOKEN\" | kiln login -u ci --password-stdin registry.example.com
  kiln login -u me docker.io";

pub const LOGOUT: &str = "\
Examples:
  kiln logout registry.example.com
  kiln logout";

pub const RUN: &str = "\
Examples:
  kiln run --rm busybox echo hello
  kiln run --rm -e GREETING=hi busybox sh -c 'echo $GREETING from $(hostname)'
  kiln run --rm -w /tmp -u 1000 busybox pwd
  kiln run --rm --entrypoint /bin/ls busybox -l /
  kiln run --rm -it busybox sh";

pub const VERSION: &str = "\
Examples:
  kiln version
  kiln --version";

pub const COMPLETION: &str = "\
Examples:
  source <(kiln completion bash)
  kiln completion bash > /etc/bash_completion.d/kiln
  kiln completion zsh > \"${fpath[1]}/_kiln\"
  kiln completion fish > ~/.config/fish/completions/kiln.fish";

pub const DEBUG: &str = "\
Examples:
  kiln debug parse Dockerfile
  kiln debug plan --target app --build-arg VERSION=1.2 Dockerfile";

pub const DEBUG_PARSE: &str = "\
Examples:
  kiln debug parse Dockerfile
  cat Dockerfile | kiln debug parse -";

pub const DEBUG_PLAN: &str = "\
Examples:
  kiln debug plan Dockerfile
  kiln debug plan --target app --build-arg VERSION=1.2 Dockerfile";

pub const BUILDER: &str = "\
Examples:
  kiln builder prune
  kiln builder prune --all --force
  kiln builder prune --filter until=24h --keep-storage 5GB";

pub const BUILDER_PRUNE: &str = BUILDER;

pub const SYSTEM: &str = "\
Examples:
  kiln system df";
