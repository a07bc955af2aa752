//! Project tasks, in Rust so they run wherever cargo does:
//!
//! - `cargo xtask run [server flags]`: install the wasm tools if missing, build the field
//!   app, and start the server with the demo street on the embedded SQLite default.
//! - `cargo xtask build-app`: only build the field app into `app/dist`.
//! - `cargo xtask test`: every check: formatting, clippy, all tests (it builds the app
//!   and installs Debian's Chromium if missing, for the browser tests), and a fuzz smoke
//!   run.
//! - `cargo xtask bench`: the sync benchmark (figures in docs/benchmarks.md).
//! - `cargo xtask load [options]`: the load tool (`server/benches/load.rs`): phones ×
//!   streets × time against real server processes, in client processes of their own.
//! - `cargo xtask crash [--kills N] [--seed S]`: the crash test (`server/tests/killed.rs`)
//!   with N kills of the server process per backend (1,000 by default; `test` runs 100),
//!   PostgreSQL required; prints the figures recorded in docs/crash-safety.md.
//! - `cargo xtask fuzz [target] [seconds]`: run fuzz targets (`wire`, `changes`,
//!   `exchange`; all by default) for a time each (docs/fuzzing.md); `test` runs each for
//!   30 s.
//!
//! Tools come only from the package registries: the wasm32 target through rustup, and
//! wasm-bindgen-cli through `cargo install` at exactly the version in Cargo.lock; for
//! fuzzing, the nightly toolchain through rustup and cargo-fuzz through `cargo install
//! --locked`.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

