//! The Chromium that the image service runs on AWS Lambda renders a correct card.
//!
//! `infra/chromium-lambda/build.sh` builds the Lambda layer (Chromium built for Amazon
//! Linux from @sparticuz/chromium, its libraries and the card's fonts); this test runs
//! the layer's own launcher, exactly as the function's `CHROMIUM_PATH` does on Lambda,
//! under the service's real renderer, and checks the card it produces and that the
//! browser really is the layer's binary, with the layer's libraries and fonts. The layer
//! is built by `scripts/test` before the suite, not here: a test that builds a package
//! would hide a broken build script behind a test failure and cost every run its time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use image_service::browser::SwapCapture;
use image_service::cache_policy::CACHE_STATUS_HEADER;
use image_service::storage::Storage;
use image_service::telemetry::Metrics;
use image_service::{Config, ImageService};
use tower::ServiceExt;

/// An id whose card (crates/card-wording/cards.toml) has CJK text and emoji, which only
/// the layer's Noto fonts can draw.
const CJK_AND_EMOJI_ID: &str = "07-01-42";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// The built layer's `chromium/` folder, i.e. what Lambda mounts as /opt/chromium.
/// `scripts/test` builds it before the suite runs (a no-op when it is up to date).
pub(crate) fn lambda_layer() -> PathBuf {
    let layer = repo_root().join("infra/chromium-lambda/build/layer-x86_64/chromium");
    assert!(
        layer.join("chromium").is_file(),
        "the Lambda Chromium layer is not built at {}: run `scripts/test`, or \
         `bash infra/chromium-lambda/build.sh` before `cargo test` (it needs npm, apt-get \
         and the package registries)",
        layer.display()
    );
    layer
}

/// What a process has mapped: its executable, shared libraries and font files.
fn mapped_files(pid: u32) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("/proc/<pid>/maps");
    let mut files: Vec<String> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.starts_with('/'))
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lambda_chromium_layer_renders_a_correct_card() {
    test_kit::init_logs();
    let layer = lambda_layer();
    let launcher = layer.join("chromium");
    let dirs = tempfile::tempdir().expect("a temporary directory");
    let mut s3 = test_kit::s3::start(dirs.path().join("s3")).await;
    let storage: Arc<dyn Storage> = Arc::new(e2e::bucket_storage(&s3));
    // As on Lambda: one render at a time per execution environment.
    let mut config = Config::from_flags(["--render-concurrency", "1"]).expect("a valid config");
    config.chromium_path = Some(launcher.clone());
    let service = ImageService::start_with_storage(config, storage, Arc::new(Metrics::new(false)))
        .await
        .expect("the image service starts with the Lambda layer's Chromium");

    // The first card is loaded into a new window, the next one swapped in and taken
    // from the screencast, as everywhere else.
    for id in [CJK_AND_EMOJI_ID, "12-34-10"] {
        let response = service
            .router()
            .oneshot(
                Request::get(test_kit::card_path(id))
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await
            .expect("the router answers");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(
            response.headers()[CACHE_STATUS_HEADER],
            "miss",
            "{id} rendered now, not a fallback"
        );
        let jpeg = response
            .into_body()
            .collect()
            .await
            .expect("the body")
            .to_bytes();
        test_kit::assert_real_card(&jpeg, id);
    }
    assert_eq!(
        service.chromium().swap_capture(),
        Some(SwapCapture::Screencast),
        "the layer's single-process Chromium sends tagged screencast frames"
    );

    // The browser that rendered it is the layer's binary, unpacked by the launcher, with
    // the layer's libraries and the layer's fonts (fontconfig sees no host font).
    let pid = service.chromium().pid().expect("a running browser");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("/proc/<pid>/exe");
    assert!(
        exe.file_name().is_some_and(|n| n == "chromium")
            && exe
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|dir| dir.to_string_lossy().starts_with("ogshot-chromium-")),
        "the browser is {}, not the layer's unpacked Chromium",
        exe.display()
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("/proc/<pid>/cmdline");
    assert!(
        cmdline
            .split(|&b| b == 0)
            .any(|arg| arg == b"--single-process"),
        "the launcher's Lambda flags are in effect"
    );
    let files = mapped_files(pid);
    let layer = layer.to_string_lossy().into_owned();
    let from_layer = |name: &str| {
        files
            .iter()
            .any(|f| f.starts_with(&layer) && f.ends_with(name))
    };
    assert!(from_layer("/lib/libnss3.so"), "NSS comes from the layer");
    assert!(
        from_layer("NotoColorEmoji.ttf"),
        "emoji drawn with the layer's font: {files:#?}"
    );
    assert!(
        from_layer("NotoSansCJK-Bold.ttc") || from_layer("NotoSansCJK-Regular.ttc"),
        "CJK drawn with the layer's font: {files:#?}"
    );
    assert!(
        !files.iter().any(|f| f.starts_with("/usr/share/fonts")),
        "no host font is used: {files:#?}"
    );

    service.shutdown().await;
    s3.stop().await;
}
