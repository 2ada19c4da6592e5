//! share-check: fetches share links the way each platform's link-preview crawler does
//! (`crawlers.toml`) and reports, per link and crawler, whether the card would show:
//! the page, its share tags, and the image as that crawler fetches it; and, once per
//! link, where the page's `og:url` leads when Facebook follows it. Any site's links can
//! be checked; it is a binary of its own (`cargo install --path crates/share-check`).
//!
//! It only reads: every request is a GET, as a crawler's is, and nothing is rendered,
//! stored or changed anywhere. Every fetch is bounded (bytes read, one deadline for the
//! whole exchange), and every decode by the pixel count the image's header declares, so
//! an unreachable host, a TLS error, an endless or trickling page, an image that does
//! not decode or one whose header declares a huge size is a clear ✗, never a hang, a
//! panic or an abort.

pub mod fetch;
pub mod finding;
pub mod inspect;
pub mod profiles;
pub mod robots;
pub mod rules;
pub mod same_page;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use futures::StreamExt;
use url::Url;

pub use finding::{Finding, Level};
pub use profiles::Profile;
pub use robots::RobotsCache;
pub use same_page::PublicOrigins;

/// The table's column, and the name in [`Report::problems`], of the findings about a
/// link whatever crawler fetches it.
pub const PAGE_COLUMN: &str = "page";

/// What `check` is asked to look at, and how to report it.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Share URLs, or ids (DD-DD-DD) to check as `<SITE>/?social=<id>`. With none (and
    /// no --urls-file or --sitemap), they are read from stdin, one per line.
    pub targets: Vec<String>,
    /// File with one share URL or id per line (`-`: stdin).
    #[arg(long)]
    pub urls_file: Option<PathBuf>,
    /// A sitemap whose every `<loc>` is checked.
    #[arg(long)]
    pub sitemap: Option<String>,
    /// The main site that ids are share links of.
    #[arg(long, env = "CHECK_SITE", default_value = "http://127.0.0.1:3000")]
    pub site: String,
    /// Only these crawler profiles (comma-separated names from crawlers.toml).
    #[arg(long, value_delimiter = ',')]
    pub profiles: Vec<String>,
    /// The site's public URL (its PUBLIC_URL), when the links are checked on another
    /// origin (a local or staging copy): an og:url on it is read on the link's origin and
    /// followed there. Repeatable.
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub public_url: Vec<Url>,
    /// One JSON record per link on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Warnings fail too.
    #[arg(long)]
    pub strict: bool,
    /// Links checked at once (each fetches once per crawler).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

impl CheckArgs {
    /// Checks of `targets` (links, or ids of the default site's share links) by the
    /// crawler `profiles` (all when empty), as a library caller runs them: no default
    /// site to expand bare ids against, table output, 4 links at once.
    pub fn for_targets(targets: Vec<String>, profiles: &[&str]) -> Self {
        Self {
            targets,
            urls_file: None,
            sitemap: None,
            site: "http://127.0.0.1:9".into(),
            profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
            public_url: Vec::new(),
            json: false,
            strict: false,
            concurrency: 4,
        }
    }
}

/// Why `check` could not start.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0:?} is neither an http(s) URL nor an id (DD-DD-DD)")]
    Target(String),
    #[error("no such crawler profile {0:?}; crawlers.toml has {1}")]
    Profile(String, String),
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("the sitemap {0} did not load: {1}")]
    Sitemap(String, String),
    #[error("nothing to check: give share URLs or ids, --urls-file or --sitemap")]
    Nothing,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Report {
    pub profiles: Vec<String>,
    pub links: Vec<String>,
    /// What each crawler found, per link.
    pub findings: Vec<Finding>,
    /// What holds for a link whatever crawler fetches it (where its `og:url` leads), once
    /// per link; `profile` is the crawler whose view of the page they read.
    pub page_findings: Vec<Finding>,
}