mod dist;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The accessibility checker the browser tests run (npm's axe-core).
const AXE_CORE_VERSION: &str = "4.14.1";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {command:?}");
    let status = command
        .status()
        .with_context(|| format!("failed to start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

/// The wasm-bindgen version the lock file pins; the CLI must match it exactly.
fn locked_wasm_bindgen_version() -> anyhow::Result<String> {
    let lock =
        fs::read_to_string(root().join("Cargo.lock")).context("failed to read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next()
        {
            return Ok(version
                .trim_start_matches("version = \"")
                .trim_end_matches('"')
                .to_string());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

fn ensure_tools() -> anyhow::Result<()> {
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32 target")?;
    if !String::from_utf8_lossy(&targets.stdout).contains(WASM_TARGET) {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    let version = locked_wasm_bindgen_version()?;
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    if installed != format!("wasm-bindgen {version}") {
        // Not --locked: its lock wants crates the registry mirror here lacks.
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    }
    Ok(())
}

/// Chromium from Debian's packages, for the browser tests.
fn ensure_chromium() -> anyhow::Result<()> {
    let present = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !present {
        eprintln!("Chromium is missing: installing Debian's package (needs root)");
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get").args(["install", "-y", "chromium"]))?;
    }
    Ok(())
}

/// The fuzz targets (the `fuzz/` crate, a workspace of its own).
const FUZZ_TARGETS: [&str; 3] = ["wire", "changes", "exchange"];
/// Each target's seconds in `cargo xtask test`: the smoke run stays under two minutes.
const FUZZ_SMOKE_SECONDS: u32 = 30;

/// Nightly (libFuzzer's instrumentation needs it) and cargo-fuzz, if missing.
fn ensure_fuzz_tools() -> anyhow::Result<()> {
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !nightly {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !fuzz {
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Runs fuzz target `target` for `seconds`, from the seed corpus its harness writes from
/// real requests (into `target/fuzz-corpus/<target>`, kept between runs). An allocation
/// over the request budget aborts (the harness's allocator), and so does resident memory
/// over 2 GiB: both are crashes, as are panics and hangs (a run over 10 s).
fn fuzz(target: &str, seconds: u32) -> anyhow::Result<()> {
    let corpus = target_dir().join("fuzz-corpus").join(target);
    fs::create_dir_all(&corpus).context("failed to create the fuzz corpus directory")?;
    let fuzz_target_dir = target_dir().join("fuzz");
    let mut command = Command::new("cargo");
    command
        .current_dir(root())
        .env_remove("CARGO_TARGET_DIR")
        .env("VOORDEUR_FUZZ_SEEDS", &corpus)
        .args([
            "+nightly",
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            "--target-dir",
        ])
        .arg(&fuzz_target_dir)
        .arg(target)
        .arg(&corpus)
        .args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-malloc_limit_mb=24",
            "-print_final_stats=1",
        ]);
    run(&mut command)
}

/// The crash test with `--kills N` (default 1,000) kills per backend, one backend after
/// the other, PostgreSQL required; `--seed S` replays the kill moments of a run.
fn crash(args: &[String]) -> anyhow::Result<()> {
    let mut kills = "1000".to_string();
    let mut seed = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--kills" => kills = value?.clone(),
            "--seed" => seed = Some(value?.clone()),
            other => bail!("usage: cargo xtask crash [--kills N] [--seed S], not {other:?}"),
        }
    }
    kills.parse::<usize>().context("--kills must be a number")?;
    let mut command = cargo();
    command
        .env("VOORDEUR_CRASH_KILLS", &kills)
        .env("VOORDEUR_REQUIRE_POSTGRES", "1")
        .args([
            "test",
            "--package",
            "voordeur-server",
            "--test",
            "killed",
            "--",
            "--nocapture",
            "--test-threads=1",
        ]);
    if let Some(seed) = seed {
        seed.parse::<u64>().context("--seed must be a number")?;
        command.env("VOORDEUR_CRASH_SEED", seed);
    }
    run(&mut command)
}

/// npm's binaryen 132 for `wasm-opt`, installed under `target/tools` on first use.
/// Debian's binaryen 108 writes a module that fails in the browser (../shared/TOOLCHAIN.md).
const BINARYEN: &str = "binaryen@132.0.0";

/// `target/tools/node_modules`, where npm's packages for the project's tasks go; `spec`
/// (`name@version`) is installed there unless `installed` says it already is.
fn npm_tools(spec: &str, installed: bool) -> anyhow::Result<PathBuf> {
    let prefix = target_dir().join("tools");
    if !installed {
        fs::create_dir_all(&prefix).context("failed to create target/tools")?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(spec))?;
    }
    Ok(prefix.join("node_modules"))
}

fn wasm_opt() -> anyhow::Result<PathBuf> {
    let bin = target_dir().join("tools/node_modules/.bin/wasm-opt");
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).to_string())
        .unwrap_or_default();
    npm_tools(BINARYEN, version.contains("version 132"))?;
    Ok(bin)
}

/// npm's axe-core, which the browser tests run on every screen they reach; returns its
/// `axe.min.js`.
fn axe_core() -> anyhow::Result<PathBuf> {
    let package = target_dir().join("tools/node_modules/axe-core/package.json");
    let installed = fs::read_to_string(package).unwrap_or_default();
    let current = installed.contains(&format!("\"version\": \"{AXE_CORE_VERSION}\""));
    let tools = npm_tools(&format!("axe-core@{AXE_CORE_VERSION}"), current)?;
    Ok(tools.join("axe-core/axe.min.js"))
}

fn target_dir() -> PathBuf {
    env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
}

/// Builds the field app into `app/dist`: the wasm (size-optimised), its JS glue, and the
/// static files (page, styles, manifest, icons, service worker), the app's files named by
/// their hashes and compressed (`dist.rs`).
fn build_app() -> anyhow::Result<()> {
    ensure_tools()?;
    let profile = "wasm-release";
    run(cargo().args([
        "build",
        "--package",
        "voordeur-app",
        "--target",
        WASM_TARGET,
        "--profile",
        profile,
    ]))?;
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join(profile)
        .join("voordeur-app.wasm");
    let dist = root().join("app").join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).context("failed to clear app/dist")?;
    }
    fs::create_dir_all(&dist).context("failed to create app/dist")?;
    run(Command::new("wasm-bindgen")
        .arg("--target")
        .arg("web")
        .arg("--no-typescript")
        .arg("--out-dir")
        .arg(&dist)
        .arg(&wasm))?;
    let bg = dist.join("voordeur-app_bg.wasm");
    run(Command::new(wasm_opt()?)
        .arg("-Oz")
        // The features rustc's wasm32 target emits by default.
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;

    let static_dir = root().join("app").join("static");
    for entry in fs::read_dir(&static_dir).context("failed to read app/static")? {
        let path = entry?.path();
        let name = path.file_name().context("a file name")?;
        fs::copy(&path, dist.join(name)).with_context(|| format!("failed to copy {path:?}"))?;
    }
    let version = dist::seal(&dist)?;
    eprintln!("field app {version} built into {}", dist.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = args
        .split_first()
        .map(|(t, r)| (t.as_str(), r))
        .unwrap_or(("", &[]));
    // `cargo xtask run -- --listen …` and `cargo xtask run --listen …` both work.
    let rest = rest.strip_prefix(&["--".to_string()]).unwrap_or(rest);
    match task {
        "build-app" => build_app(),
        "run" => {
            build_app()?;
            run(cargo()
                .args(["run", "--package", "voordeur-server", "--", "--demo"])
                .args(rest))
        }
        "test" => {
            run(cargo().args(["fmt", "--all", "--check"]))?;
            // The browser tests need the built app and Chromium. (Building the app is also
            // the check that `shared` compiles for the browser.)
            build_app()?;
            ensure_chromium()?;
            run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            run(cargo()
                .args(["test", "--workspace"])
                .env("VOORDEUR_AXE", axe_core()?))?;
            // A short fuzz of each target (docs/fuzzing.md has the long runs).
            ensure_fuzz_tools()?;
            for target in FUZZ_TARGETS {
                fuzz(target, FUZZ_SMOKE_SECONDS)?;
            }
            Ok(())
        }
        "fuzz" => {
            ensure_fuzz_tools()?;
            let targets: Vec<&str> = match rest.first().map(String::as_str) {
                Some(target) if FUZZ_TARGETS.contains(&target) => vec![target],
                Some(other) => bail!("no fuzz target {other:?}: {FUZZ_TARGETS:?}"),
                None => FUZZ_TARGETS.to_vec(),
            };
            let seconds = match rest.get(1) {
                Some(seconds) => seconds.parse().context("seconds must be a number")?,
                None => FUZZ_SMOKE_SECONDS,
            };
            for target in targets {
                fuzz(target, seconds)?;
            }
            Ok(())
        }
        "bench" => run(cargo().args(["bench", "--package", "voordeur-server", "--bench", "sync"])),
        "load" => run(cargo()
            .args([
                "bench",
                "--package",
                "voordeur-server",
                "--bench",
                "load",
                "--",
            ])
            .args(rest)),
        "crash" => crash(rest),
        _ => bail!(
            "usage: cargo xtask <run [server flags] | build-app | test | bench | load [options] | fuzz [target] [seconds] | crash [--kills N] [--seed S]>"
        ),
    }
}
