//! The page pool: one window per render under way, kept warm between renders. A page is
//! handed out only inside a [`Checkout`], which closes the window unless the render
//! gave it back after a good capture, so no window outlives its render.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::target::{
    CloseTargetParams, CreateTargetParams, GetTargetsParams,
};
use chromiumoxide::{Browser, Page};
use tokio::sync::oneshot;

use super::live::Live;
use super::page::PooledPage;
use crate::error::RenderError;

/// How long closing a discarded page may take; it runs off the request's path.
const PAGE_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The idle pages of the browser that is up, and every window it has open.
#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<PooledPage>>,
    /// Every open window, idle or rendering, for the supervisor's renderer probe.
    windows: Mutex<Vec<Page>>,
}

impl Pool {
    /// Takes a new browser's first window into the pool.
    pub(super) fn add_first(&self, page: Page, generation: u64) {
        self.windows
            .lock()
            .expect("windows lock")
            .push(page.clone());
        self.idle
            .lock()
            .expect("idle pool lock")
            .push(PooledPage::new(page, generation));
    }

    /// Every open window now.
    pub(super) fn windows(&self) -> Vec<Page> {
        self.windows.lock().expect("windows lock").clone()
    }

    /// Forgets every page, when their browser is gone.
    pub(super) fn clear(&self) {
        self.idle.lock().expect("idle pool lock").clear();
        self.windows.lock().expect("windows lock").clear();
    }

    /// A page of `live`: an idle pooled one, or a new window. The window is opened by a
    /// task of its own, so a checkout cut off while Chromium opens it still closes it.
    pub(super) async fn checkout(&self, live: &Arc<Live>) -> Result<Checkout<'_>, RenderError> {
        loop {
            let pooled = self.idle.lock().expect("idle pool lock").pop();
            match pooled {
                Some(p) if p.generation == live.generation => return Ok(self.checked_out(p)),
                Some(stale) => drop(stale),
                None => break,
            }
        }
        let (opened, window) = oneshot::channel();
        let opener = Arc::clone(live);
        tokio::spawn(async move {
            let page = open_window(&opener.browser, "about:blank").await;
            if let Err(Ok(orphan)) = opened.send(page) {
                close_page(orphan);
            }
        });
        let page = window
            .await
            .map_err(|_| RenderError::Browser("the window opener stopped".into()))??;
        self.windows
            .lock()
            .expect("windows lock")
            .push(page.clone());
        Ok(self.checked_out(PooledPage::new(page, live.generation)))
    }

    fn checked_out(&self, pooled: PooledPage) -> Checkout<'_> {
        Checkout {
            pool: self,
            pooled: Some(pooled),
        }
    }
}

/// A page checked out for one render. Unless it is given back after a good capture,
/// dropping it closes the window, off the request's path; pages are handed out only
/// inside one, so no exit (an error, a deadline dropping the render's future, a panic)
/// leaves a window open.
pub(super) struct Checkout<'a> {
    pool: &'a Pool,
    pooled: Option<PooledPage>,
}

impl Checkout<'_> {
    pub(super) fn page(&mut self) -> &mut PooledPage {
        self.pooled
            .as_mut()
            .expect("held until given back or dropped")
    }

    /// Returns the page to the pool after a good capture.
    pub(super) fn give_back(mut self) {
        if let Some(pooled) = self.pooled.take() {
            self.pool.idle.lock().expect("idle pool lock").push(pooled);
        }
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(pooled) = self.pooled.take() {
            let target = pooled.page.target_id();
            self.pool
                .windows
                .lock()
                .expect("windows lock")
                .retain(|page| page.target_id() != target);
            close_page(pooled.page);
        }
    }
}

/// Closes a page, off the request's path: closing a hung page can hang too.
fn close_page(page: Page) {
    // Outside a runtime (a process shutting down) the browser goes with the process.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(PAGE_CLOSE_TIMEOUT, page.close()).await;
        });
    }
}

/// Closes every window `browser` has, by target: for a window whose opening was given
/// up on, so no `Page` exists to close it by.
pub(super) async fn close_every_window(browser: &Browser) {
    let Ok(targets) = browser.execute(GetTargetsParams::default()).await else {
        return;
    };
    for target in &targets.result.target_infos {
        if target.r#type == "page" {
            let close = CloseTargetParams::new(target.target_id.clone());
            let _ = tokio::time::timeout(PAGE_CLOSE_TIMEOUT, browser.execute(close)).await;
        }
    }
}

/// A new page at `url` in its own window: a page in a background tab produces no frames,
/// and a screenshot of it waits for one forever.
pub(super) async fn open_window(browser: &Browser, url: &str) -> Result<Page, RenderError> {
    let target = CreateTargetParams::builder()
        .url(url)
        .new_window(true)
        .build()
        .map_err(RenderError::Browser)?;
    browser
        .new_page(target)
        .await
        .map_err(|e| RenderError::Browser(e.to_string()))
}
