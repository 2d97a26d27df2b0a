//! How much memory this process may still use before something kills it:
//! the tightest of its cgroup's limit (v2 or v1, on every ancestor, since a
//! limit set on a parent slice binds too), the host's MemAvailable, and an
//! explicit limit. The cgroup is found from /proc/self/cgroup and the mount
//! table, never by assuming paths.
//!
//! Everything is read below a filesystem root, `/` unless
//! `LEAKGUARD_FS_ROOT` names another (tests point it at fixture trees).

use std::fs;
use std::path::{Path, PathBuf};

/// Values at or above this mean "no limit" in cgroup v1 (the kernel reports
/// PAGE_COUNTER_MAX pages, about 2^63).
const V1_UNLIMITED: u64 = 1 << 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// A cgroup v2 `memory.max` (the directory holding it).
    CgroupV2(PathBuf),
    /// A cgroup v1 `memory.limit_in_bytes`.
    CgroupV1(PathBuf),
    /// The host's `MemAvailable`.
    Host,
    /// The configured `headroom.limitMb`.
    Configured,
    /// Another bound, less what a fork capture sets aside for the app's
    /// copy-on-write growth while the child runs (bytes).
    ForkSetAside(Box<Bound>, u64),
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::CgroupV2(p) => write!(f, "cgroup v2 memory.max of {}", p.display()),
            Bound::CgroupV1(p) => write!(f, "cgroup v1 memory.limit_in_bytes of {}", p.display()),
            Bound::Host => write!(f, "the host's MemAvailable"),
            Bound::Configured => write!(f, "headroom.limitMb"),
            Bound::ForkSetAside(bound, bytes) => write!(
                f,
                "{bound}, less {} MiB set aside for the app's copy-on-write growth while the \
                 fork child runs",
                bytes >> 20
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Available {
    pub bytes: u64,
    pub bound: Bound,
}

/// The filesystem root the guard reads.
pub fn fs_root() -> PathBuf {
    std::env::var_os("LEAKGUARD_FS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The tightest limit. `configured` is `(limit, current RSS)` when
/// `headroom.limitMb` is set. `None` only if nothing at all could be read.
pub fn available(root: &Path, configured: Option<(u64, u64)>) -> Option<Available> {
    let mut candidates = cgroup_limits(root);
    if let Some(bytes) = mem_available(root) {
        candidates.push(Available {
            bytes,
            bound: Bound::Host,
        });
    }
    if let Some((limit, rss)) = configured {
        candidates.push(Available {
            bytes: limit.saturating_sub(rss),
            bound: Bound::Configured,
        });
    }
    candidates.into_iter().min_by_key(|a| a.bytes)
}

fn read(root: &Path, path: impl AsRef<Path>) -> Option<String> {
    let rel = path.as_ref().strip_prefix("/").unwrap_or(path.as_ref());
    fs::read_to_string(root.join(rel)).ok()
}

#[cfg(target_os = "macos")]
fn mem_available(_root: &Path) -> Option<u64> {
    crate::memory::host_available()
}

#[cfg(not(target_os = "macos"))]
fn mem_available(root: &Path) -> Option<u64> {
    read(root, "/proc/meminfo")?.lines().find_map(|line| {
        let rest = line.strip_prefix("MemAvailable:")?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// The room left under every memory limit on the way from the process's
/// cgroup up to the hierarchy's root.
fn cgroup_limits(root: &Path) -> Vec<Available> {
    let Some(membership) = read(root, "/proc/self/cgroup") else {
        return Vec::new();
    };
    let mounts = read(root, "/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in membership.lines() {
        // hierarchy-id:controllers:path
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let v2 = id == "0" && controllers.is_empty();
        let v1 = controllers.split(',').any(|c| c == "memory");
        if !(v2 || v1) {
            continue;
        }
        let Some(dir) = cgroup_dir(&mounts, path, v2) else {
            continue;
        };
        for (limit_dir, limit, usage) in walk_up(root, &dir.mount, &dir.leaf, v2) {
            out.push(Available {
                bytes: limit.saturating_sub(usage),
                bound: if v2 {
                    Bound::CgroupV2(limit_dir)
                } else {
                    Bound::CgroupV1(limit_dir)
                },
            });
        }
    }
    out
}

struct CgroupDir {
    /// Where the hierarchy is mounted.
    mount: PathBuf,
    /// The process's cgroup directory, below `mount`.
    leaf: PathBuf,
}

/// Finds the mount of the hierarchy (cgroup2, or the v1 one with the memory
/// controller) and maps the process's cgroup path into it.
fn cgroup_dir(mountinfo: &str, cgroup_path: &str, v2: bool) -> Option<CgroupDir> {
    mountinfo.lines().find_map(|line| {
        // id parent major:minor root mount-point options [optional...] - fstype source super-options
        let (left, right) = line.split_once(" - ")?;
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (mount_root, mount_point) = (*left.get(3)?, *left.get(4)?);
        let fstype = *right.first()?;
        let matches = if v2 {
            fstype == "cgroup2"
        } else {
            fstype == "cgroup" && right.get(2)?.split(',').any(|o| o == "memory")
        };
        if !matches {
            return None;
        }
        // Inside a cgroup namespace the mount's root is a prefix of our path.
        let rel = if mount_root == "/" {
            cgroup_path
        } else {
            cgroup_path.strip_prefix(mount_root)?
        };
        let mount = PathBuf::from(unescape(mount_point));
        let leaf = mount.join(rel.trim_start_matches('/'));
        Some(CgroupDir { mount, leaf })
    })
}

/// mountinfo escapes spaces and a few other bytes as \ooo.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            if let Ok(b) = u8::from_str_radix(&code, 8) {
                out.push(b as char);
                continue;
            }
            out.push(c);
            out.push_str(&code);
        } else {
            out.push(c);
        }
    }
    out
}

/// `(dir, limit, usage)` for each directory from `leaf` up to `mount` that has a limit.
fn walk_up(root: &Path, mount: &Path, leaf: &Path, v2: bool) -> Vec<(PathBuf, u64, u64)> {
    let (limit_file, usage_file) = if v2 {
        ("memory.max", "memory.current")
    } else {
        ("memory.limit_in_bytes", "memory.usage_in_bytes")
    };
    let mut out = Vec::new();
    let mut dir = Some(leaf);
    while let Some(d) = dir {
        let number =
            |file: &str| read(root, d.join(file)).and_then(|s| s.trim().parse::<u64>().ok());
        // v2 writes "max" for no limit, which does not parse: skipped.
        if let (Some(limit), Some(usage)) = (number(limit_file), number(usage_file)) {
            if v2 || limit < V1_UNLIMITED {
                out.push((d.to_path_buf(), limit, usage));
            }
        }
        if d == mount {
            break;
        }
        dir = d.parent().filter(|p| p.starts_with(mount));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/guard/fixtures")
            .join(name)
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn v2_limit_binds_below_host() {
        let a = available(&fixture("cgroup-v2"), None).unwrap();
        // memory.max 512 MiB, memory.current 200 MiB.
        assert_eq!(a.bytes, 312 * MIB);
        assert_eq!(
            a.bound,
            Bound::CgroupV2(PathBuf::from("/sys/fs/cgroup/app.slice/app.service"))
        );
    }

    #[test]
    fn v2_max_means_no_limit_but_a_parent_limit_still_binds() {
        let a = available(&fixture("cgroup-v2-max"), None).unwrap();
        // The service says "max"; its parent slice has 1 GiB with 900 MiB used.
        assert_eq!(a.bytes, 124 * MIB);
        assert_eq!(
            a.bound,
            Bound::CgroupV2(PathBuf::from("/sys/fs/cgroup/app.slice"))
        );
    }

    #[test]
    fn v1_limit_found_through_the_memory_hierarchy_in_a_container() {
        let a = available(&fixture("cgroup-v1"), None).unwrap();
        // limit 768 MiB, usage 256 MiB; the mount's root is the container's cgroup.
        assert_eq!(a.bytes, 512 * MIB);
        assert_eq!(
            a.bound,
            Bound::CgroupV1(PathBuf::from("/sys/fs/cgroup/memory"))
        );
    }

    #[test]
    fn v1_huge_limit_means_unlimited_so_the_host_binds() {
        let a = available(&fixture("cgroup-v1-unlimited"), None).unwrap();
        assert_eq!(
            a,
            Available {
                bytes: 8 * 1024 * MIB,
                bound: Bound::Host
            }
        );
    }

    #[test]
    fn no_cgroup_falls_back_to_mem_available() {
        let a = available(&fixture("no-cgroup"), None).unwrap();
        assert_eq!(
            a,
            Available {
                bytes: 8 * 1024 * MIB,
                bound: Bound::Host
            }
        );
    }

    #[test]
    fn configured_limit_binds_when_tightest() {
        let a = available(&fixture("cgroup-v2"), Some((300 * MIB, 100 * MIB))).unwrap();
        assert_eq!(
            a,
            Available {
                bytes: 200 * MIB,
                bound: Bound::Configured
            }
        );
    }

    #[test]
    fn this_machine_reports_something() {
        let a = available(Path::new("/"), None).unwrap();
        assert!(a.bytes > 0);
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape(r"/mnt/with\040space"), "/mnt/with space");
    }
}
