//! What every scenario needs: a started service on a real port over real storage, a
//! render site that can be told to fail or hang, a raw HTTP/1.1 client, and card checks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use render_site::{RenderSiteConfig, RenderToken};
use shared_ids::BaseUrl;
use test_kit::Served;
pub(super) use test_kit::raw_http::{Reply, request, send_raw};
use test_kit::s3::TestS3;
use tokio::sync::watch;

use crate::cache_policy::CACHE_STATUS_HEADER;
use crate::storage::{LocalDirStorage, S3Storage, Storage};
use crate::telemetry::{Counts, Metrics};
use crate::{Config, DEFAULT_IMAGE, ImageService, browser};

/// A render long enough to outlast any honest render on a loaded 2-core machine, so
/// that only the scenarios that want a timeout get one.
const PATIENT_RENDER: Duration = Duration::from_secs(30);

/// Where the service keeps its cards in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    /// A local directory in a temporary directory.
    Local,
    /// The in-process S3 server (s3s-fs behind SigV4), through the real AWS SDK.
    S3,
}

/// The storage behind a running service, seen from outside the service.
#[derive(Debug)]
pub(super) enum Store {
    Local(PathBuf),
    S3(TestS3),
}

impl Store {
    async fn open(backend: Backend, dir: &Path) -> (Self, Arc<dyn Storage>) {
        match backend {
            Backend::Local => {
                let root = dir.join("images");
                let storage = LocalDirStorage::new(&root).expect("open the storage directory");
                (Self::Local(root), Arc::new(storage))
            }
            Backend::S3 => {
                let server = test_kit::s3::start(dir.join("s3")).await;
                let storage = bucket_storage(&server);
                (Self::S3(server), Arc::new(storage))
            }
        }
    }

    /// Every stored object's key, sorted; for a directory, every file including
    /// temporary ones, so a half-finished or stray write counts too.
    pub(super) async fn keys(&self) -> Vec<String> {
        let mut keys = match self {
            Self::Local(root) => {
                let mut keys = Vec::new();
                collect_files(root, root, &mut keys);
                keys
            }
            // The write probe's sentinel lives beside the cards, under no card's key.
            Self::S3(server) => server
                .keys()
                .await
                .into_iter()
                .filter(|key| key != crate::storage::WRITE_PROBE_OBJECT)
                .collect(),
        };
        keys.sort();
        keys
    }

    /// The stored bytes of `key`, checking the metadata a CDN serves them with.
    pub(super) async fn stored_card(&self, key: &str) -> Vec<u8> {
        match self {
            Self::Local(root) => std::fs::read(root.join(key))
                .unwrap_or_else(|e| panic!("{key} is not stored in the directory: {e}")),
            Self::S3(server) => {
                let object = server
                    .client()
                    .get_object()
                    .bucket(&server.bucket)
                    .key(key)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{key} is not in the bucket: {e:?}"));
                assert_eq!(object.content_type(), Some("image/jpeg"), "{key}");
                assert_eq!(
                    object.cache_control(),
                    Some("public, max-age=31536000, immutable"),
                    "{key}"
                );
                object
                    .body
                    .collect()
                    .await
                    .expect("read the stored object")
                    .to_vec()
            }
        }
    }
}

/// The S3 backend on the test server's bucket, without a key prefix.
fn bucket_storage(server: &TestS3) -> S3Storage {
    S3Storage::with_config(server.config(), &server.bucket, None)
        .expect("the test bucket name is valid")
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("read the storage directory").path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            let relative = path.strip_prefix(root).expect("below the root");
            out.push(relative.to_string_lossy().into_owned());
        }
    }
}

/// How the test render site answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SiteMode {
    /// The real render site answers.
    Normal,
    /// Every request gets a 500.
    Failing,
    /// Every request waits, with nothing sent, until the mode changes.
    Hanging,
    /// Every request waits, with nothing sent, for ever: a hung backend whose
    /// connections stay open after the site is back.
    Stalled,
    /// Card pages claim another design than the current one (a deploy behind).
    OtherDesign,
    /// Every card page request is answered with another id's card (a wrong route).
    OtherId,
}