impl Report {
    /// Every ⚠ and ✗, as (crawler, rule, level), sorted, each once; a finding of
    /// [`Report::page_findings`] is under [`PAGE_COLUMN`] instead of a crawler.
    pub fn problems(&self) -> Vec<(String, String, Level)> {
        let crawlers = self.findings.iter().map(|f| (f.profile.as_str(), f));
        let page = self.page_findings.iter().map(|f| (PAGE_COLUMN, f));
        let mut problems: Vec<_> = crawlers
            .chain(page)
            .filter(|(_, f)| f.level != Level::Pass)
            .map(|(by, f)| (by.to_owned(), f.rule.to_owned(), f.level))
            .collect();
        problems.sort();
        problems.dedup();
        problems
    }

    /// The worst finding of `link` as seen by `profile`.
    pub fn cell(&self, link: &str, profile: &str) -> Level {
        worst(self.of(link).filter(|f| f.profile == profile))
    }

    /// The worst finding of `link` whatever crawler fetches it.
    pub fn page_cell(&self, link: &str) -> Level {
        worst(self.page_findings.iter().filter(|f| f.url == link))
    }

    /// Whether the run passes: nothing failed (nor warned, when `strict`).
    pub fn passed(&self, strict: bool) -> bool {
        let all = self.findings.iter().chain(&self.page_findings);
        match worst(all) {
            Level::Fail => false,
            Level::Warn => !strict,
            Level::Pass => true,
        }
    }

    /// The people's table: link × (page, then each crawler), then every ⚠ and ✗ of each
    /// link with its reason: a page finding once, a crawler's with the crawler's name.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let width = self.links.iter().map(String::len).max().unwrap_or(4).max(4);
        out.push_str(&format!("{:width$}  {PAGE_COLUMN}", "link"));
        for profile in &self.profiles {
            out.push_str(&format!("  {profile}"));
        }
        out.push('\n');
        for link in &self.links {
            let cell = self.page_cell(link).symbol();
            out.push_str(&format!("{link:width$}  {cell:<w$}", w = PAGE_COLUMN.len()));
            for profile in &self.profiles {
                let cell = self.cell(link, profile).symbol();
                out.push_str(&format!("  {cell:<w$}", w = profile.chars().count()));
            }
            out.push('\n');
        }
        for link in &self.links {
            let page = self.page_findings.iter().filter(|f| f.url == *link);
            for f in page.filter(|f| f.level != Level::Pass) {
                let (level, rule, message) = (f.level.symbol(), f.rule, &f.message);
                out.push_str(&format!("{level} {link} {rule}: {message}\n"));
            }
            for f in self.of(link).filter(|f| f.level != Level::Pass) {
                let (level, rule, message) = (f.level.symbol(), f.rule, &f.message);
                out.push_str(&format!(
                    "{level} {link} [{}] {rule}: {message}\n",
                    f.profile
                ));
            }
        }
        out
    }

    /// One JSON record per link: its worst level, its page findings once, and each
    /// crawler's findings.
    pub fn json_lines(&self) -> String {
        let mut out = String::new();
        for link in &self.links {
            let crawlers: Vec<_> = self
                .profiles
                .iter()
                .map(|profile| CrawlerRecord {
                    profile,
                    level: self.cell(link, profile),
                    findings: outcomes(self.of(link).filter(|f| f.profile == *profile)),
                })
                .collect();
            let page = self.page_findings.iter().filter(|f| f.url == *link);
            let record = LinkRecord {
                url: link,
                level: crawlers
                    .iter()
                    .map(|crawler| crawler.level)
                    .chain([self.page_cell(link)])
                    .max()
                    .unwrap_or(Level::Pass),
                findings: outcomes(page),
                crawlers,
            };
            let line = serde_json::to_string(&record).expect("a record serialises");
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The crawlers' findings of `link`.
    fn of<'a>(&'a self, link: &'a str) -> impl Iterator<Item = &'a Finding> {
        self.findings.iter().filter(move |f| f.url == link)
    }
}

/// A link in `--json`: its page findings once, beside each crawler's.
#[derive(serde::Serialize)]
struct LinkRecord<'a> {
    url: &'a str,
    level: Level,
    findings: Vec<Outcome<'a>>,
    crawlers: Vec<CrawlerRecord<'a>>,
}

