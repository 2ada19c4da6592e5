//! The rules, each a test; the crate doc says which.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tidy lives in crates/tidy")
        .to_owned()
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()))
}

/// The workspace's crates, as their directories from the root (`crates/share-tags`):
/// the root Cargo.toml's members.
fn crates() -> Vec<String> {
    let workspace = read_toml(&root().join("Cargo.toml"));
    let mut crates: Vec<String> = workspace["workspace"]["members"]
        .as_array()
        .expect("workspace.members is a list")
        .iter()
        .map(|member| member.as_str().expect("a member is a path").to_owned())
        .collect();
    crates.sort();
    crates
}

/// Every `.rs` file under `dir`, as a path from the repository root.
fn rust_files(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root()).expect("under the root");
            out.push(relative.to_string_lossy().into_owned());
        }
    }
}

/// The modules of every crate: its `.rs` files, tests and benches included.
fn modules() -> Vec<String> {
    let mut files = Vec::new();
    for krate in crates() {
        rust_files(&root().join(&krate), &mut files);
    }
    files.sort();
    files
}

/// What the codemap names: every `` `…` `` span that is a crate (`name/`) or a file
/// path (`…/….rs`).
fn named(codemap: &str) -> BTreeSet<String> {
    codemap
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| {
            !span.contains(' ')
                && (span.ends_with(".rs") && span.contains('/')
                    || span.ends_with('/') && !span.contains("//"))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_codemap_names_every_crate_and_module_and_nothing_that_is_gone() {
    let codemap = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository root");
    let named = named(&codemap);
    let unnamed: Vec<String> = crates()
        .into_iter()
        .map(|krate| format!("{krate}/"))
        .chain(modules())
        .filter(|name| !named.contains(name))
        .collect();
    assert!(
        unnamed.is_empty(),
        "ARCHITECTURE.md's codemap does not name these (add each, with what it owns and \
         what it must not do): {unnamed:#?}"
    );
    let gone: Vec<&String> = named
        .iter()
        .filter(|name| !root().join(name.trim_end_matches('/')).exists())
        .collect();
    assert!(
        gone.is_empty(),
        "ARCHITECTURE.md's codemap names what no longer exists: {gone:#?}"
    );
}

#[test]
fn every_module_opens_with_a_doc() {
    let undocumented: Vec<String> = modules()
        .into_iter()
        .filter(|file| {
            let source = std::fs::read_to_string(root().join(file)).unwrap_or_default();
            !source.trim_start().starts_with("//!")
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "modules without a `//!` doc (what it is for and what it never does): \
         {undocumented:#?}"
    );
}

/// A file's module path inside its crate's `src/` (`lib.rs` and `main.rs` are the
/// root, `mod.rs` its directory's module); `None` outside `src/`.
fn module_path(krate: &str, file: &str) -> Option<Vec<String>> {
    let inner = file.strip_prefix(&format!("{krate}/src/"))?;
    let mut parts: Vec<String> = inner
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    Some(parts)
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.to_owned()];
    };
    let (prefix, body) = (&path[..open], &path[open + 1..path.len() - 1]);
    let mut items = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for ch in body.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    items.push(current);
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .flat_map(|item| expand(&format!("{prefix}{item}")))
        .collect()
}

/// The `crate::…`, `super::…` and child-module paths `source` uses, leaving out `mod`
/// declarations, `pub use` re-exports (wiring, not use), comments and its unit tests.
fn used_paths(source: &str, children: &[String]) -> Vec<String> {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    for statement in code.split(';') {
        let statement = statement.trim();
        if statement.starts_with("pub use") || statement.starts_with("pub(crate) use") {
            continue;
        }
        if let Some(used) = statement.strip_prefix("use ") {
            let used: String = used.chars().filter(|c| !c.is_whitespace()).collect();
            paths.extend(expand(&used));
            continue;
        }
        let words: Vec<&str> = statement
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .collect();
        for word in words {
            let first = word.split("::").next().unwrap_or_default();
            if word.contains("::")
                && (first == "crate" || first == "super" || children.iter().any(|c| c == first))
            {
                paths.push(word.to_owned());
            }
        }
    }
    paths
}

/// The file of module `parts` of the crate whose sources are in `src`.
fn module_file(src: &Path, parts: &[String]) -> Option<PathBuf> {
    if parts.is_empty() {
        return ["lib.rs", "main.rs"]
            .into_iter()
            .map(|root| src.join(root))
            .find(|file| file.is_file());
    }
    let base = parts
        .iter()
        .fold(src.to_owned(), |dir, part| dir.join(part));
    [base.with_extension("rs"), base.join("mod.rs")]
        .into_iter()
        .find(|file| file.is_file())
}

#[test]
fn no_two_files_of_a_crate_use_each_other() {
    let mut uses: HashMap<String, BTreeSet<String>> = HashMap::new();
    for krate in crates() {
        let src = root().join(&krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in &files {
            let Some(module) = module_path(&krate, file) else {
                continue;
            };
            // The crate root is its facade: it wires every module and is left out.
            if module.is_empty() {
                continue;
            }
            let own_dir = if file.ends_with("/mod.rs") {
                root().join(file).parent().map(Path::to_owned)
            } else {
                Some(root().join(file.trim_end_matches(".rs")))
            };
            let children: Vec<String> = own_dir
                .and_then(|dir| std::fs::read_dir(dir).ok())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
                .filter(|name| name != "mod")
                .collect();
            let source = std::fs::read_to_string(root().join(file)).expect("read a module");
            for path in used_paths(&source, &children) {
                let mut parts: Vec<&str> = path.split("::").collect();
                let mut base = match parts[0] {
                    "crate" => Vec::new(),
                    "super" => module.clone(),
                    // A child module's path.
                    _ => {
                        parts.insert(0, "self");
                        module.clone()
                    }
                };
                while parts.first() == Some(&"super") {
                    parts.remove(0);
                    base.pop();
                }
                if matches!(parts.first(), Some(&"crate" | &"self")) {
                    parts.remove(0);
                }
                // The longest prefix that is a module file: the file the item lives in.
                let target = (0..=parts.len()).rev().find_map(|n| {
                    let mut at = base.clone();
                    at.extend(parts[..n].iter().map(|part| (*part).to_owned()));
                    module_file(&src, &at)
                });
                let Some(target) = target else {
                    continue;
                };
                let target = target
                    .strip_prefix(root())
                    .expect("under the root")
                    .to_string_lossy()
                    .into_owned();
                if target != *file && module_path(&krate, &target).is_some_and(|m| !m.is_empty()) {
                    uses.entry(file.clone()).or_default().insert(target);
                }
            }
        }
    }
    let mut circles: Vec<(String, String)> = uses
        .iter()
        .flat_map(|(a, targets)| {
            targets
                .iter()
                .filter(|b| uses.get(*b).is_some_and(|back| back.contains(a)) && a < *b)
                .map(|b| (a.clone(), b.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    circles.sort();
    assert!(
        circles.is_empty(),
        "files that use each other (make the lower one a leaf): {circles:#?}"
    );
}

/// ARCHITECTURE.md's crate order: the bullets after the line that opens with "Crates,
/// bottom to top", one level each, bottom first; a bullet names its crates
/// (`` `dir/` ``) before its first colon. Also the crates whose bullet says only test
/// code depends on them, which any crate's dev-dependencies may name.
fn crate_order(architecture: &str) -> (HashMap<String, usize>, BTreeSet<String>) {
    let mut bullets: Vec<String> = Vec::new();
    let list = architecture
        .lines()
        .skip_while(|line| !line.starts_with("Crates, bottom to top"))
        .skip_while(|line| !line.starts_with("- "));
    for line in list {
        if let Some(bullet) = line.strip_prefix("- ") {
            bullets.push(bullet.to_owned());
        } else if line.starts_with("  ") && !bullets.is_empty() {
            bullets.last_mut().expect("a bullet").push_str(line);
        } else {
            break;
        }
    }
    let mut levels = HashMap::new();
    let mut test_only = BTreeSet::new();
    for (level, bullet) in bullets.iter().enumerate() {
        let head = bullet.split(": ").next().unwrap_or_default();
        for span in head.split('`').skip(1).step_by(2) {
            if let Some(dir) = span.strip_suffix('/') {
                levels.insert(dir.to_owned(), level);
                if bullet.contains("only test code depends on it") {
                    test_only.insert(dir.to_owned());
                }
            }
        }
    }
    (levels, test_only)
}

#[test]
fn no_dependency_runs_up_the_crate_order() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository root");
    let (levels, test_only) = crate_order(&architecture);
    assert!(
        levels.len() >= 2,
        "ARCHITECTURE.md has no crate order (a line opening with \"Crates, bottom to top\", \
         then one bullet per level)"
    );
    let dir_of: HashMap<String, String> = crates()
        .into_iter()
        .map(|krate| {
            let manifest = read_toml(&root().join(&krate).join("Cargo.toml"));
            let name = manifest["package"]["name"]
                .as_str()
                .expect("a package name")
                .to_owned();
            (name, krate)
        })
        .collect();
    let mut wrong = Vec::new();
    for krate in crates() {
        let Some(&level) = levels.get(&krate) else {
            wrong.push(format!("{krate}/ is not in ARCHITECTURE.md's crate order"));
            continue;
        };
        let manifest = read_toml(&root().join(&krate).join("Cargo.toml"));
        for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
            let Some(dependencies) = manifest.get(section).and_then(toml::Value::as_table) else {
                continue;
            };
            for name in dependencies.keys() {
                let Some(dependency) = dir_of.get(name) else {
                    continue;
                };
                if section == "dev-dependencies" && test_only.contains(dependency) {
                    continue;
                }
                let Some(&below) = levels.get(dependency) else {
                    continue;
                };
                if below >= level {
                    let place = if below == level { "beside" } else { "above" };
                    wrong.push(format!(
                        "{krate}/ depends on {dependency}/ ([{section}]), which \
                         ARCHITECTURE.md lists {place} it"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies that run up ARCHITECTURE.md's crate order (each crate uses only \
         those below it): {wrong:#?}"
    );
}
