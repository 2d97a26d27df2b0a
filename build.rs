//! Builds the napi addon and, beside it, one V8 shim per Node ABI.
//!
//! The addon itself is pure N-API; only `src/engine/v8_shim.cc` touches the
//! V8 C++ API, whose ABI changes with every Node major. It is compiled once
//! per include directory into `leakguard-v8-abi<NODE_MODULE_VERSION>.so`,
//! which the addon loads at runtime by `process.versions.modules`.
//!
//! Include directories, in order:
//! 1. `LEAKGUARD_NODE_INCLUDE_DIRS`: a path list (`:`-separated); one shim per
//!    entry. Release builds use it to cover every supported Node major.
//! 2. `$npm_config_nodedir/include/node` (also `NODEDIR`), node-gyp's convention.
//! 3. `<prefix of the node on PATH>/include/node`.
//! 4. node-gyp's header cache for that node's version.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SHIM_SOURCE: &str = "src/engine/v8_shim.cc";

fn main() {
    napi_build::setup();
    println!("cargo:rerun-if-changed={SHIM_SOURCE}");
    println!("cargo:rerun-if-env-changed=LEAKGUARD_NODE_INCLUDE_DIRS");

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target>/<profile>/build/<pkg>/out: put the shims next to the cdylib.
    let profile_dir = out_dir.ancestors().nth(3).unwrap().to_path_buf();
    let mut abis: Vec<u32> = Vec::new();
    for include in include_dirs() {
        let version = read_node_version(&include);
        if abis.contains(&version.abi) {
            println!(
                "cargo:warning=skipping {}: ABI {} already built",
                include.display(),
                version.abi
            );
            continue;
        }
        let name = format!("leakguard-v8-abi{}.so", version.abi);
        compile_shim(&include, &version, &out_dir.join(&name));
        fs::copy(out_dir.join(&name), profile_dir.join(&name)).unwrap();
        abis.push(version.abi);
    }
    let list: Vec<String> = abis.iter().map(u32::to_string).collect();
    println!("cargo:rustc-env=LEAKGUARD_SHIM_ABIS={}", list.join(","));
}

fn include_dirs() -> Vec<PathBuf> {
    if let Ok(list) = env::var("LEAKGUARD_NODE_INCLUDE_DIRS") {
        let dirs: Vec<PathBuf> = env::split_paths(&list).collect();
        for dir in &dirs {
            if !dir.join("node_version.h").is_file() {
                fail(&format!(
                    "LEAKGUARD_NODE_INCLUDE_DIRS names {}, which has no node_version.h",
                    dir.display()
                ));
            }
        }
        return dirs;
    }
    // Only discovery depends on these (PATH: it asks the `node` found there).
    for var in [
        "npm_config_nodedir",
        "NODEDIR",
        "npm_config_devdir",
        "XDG_CACHE_HOME",
        "PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let mut tried = Vec::new();
    for candidate in discovered_candidates() {
        if candidate.join("node_version.h").is_file() && candidate.join("v8-profiler.h").is_file() {
            return vec![candidate];
        }
        tried.push(candidate.display().to_string());
    }
    fail(&format!(
        "no Node.js headers found (looked in: {}). Set LEAKGUARD_NODE_INCLUDE_DIRS to a \
         directory holding node_version.h and v8.h (e.g. <node prefix>/include/node), or run \
         `npx node-gyp install` to fill node-gyp's header cache.",
        if tried.is_empty() {
            "nowhere: npm_config_nodedir is unset and there is no `node` on PATH".to_string()
        } else {
            tried.join(", ")
        }
    ))
}

fn discovered_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for var in ["npm_config_nodedir", "NODEDIR"] {
        if let Ok(dir) = env::var(var) {
            out.push(PathBuf::from(dir).join("include/node"));
        }
    }
    let node = |script: &str| -> Option<String> {
        let o = Command::new("node").args(["-p", script]).output().ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(exec) = node("process.execPath") {
        if let Ok(exec) = fs::canonicalize(exec) {
            if let Some(prefix) = exec.parent().and_then(Path::parent) {
                out.push(prefix.join("include/node"));
            }
        }
    }
    if let Some(version) = node("process.versions.node") {
        let mut caches = Vec::new();
        if let Ok(d) = env::var("npm_config_devdir") {
            caches.push(PathBuf::from(d));
        }
        if let Ok(d) = env::var("XDG_CACHE_HOME") {
            caches.push(PathBuf::from(d).join("node-gyp"));
        }
        if let Ok(home) = env::var("HOME") {
            caches.push(PathBuf::from(&home).join(".cache/node-gyp"));
            caches.push(PathBuf::from(&home).join("Library/Caches/node-gyp"));
        }
        for cache in caches {
            out.push(cache.join(&version).join("include/node"));
        }
    }
    out
}

struct NodeVersion {
    major: u32,
    abi: u32,
}

fn read_node_version(include: &Path) -> NodeVersion {
    let header = include.join("node_version.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = fs::read_to_string(&header)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", header.display())));
    // `#define NAME <digits>`; the NODE_MODULE_VERSION line with a macro value is the embedder's.
    let define = |name: &str| -> Option<u32> {
        text.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("#define") && words.next() == Some(name))
                .then(|| words.next()?.parse().ok())
                .flatten()
        })
    };
    match (define("NODE_MAJOR_VERSION"), define("NODE_MODULE_VERSION")) {
        (Some(major), Some(abi)) => NodeVersion { major, abi },
        _ => fail(&format!(
            "{} lacks NODE_MAJOR_VERSION or NODE_MODULE_VERSION",
            header.display()
        )),
    }
}