#[derive(serde::Serialize)]
struct CrawlerRecord<'a> {
    profile: &'a str,
    level: Level,
    findings: Vec<Outcome<'a>>,
}

/// A finding in `--json`, under the link and crawler it belongs to.
#[derive(serde::Serialize)]
struct Outcome<'a> {
    level: Level,
    rule: &'a str,
    message: &'a str,
}

fn outcomes<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<Outcome<'a>> {
    findings
        .map(|f| Outcome {
            level: f.level,
            rule: f.rule,
            message: &f.message,
        })
        .collect()
}

/// The worst level of `findings`; none is a pass.
fn worst<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Level {
    findings
        .into_iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Pass)
}

/// Runs the checks of `args`, reading stdin when it names no link.
pub async fn run(args: &CheckArgs) -> Result<Report, CheckError> {
    let profiles = chosen_profiles(&args.profiles)?;
    let client = fetch::client();
    let links = links(args, &client).await?;
    let robots = RobotsCache::default();
    let public = PublicOrigins::new(&args.public_url);
    let progress = (links.len() > 3 && std::io::stderr().is_terminal()).then(|| {
        indicatif::ProgressBar::new(links.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} links {msg}")
                .expect("a valid template"),
        )
    });
    let checked: Vec<(Vec<Finding>, Vec<Finding>)> = futures::stream::iter(links.iter())
        .map(|link| {
            let (client, profiles, robots, public, progress) =
                (&client, &profiles, &robots, &public, &progress);
            async move {
                let seen = futures::future::join_all(
                    profiles
                        .iter()
                        .map(|profile| rules::check_link(client, link, profile, robots)),
                )
                .await;
                let mut found = Vec::new();
                let mut compared = Vec::new();
                for (profile, (list, saw)) in profiles.iter().zip(seen) {
                    found.extend(list);
                    compared.push((profile, saw));
                }
                found.extend(rules::compare(link.as_str(), &compared));
                let page = rules::check_share(client, link.as_str(), &compared, public).await;
                if let Some(bar) = progress {
                    bar.inc(1);
                }
                (found, page)
            }
        })
        .buffered(args.concurrency.max(1))
        .collect()
        .await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (findings, page_findings): (Vec<_>, Vec<_>) = checked.into_iter().unzip();
    let mut findings: Vec<Finding> = findings.into_iter().flatten().collect();
    let mut page_findings: Vec<Finding> = page_findings.into_iter().flatten().collect();
    findings.sort_by_key(|f| f.level == Level::Pass);
    page_findings.sort_by_key(|f| f.level == Level::Pass);
    Ok(Report {
        profiles: profiles.into_iter().map(|p| p.name).collect(),
        links: links.into_iter().map(String::from).collect(),
        findings,
        page_findings,
    })
}

/// Prints `report` as `args` asks and returns the process's exit code.
pub fn print(report: &Report, args: &CheckArgs) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let text = if args.json {
        report.json_lines()
    } else {
        report.table()
    };
    let _ = out.write_all(text.as_bytes());
    i32::from(!report.passed(args.strict))
}

/// An http(s) URL, for `--public-url`.
fn http_url(raw: &str) -> Result<Url, String> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(format!("{raw:?} is not an http(s) URL")),
    }
}

fn chosen_profiles(names: &[String]) -> Result<Vec<Profile>, CheckError> {
    let all = profiles::all();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
                    CheckError::Profile(name.clone(), known.join(", "))
                })
        })
        .collect()
}

