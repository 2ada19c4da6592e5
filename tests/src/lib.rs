//! ogshot started in-process for the end-to-end suite and the benchmark: the main site,
//! the image service (with its own in-process render site and a warm Debian Chromium)
//! and an in-process S3-protocol server (s3s-fs, SigV4 checked), each on port 0 and
//! spoken to over real HTTP.
//!
//! Nothing here is a stand-in: the routers are the apps' own, the browser is the real
//! one, and storage goes through aws-sdk-s3 to a real S3 server.

pub mod nginx;

use std::path::Path;
use std::sync::Arc;

use image_service::browser::INSTALL_HINT;
use image_service::storage::{S3Storage, Storage};
use image_service::telemetry::Metrics;
use image_service::{Config as ImageConfig, ImageService, RenderTarget};
use shared_ids::DesignToken;
use test_kit::Served;
use test_kit::s3::TestS3;
use tokio::task::JoinHandle;

/// The browser the service renders with by default: Debian's headless shell.
pub const CHROMIUM: &str = image_service::browser::HEADLESS_SHELL;

/// How to start the system; the defaults are the production ones. Everything reaches
/// the image service as its flags, through the validation production runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// More image-service flags, e.g. `["--render-timeout-ms", "3000"]`.
    pub flags: Vec<String>,
    pub render_target: Option<RenderTarget>,
    /// Earlier designs the image service honours besides the compiled-in ones, as its
    /// `HONOURED_DESIGNS` setting gives them.
    pub honoured_designs: Vec<DesignToken>,
    /// Capture swapped cards by screenshot, as `SWAP_CAPTURE=screenshot` does.
    pub screenshot_swaps: bool,
}

/// All of ogshot, running.
#[derive(Debug)]
pub struct System {
    /// e.g. `http://127.0.0.1:41234`
    pub main_site: String,
    /// e.g. `http://127.0.0.1:41235`
    pub image_service: String,
    pub service: ImageService,
    pub s3: TestS3,
    servers: Vec<Served>,
    _dirs: tempfile::TempDir,
}

impl Options {
    fn image_service_flags(&self) -> Vec<String> {
        let mut flags = self.flags.clone();
        if let Some(RenderTarget::Remote { base, token }) = &self.render_target {
            flags.extend([
                "--render-url".to_owned(),
                base.to_string(),
                "--render-token".to_owned(),
                token.expose().to_owned(),
            ]);
        }
        if !self.honoured_designs.is_empty() {
            let tokens: Vec<&str> = self.honoured_designs.iter().map(|t| t.as_str()).collect();
            flags.extend(["--honoured-designs".to_owned(), tokens.join(",")]);
        }
        if self.screenshot_swaps {
            flags.extend(["--swap-capture".to_owned(), "screenshot".to_owned()]);
        }
        flags
    }
}

impl System {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        test_kit::require_chromium(CHROMIUM, INSTALL_HINT);
        test_kit::init_logs();
        let dirs = tempfile::tempdir().expect("a temporary directory");
        let s3 = test_kit::s3::start(dirs.path().join("s3")).await;
        let storage: Arc<dyn Storage> = Arc::new(bucket_storage(&s3));
        let config = ImageConfig::from_flags(options.image_service_flags())
            .expect("the image service accepts these options");
        let service =
            ImageService::start_with_storage(config, storage, Arc::new(Metrics::new(false)))
                .await
                .expect("the image service starts");
        let image_server = test_kit::serve(service.router()).await;
        let image_service = image_server.base();