/// The real render-site router on 127.0.0.1, behind a switch that makes it fail or hang.
#[derive(Debug)]
pub(super) struct RenderSite {
    base: BaseUrl,
    token: RenderToken,
    switch: Switch,
    /// Serving while the site lives.
    _served: Served,
}

#[derive(Debug, Clone)]
struct Switch {
    mode: Arc<watch::Sender<SiteMode>>,
    /// Requests that are waiting in [`SiteMode::Hanging`] right now.
    hanging: Arc<watch::Sender<usize>>,
}

impl RenderSite {
    pub(super) async fn start() -> Self {
        let token = RenderToken::generate();
        let switch = Switch {
            mode: Arc::new(watch::channel(SiteMode::Normal).0),
            hanging: Arc::new(watch::channel(0).0),
        };
        let site = render_site::router(RenderSiteConfig::in_process(token.clone())).layer(
            axum::middleware::from_fn_with_state(switch.clone(), switched),
        );
        let served = test_kit::serve(site).await;
        Self {
            base: BaseUrl::parse(&served.base()).expect("a loopback base URL"),
            token,
            switch,
            _served: served,
        }
    }

    /// The token the site admits.
    pub(super) fn token(&self) -> &RenderToken {
        &self.token
    }

    pub(super) fn set(&self, mode: SiteMode) {
        self.switch.mode.send_replace(mode);
    }

    /// Waits until at least `n` requests are hanging.
    pub(super) async fn hanging(&self, n: usize) {
        self.switch
            .hanging
            .subscribe()
            .wait_for(|&hanging| hanging >= n)
            .await
            .expect("the switch lives as long as the site");
    }
}