/// V8 defines that change object layouts, as node-gyp derives them from config.gypi.
fn v8_defines(include: &Path) -> Vec<&'static str> {
    let gypi = fs::read_to_string(include.join("config.gypi")).unwrap_or_default();
    let on = |key: &str| {
        gypi.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.starts_with(&format!("\"{key}\":1")) || l.starts_with(&format!("'{key}':1"))
        })
    };
    let mut defines = Vec::new();
    if on("v8_enable_pointer_compression") {
        defines.push("V8_COMPRESS_POINTERS");
    }
    if on("v8_enable_pointer_compression_shared_cage") {
        defines.push("V8_COMPRESS_POINTERS_IN_SHARED_CAGE");
    }
    if on("v8_enable_31bit_smis_on_64bit_arch") {
        defines.push("V8_31BIT_SMIS_ON_64BIT_ARCH");
    }
    if on("v8_enable_sandbox") {
        defines.push("V8_ENABLE_SANDBOX");
    }
    defines
}

fn compile_shim(include: &Path, version: &NodeVersion, output: &Path) {
    let mut cmd = shim_compiler();
    // node-gyp's flags: no RTTI/exceptions; C++20 headers from Node 22 on.
    let std = if version.major >= 22 {
        "-std=gnu++20"
    } else {
        "-std=gnu++17"
    };
    cmd.args([std, "-O2", "-fPIC", "-fno-rtti", "-fno-exceptions"])
        .args(["-fvisibility=hidden", "-Wno-unused-parameter"]);
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        // V8's symbols come from the node executable that loads the shim. The
        // file keeps its `.so` name (as Python's extension modules do on macOS):
        // dlopen does not care, and the addon looks for one name everywhere.
        cmd.args(["-dynamiclib", "-undefined", "dynamic_lookup"]);
    } else {
        // Resolve every symbol at load time: a mismatch fails dlopen, not a later call.
        // No libraries of its own (-nostdlib): strcmp and operator delete, like
        // V8, come from the node process, so one shim serves glibc and musl and
        // needs no glibc version. Stripped (-s), as the addon is.
        cmd.args(["-shared", "-Wl,-z,now", "-nostdlib", "-s"]);
    }
    cmd.arg("-I").arg(include);
    for define in v8_defines(include) {
        cmd.arg(format!("-D{define}"));
    }
    cmd.arg(SHIM_SOURCE).arg("-o").arg(output);
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run the C++ compiler: {e}")));
    if !status.success() {
        fail(&format!(
            "compiling the V8 shim against {} (Node {}, ABI {}) failed",
            include.display(),
            version.major,
            version.abi
        ));
    }
}

/// The C++ compiler for the shims: `LEAKGUARD_SHIM_CXX_<TARGET>` (as cc's `CXX_<target>`,
/// so one cargo invocation can build several targets), else cc's for the target.
/// Release builds name a g++ for each CPU: a cross build's default (cargo-zigbuild's
/// `zig c++`) uses libc++, whose `std::vector` in `QueryObjects`' signature mangles as
/// `std::__1::vector`, a symbol a Node built against libstdc++ does not have.
fn shim_compiler() -> Command {
    let target = env::var("TARGET").unwrap_or_default();
    let var = format!(
        "LEAKGUARD_SHIM_CXX_{}",
        target.to_uppercase().replace('-', "_")
    );
    println!("cargo:rerun-if-env-changed={var}");
    match env::var_os(&var) {
        Some(cxx) => Command::new(cxx),
        None => cc::Build::new()
            .cpp(true)
            .cargo_metadata(false)
            .get_compiler()
            .to_command(),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("leakguard build: {message}");
    panic!("leakguard build: {message}");
}