        // The main site's public URL must be known before it listens: bind first.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let main_addr = listener.local_addr().expect("a bound address");
        let main_config = main_site::Config::try_from(main_site::Args {
            addr: main_addr,
            public_url: Some(format!("http://{main_addr}")),
            image_base_url: image_service.clone(),
            ..main_site::Args::defaults()
        })
        .expect("a valid main-site configuration");
        let main_server = test_kit::serve_on(listener, main_site::router(main_config));
        Self {
            main_site: format!("http://{main_addr}"),
            image_service,
            service,
            s3,
            servers: vec![image_server, main_server],
            _dirs: dirs,
        }
    }

    /// The injector (`main-site --upstream upstream`) in front of an existing site, with
    /// this system's image service: its base URL, which is also its `PUBLIC_URL`. With
    /// `spa`, a directory upstream is a single-page app's host (`--spa`).
    pub async fn start_injector(&mut self, upstream: &str, spa: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let config = main_site::Config::try_from(main_site::Args {
            addr,
            public_url: Some(format!("http://{addr}")),
            image_base_url: self.image_service.clone(),
            upstream: Some(upstream.to_owned()),
            spa,
            ..main_site::Args::defaults()
        })
        .expect("a valid injector configuration");
        let injector = test_kit::serve_on(listener, main_site::router(config));
        let base = injector.base();
        self.servers.push(injector);
        base
    }

    /// `dir` served as a plain static origin, untouched: what an existing site is before
    /// the injector stands in front of it: a missing file is its `404.html` (a 404), or,
    /// as a single-page app's host (`spa`), its `index.html`. Its base URL.
    pub async fn start_plain_origin(&mut self, dir: &Path, spa: bool) -> String {
        use tower_http::services::{ServeDir, ServeFile};
        let files = ServeDir::new(dir);
        let files = if spa {
            // The app's routes have no extension; a missing asset stays a 404.
            let index = ServeFile::new(dir.join("index.html"));
            let route = tower::service_fn(move |request: axum::extract::Request| {
                let index = index.clone();
                async move {
                    use axum::response::IntoResponse;
                    use tower::ServiceExt;
                    let last = request.uri().path().rsplit('/').next().unwrap_or_default();
                    if last.contains('.') {
                        return Ok(axum::http::StatusCode::NOT_FOUND.into_response());
                    }
                    let answer = index.oneshot(request).await?;
                    Ok::<_, std::convert::Infallible>(answer.map(axum::body::Body::new))
                }
            });
            axum::Router::new().fallback_service(files.fallback(route))
        } else {
            // A static host's own 404 page, as nginx's `error_page 404` serves it.
            let not_found = ServeFile::new(dir.join("404.html"));
            axum::Router::new().fallback_service(files.not_found_service(not_found))
        };
        let origin = test_kit::serve(files).await;
        let base = origin.base();
        self.servers.push(origin);
        base
    }

    /// The keys stored in the bucket, sorted, once every card rendered so far is stored.
    pub async fn stored_keys(&self) -> Vec<String> {
        self.service.cards().settled().await;
        self.s3.keys().await
    }

    /// Stops the servers and the browser.
    pub async fn stop(mut self) {
        self.servers.clear();
        self.s3.stop().await;
        self.service.shutdown().await;
    }
}

/// The image service's S3 backend on the test server's bucket, without a key prefix.
pub fn bucket_storage(s3: &TestS3) -> S3Storage {
    S3Storage::with_config(s3.config(), &s3.bucket, None).expect("the test bucket name is valid")
}

/// A browser launched exactly as the image service launches it, with one page whose
/// every request carries the render token, as a designer's browser does.
#[derive(Debug)]
pub struct TokenBrowser {
    pub page: chromiumoxide::Page,
    _browser: chromiumoxide::Browser,
    events: JoinHandle<()>,
    process: image_service::browser::BrowserProcess,
}

impl TokenBrowser {
    pub async fn launch(token: &render_site::RenderToken) -> Self {
        test_kit::require_chromium(CHROMIUM, INSTALL_HINT);
        Self::launch_with(Path::new(CHROMIUM), token).await
    }

    /// The same with the browser at `executable` (the Lambda layer's launcher, say).
    pub async fn launch_with(executable: &Path, token: &render_site::RenderToken) -> Self {
        use chromiumoxide::cdp::browser_protocol::network::{Headers, SetExtraHttpHeadersParams};
        use futures::StreamExt;
        let image_service::browser::Launched {
            browser,
            mut handler,
            process,
        } = image_service::browser::launch(executable, &[])
            .await
            .expect("Chromium launches");
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let page = browser.new_page("about:blank").await.expect("a page");
        let headers = serde_json::json!({ "Authorization": format!("Bearer {}", token.expose()) });
        page.execute(SetExtraHttpHeadersParams::new(Headers::new(headers)))
            .await
            .expect("the token header is set");
        Self {
            page,
            _browser: browser,
            events,
            process,
        }
    }

    /// Kills and reaps the browser's process tree.
    pub async fn close(mut self) {
        self.events.abort();
        self.process.kill_tree().await;
    }
}

/// The decoded pixels of the card for `id`, which the image service at `base` must
/// render now (`x-ogshot-cache: miss`).
///
/// # Panics
/// If the card does not come, is not rendered now, or is not a JPEG.
pub async fn rendered_pixels(client: &reqwest::Client, base: &str, id: &str) -> Vec<u8> {
    let url = format!("{base}{}", test_kit::card_path(id));
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["x-ogshot-cache"], "miss", "{url}");
    let jpeg = response.bytes().await.unwrap();
    jpeg_decoder::Decoder::new(&jpeg[..]).decode().unwrap()
}

/// Renders each of `ids` on `warm` (swapped into its warm page) and on a fresh system
/// (loaded into a new page), and fails naming the first whose two images differ.
///
/// # Panics
/// On the first card that differs, or as [`rendered_pixels`] does.
pub async fn assert_swapped_cards_equal_loaded(
    client: &reqwest::Client,
    warm: &System,
    ids: &[&str],
) {
    for id in ids {
        let swapped = rendered_pixels(client, &warm.image_service, id).await;
        let fresh = System::start().await;
        let loaded = rendered_pixels(client, &fresh.image_service, id).await;
        fresh.stop().await;
        assert!(
            swapped == loaded,
            "{id}: the swapped card differs from the loaded one"
        );
    }
}

/// A plain-http client that neither follows redirects nor pools connections across
/// tests; redirects must be seen, not followed.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}