async fn switched(State(switch): State<Switch>, mut request: Request, next: Next) -> Response {
    let mut mode = switch.mode.subscribe();
    let mut hanging = None;
    loop {
        // Copied out: the borrow must not be held across an await.
        let now = *mode.borrow_and_update();
        match now {
            SiteMode::Normal => {
                drop(hanging.take());
                return next.run(request).await;
            }
            SiteMode::Failing => {
                return (StatusCode::INTERNAL_SERVER_ERROR, "render site down").into_response();
            }
            SiteMode::OtherDesign => {
                let page = next.run(request).await;
                let (parts, body) = page.into_parts();
                let html = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .expect("the render site's page reads");
                let [other, ..] = shared_ids::design::never_issued();
                let html = String::from_utf8_lossy(&html).replace(
                    &format!("data-design=\"{}\"", shared_ids::CURRENT_DESIGN),
                    &format!("data-design=\"{other}\""),
                );
                let mut page = Response::from_parts(parts, axum::body::Body::from(html));
                page.headers_mut()
                    .remove(axum::http::header::CONTENT_LENGTH);
                return page;
            }
            SiteMode::OtherId => {
                if let Some(id) = request.uri().path().strip_prefix("/card/") {
                    let other = if id == OTHER_ID { "00-00-02" } else { OTHER_ID };
                    *request.uri_mut() = format!("/card/{other}").parse().expect("a path");
                }
                return next.run(request).await;
            }
            SiteMode::Hanging | SiteMode::Stalled => {}
        }
        hanging.get_or_insert_with(|| Hanging::count(&switch.hanging));
        if now == SiteMode::Stalled || mode.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The card [`SiteMode::OtherId`] answers with.
const OTHER_ID: &str = "00-00-01";

/// Counts one hanging request for as long as it lives, even when its client hangs up.
struct Hanging(Arc<watch::Sender<usize>>);

impl Hanging {
    fn count(counter: &Arc<watch::Sender<usize>>) -> Self {
        counter.send_modify(|n| *n += 1);
        Self(Arc::clone(counter))
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// What a scenario changes in the service's configuration. It reaches the service as
/// flags, through the same validation as in production, so no scenario runs limits
/// that the service would refuse to start with.
#[derive(Debug, Default)]
pub(super) struct Setup {
    /// Render through this test render site instead of the in-process one.
    pub(super) site: Option<RenderSite>,
    /// Run the production limits (budget, queue, render timeout, concurrency) unless
    /// overridden below. Otherwise renders and the budget are patient, so that only
    /// the scenarios that want a timeout get one.
    pub(super) production: bool,
    pub(super) render_timeout: Option<Duration>,
    pub(super) budget: Option<Duration>,
    pub(super) concurrency: Option<usize>,
    pub(super) queue: Option<usize>,
    pub(super) queue_timeout: Option<Duration>,
    /// `CHROMIUM_PATH`: another browser than the default.
    pub(super) chromium_path: Option<PathBuf>,
}

impl Setup {
    /// The production configuration: every limit at its default.
    pub(super) fn production() -> Self {
        Self {
            production: true,
            ..Self::default()
        }
    }

    /// The service's configuration, from flags, validated.
    fn config(&self) -> Config {
        let ms = |duration: Duration| duration.as_millis().to_string();
        let (render_timeout, budget, queue_timeout) = if self.production {
            (self.render_timeout, self.budget, self.queue_timeout)
        } else {
            let budget = self.budget.unwrap_or(PATIENT_RENDER * 2);
            (
                Some(self.render_timeout.unwrap_or(PATIENT_RENDER)),
                Some(budget),
                Some(self.queue_timeout.unwrap_or(PATIENT_RENDER.min(budget / 2))),
            )
        };
        let mut flags = Vec::new();
        let mut flag = |name: &str, value: String| flags.extend([format!("--{name}"), value]);
        if let Some(timeout) = render_timeout {
            flag("render-timeout-ms", ms(timeout));
        }
        if let Some(budget) = budget {
            flag("response-budget-ms", ms(budget));
        }
        if let Some(timeout) = queue_timeout {
            flag("render-queue-timeout-ms", ms(timeout));
        }
        if let Some(concurrency) = self.concurrency {
            flag("render-concurrency", concurrency.to_string());
        }
        if let Some(queue) = self.queue {
            flag("render-queue", queue.to_string());
        }
        if let Some(path) = &self.chromium_path {
            flag("chromium-path", path.display().to_string());
        }
        if let Some(site) = &self.site {
            flag("render-url", site.base.to_string());
            flag("render-token", site.token.expose().to_owned());
        }
        Config::from_flags(&flags)
            .unwrap_or_else(|e| panic!("the service refuses this setup ({flags:?}): {e}"))
    }
}

/// A started image service, served over HTTP on 127.0.0.1, with its storage.
#[derive(Debug)]
pub(super) struct Harness {
    /// First, so that serving stops before the rest goes.
    server: Served,
    pub(super) addr: SocketAddr,
    pub(super) store: Store,
    pub(super) site: Option<RenderSite>,
    service: Option<ImageService>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The default service (in-process render site) on `backend`.
    pub(super) async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Setup::default()).await
    }

    pub(super) async fn start_with(backend: Backend, setup: Setup) -> Self {
        test_kit::init_logs();
        let config = setup.config();
        let chromium = config.chromium_path.as_deref();
        test_kit::require_chromium(
            chromium.unwrap_or(Path::new(browser::HEADLESS_SHELL)),
            browser::INSTALL_HINT,
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, storage) = Store::open(backend, dir.path()).await;
        let service =
            ImageService::start_with_storage(config, storage, Arc::new(Metrics::new(false)))
                .await
                .unwrap_or_else(|e| panic!("the image service did not start: {e}"));
        let server = test_kit::serve(service.router()).await;
        Self {
            addr: server.addr,
            server,
            store,
            site: setup.site,
            service: Some(service),
            _dir: dir,
        }
    }

    pub(super) fn service(&self) -> &ImageService {
        self.service.as_ref().expect("running until stopped")
    }

    /// The stored keys once every render so far has been stored: a card is answered
    /// as soon as it is validated and written right after.
    pub(super) async fn stored_keys(&self) -> Vec<String> {
        self.service().cards().settled().await;
        self.store.keys().await
    }

    pub(super) fn counts(&self) -> Counts {
        self.service().metrics().counts()
    }

    pub(super) fn site(&self) -> &RenderSite {
        self.site.as_ref().expect("started with a test render site")
    }

    pub(super) async fn get(&self, target: &str) -> Reply {
        request(self.addr, "GET", target, &[]).await
    }

    /// GETs `target` and says how long the whole answer took to arrive.
    pub(super) async fn timed_get(&self, target: &str) -> (Reply, Duration) {
        let started = std::time::Instant::now();
        let reply = self.get(target).await;
        (reply, started.elapsed())
    }

    /// Asserts that storage holds only validated cards: every stored object passes the
    /// service's own gate and decodes to a real card.
    pub(super) async fn assert_storage_holds_only_cards(&self) {
        for key in self.stored_keys().await {
            let bytes = self.store.stored_card(&key).await;
            assert_eq!(crate::jpeg::validate_card(&bytes), Ok(()), "{key}");
            assert_rendered_card(&bytes, &key);
        }
    }

    pub(super) async fn send(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
        request(self.addr, method, target, headers).await
    }

    /// Closes the browser (and its profile directory) and stops serving.
    pub(super) async fn stop(mut self) {
        self.server.stop();
        if let Some(service) = self.service.take() {
            service.shutdown().await;
        }
    }
}

/// How this service's tests read a raw reply: its cache status, and the answers it must
/// be. (A trait because [`Reply`] is test-kit's, which knows no app's headers.)
pub(super) trait ServiceReply {
    /// The `x-ogshot-cache` value.
    fn cache_status(&self) -> Option<&str>;
    /// The headers a client or CDN acts on, for comparing a HEAD with a GET.
    fn entity_headers(&self) -> Vec<(&str, Option<&str>)>;
    /// Asserts this is the bundled default image, as served for a path naming no card.
    fn assert_default_image(&self, what: &str);
    /// Asserts the status and headers of the default image's answer (GET or HEAD).
    fn assert_default_headers(&self, what: &str);
    /// Asserts this is a freshly rendered or stored card, and returns its bytes.
    fn assert_card(&self, what: &str) -> &[u8];
}

impl ServiceReply for Reply {
    fn cache_status(&self) -> Option<&str> {
        self.header(CACHE_STATUS_HEADER)
    }

    fn entity_headers(&self) -> Vec<(&str, Option<&str>)> {
        [
            "content-type",
            "content-length",
            "etag",
            "cache-control",
            "accept-ranges",
            CACHE_STATUS_HEADER,
        ]
        .into_iter()
        .map(|name| (name, self.header(name)))
        .collect()
    }

    fn assert_default_image(&self, what: &str) {
        self.assert_default_headers(what);
        assert!(self.body == DEFAULT_IMAGE, "{what}: not the default image");
    }

    fn assert_default_headers(&self, what: &str) {
        assert_eq!(self.status, 200, "{what}");
        assert_eq!(self.cache_status(), Some("default"), "{what}");
        assert_eq!(
            self.cache_control(),
            Some("public, max-age=86400"),
            "{what}"
        );
        assert_eq!(self.header("content-type"), Some("image/jpeg"), "{what}");
    }

    fn assert_card(&self, what: &str) -> &[u8] {
        assert_eq!(self.status, 200, "{what}");
        assert!(
            matches!(self.cache_status(), Some("miss" | "hit")),
            "{what}: {:?}",
            self.cache_status()
        );
        assert_eq!(self.header("content-type"), Some("image/jpeg"), "{what}");
        assert_eq!(
            self.cache_control(),
            Some("public, max-age=31536000, immutable"),
            "{what}"
        );
        &self.body
    }
}

/// Asserts `jpeg` is a card the service made: a real card by its pixels, and not the
/// bundled default image, which passes the pixel check too.
#[track_caller]
pub(super) fn assert_rendered_card(jpeg: &[u8], what: &str) {
    assert!(
        jpeg != DEFAULT_IMAGE,
        "{what}: the default image, not a card"
    );
    test_kit::assert_real_card(jpeg, what);
}