/// The links to check, in the order given, each once.
async fn links(args: &CheckArgs, client: &reqwest::Client) -> Result<Vec<Url>, CheckError> {
    let mut raw: Vec<String> = args.targets.clone();
    if let Some(path) = &args.urls_file {
        raw.extend(read_lines(path)?);
    }
    if let Some(sitemap) = &args.sitemap {
        raw.extend(sitemap_locs(client, sitemap).await?);
    }
    if args.targets.is_empty() && args.urls_file.is_none() && args.sitemap.is_none() {
        raw.extend(targets_in(std::io::stdin().lock()));
    }
    let mut links: Vec<Url> = Vec::new();
    for target in raw {
        let link = link(target.trim(), &args.site)?;
        if !links.contains(&link) {
            links.push(link);
        }
    }
    if links.is_empty() {
        return Err(CheckError::Nothing);
    }
    Ok(links)
}

fn read_lines(path: &PathBuf) -> Result<Vec<String>, CheckError> {
    if path.as_os_str() == "-" {
        return Ok(targets_in(std::io::stdin().lock()));
    }
    let file =
        std::fs::File::open(path).map_err(|e| CheckError::Read(path.display().to_string(), e))?;
    Ok(targets_in(std::io::BufReader::new(file)))
}

/// One target per line; blank lines and `#` comments are skipped.
fn targets_in(lines: impl BufRead) -> Vec<String> {
    lines
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect()
}

/// A share URL, or an id as a share link of `site`.
fn link(target: &str, site: &str) -> Result<Url, CheckError> {
    if let Ok(id) = shared_ids::SocialId::parse(target) {
        let mut url = Url::parse(site).map_err(|_| CheckError::Target(site.to_owned()))?;
        url.query_pairs_mut()
            .append_pair(same_page::SOCIAL_PARAM, &id.to_string());
        return Ok(url);
    }
    match Url::parse(target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(CheckError::Target(target.to_owned())),
    }
}

