//! The one platform kiln builds for: the machine's own, since RUN steps execute natively and
//! there is no emulation. Any other platform, asked for with `--platform` or a FROM's
//! `--platform`, is refused up front with a clear message.

use crate::registry::PlatformSpec;

/// The machine's platform in OCI terms (`linux/amd64`, `linux/arm64`, …).
pub fn host_platform() -> PlatformSpec {
    let spec = format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH);
    spec.parse().unwrap_or_default()
}

/// Accepts `wanted` (`os/arch[/variant]`) when it names the machine's platform.
pub fn check_platform(wanted: &str) -> Result<(), String> {
    let host = host_platform();
    let spec: PlatformSpec = wanted
        .parse()
        .map_err(|e| format!("invalid platform {wanted:?}: {e}"))?;
    let same = spec.os == host.os
        && spec.architecture == host.architecture
        && (spec.variant.is_none() || spec.variant == host.variant);
    if same {
        Ok(())
    } else {
        Err(format!(
            "kiln cannot build for {wanted} on this machine: no emulation (the machine is {})",
            host
        ))
    }
}

/// Checks the FROM `--platform` of every stage of a plan read from `file`.
pub fn check_stages(stages: &[crate::plan::Stage], file: &str) -> anyhow::Result<()> {
    for s in stages {
        if let Some(p) = &s.platform {
            check_platform(p).map_err(|e| anyhow::anyhow!("{file}:{}: {e}", s.from.line))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_platform() {
        let host = host_platform().to_string();
        check_platform(&host).unwrap();
        let other = if host == "linux/arm64" {
            "linux/amd64"
        } else {
            "linux/arm64"
        };
        let err = check_platform(other).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "kiln cannot build for {other} on this machine: no emulation"
            )),
            "{err}"
        );
        assert!(check_platform("windows/amd64").is_err());
        assert!(check_platform("nonsense")
            .unwrap_err()
            .contains("invalid platform"));
    }
}