/// Every `<loc>` of a sitemap (or sitemap index: its sitemaps are not followed).
async fn sitemap_locs(client: &reqwest::Client, sitemap: &str) -> Result<Vec<String>, CheckError> {
    let url = Url::parse(sitemap).map_err(|_| CheckError::Target(sitemap.to_owned()))?;
    let headers = std::collections::BTreeMap::new();
    let request = fetch::Request {
        user_agent: "ogshot-check",
        headers: &headers,
        max_redirects: 5,
        max_bytes: 50 * 1024 * 1024,
        timeout: std::time::Duration::from_secs(30),
    };
    let fetched = fetch::fetch(client, url, request)
        .await
        .map_err(|e| CheckError::Sitemap(sitemap.to_owned(), e.to_string()))?;
    if fetched.status != 200 {
        return Err(CheckError::Sitemap(
            sitemap.to_owned(),
            format!("status {}", fetched.status),
        ));
    }
    let text = String::from_utf8_lossy(&fetched.body);
    Ok(text
        .split("<loc>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</loc>"))
        .map(|(loc, _)| loc.trim().replace("&amp;", "&"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_share_links_of_the_site_and_anything_else_is_refused() {
        let site = "https://www.example.com";
        assert_eq!(
            link("12-34-10", site).unwrap().as_str(),
            "https://www.example.com/?social=12-34-10"
        );
        assert_eq!(
            link("http://a.example/?social=1", site).unwrap().as_str(),
            "http://a.example/?social=1"
        );
        for bad in [
            "12-34-1",
            "ftp://a.example/",
            "javascript:alert(1)",
            "",
            "a.example",
        ] {
            assert!(
                matches!(link(bad, site), Err(CheckError::Target(_))),
                "{bad}"
            );
        }
    }

    /// The modules in layers, lowest first: each uses only those before it, never this
    /// file's items, so no two files use each other.
    const LAYERS: [(&str, &str); 14] = [
        ("fetch", include_str!("fetch.rs")),
        ("inspect", include_str!("inspect.rs")),
        ("profiles", include_str!("profiles.rs")),
        ("finding", include_str!("finding.rs")),
        ("robots", include_str!("robots.rs")),
        ("same_page", include_str!("same_page.rs")),
        ("rules::testing", include_str!("rules/testing.rs")),
        ("rules::answer", include_str!("rules/answer.rs")),
        ("rules::page", include_str!("rules/page.rs")),
        ("rules::tags", include_str!("rules/tags.rs")),
        ("rules::access", include_str!("rules/access.rs")),
        ("rules::image", include_str!("rules/image.rs")),
        ("rules::og_url", include_str!("rules/og_url.rs")),
        ("rules", include_str!("rules.rs")),
    ];

    #[test]
    fn every_module_uses_only_the_modules_below_it() {
        for (at, (name, source)) in LAYERS.iter().enumerate() {
            let code = source.split("#[cfg(test)]").next().unwrap();
            // A module names what it uses by its crate:: path, so this test can place it.
            assert!(!code.contains("super::"), "{name} uses super::");
            let below: Vec<&str> = LAYERS[..at].iter().map(|(name, _)| *name).collect();
            for (offset, _) in code.match_indices("crate::") {
                let path: String = code[offset + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // The listed module the path is in: `rules::page::x` is in rules::page.
                let used = LAYERS
                    .iter()
                    .map(|(name, _)| *name)
                    .filter(|name| path == *name || path.starts_with(&format!("{name}::")))
                    .max_by_key(|name| name.len())
                    .unwrap_or(&path);
                assert!(
                    below.contains(&used),
                    "{name} uses crate::{path}; it may use only {below:?}"
                );
            }
        }
    }

    /// share-check installs by itself, for any site: no crate of ogshot's apps, of
    /// Chromium, of AWS's SDK or of Leptos is in its tree. Cargo.lock's tree holds its
    /// dev-dependencies too, so this is stricter than `cargo tree -e normal`.
    #[test]
    fn no_app_browser_or_aws_sdk_crate_is_in_the_tree() {
        #[derive(serde::Deserialize)]
        struct Lock {
            package: Vec<Package>,
        }
        #[derive(serde::Deserialize)]
        struct Package {
            name: String,
            #[serde(default)]
            dependencies: Vec<String>,
        }
        let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
        let lock: Lock = toml::from_str(&std::fs::read_to_string(lock).unwrap()).unwrap();
        let mut tree = std::collections::BTreeSet::new();
        let mut next = vec!["share-check".to_owned()];
        while let Some(name) = next.pop() {
            if !tree.insert(name.clone()) {
                continue;
            }
            for package in lock.package.iter().filter(|p| p.name == name) {
                // An entry is "name", or "name version" when several versions are locked.
                let names = package
                    .dependencies
                    .iter()
                    .filter_map(|d| d.split(' ').next());
                next.extend(names.map(str::to_owned));
            }
        }
        assert!(
            tree.contains("reqwest"),
            "the walk missed share-check's dependencies"
        );
        // ogshot's apps and what only they need: Lambda, S3, Chromium, Leptos.
        let unwanted_names = [
            "app-host",
            "main-site",
            "render-site",
            "image-service",
            "e2e",
            "lambda_http",
            "s3s",
        ];
        let unwanted_prefixes = [
            "chromiumoxide",
            "aws-sdk",
            "aws-config",
            "aws-smithy",
            "leptos",
        ];
        let unwanted: Vec<&String> = tree
            .iter()
            .filter(|name| {
                unwanted_names.contains(&name.as_str())
                    || unwanted_prefixes.iter().any(|p| name.starts_with(p))
            })
            .collect();
        assert_eq!(unwanted, Vec::<&String>::new());
    }

    #[test]
    fn no_crawler_is_named_like_the_page_column() {
        assert!(profiles::all().iter().all(|p| p.name != PAGE_COLUMN));
    }

    #[test]
    fn unknown_profiles_are_refused_by_name() {
        let err = chosen_profiles(&["Twitterbot".into(), "Orkut".into()]).unwrap_err();
        assert!(err.to_string().contains("Orkut"), "{err}");
        assert_eq!(chosen_profiles(&[]).unwrap().len(), profiles::all().len());
    }
}
