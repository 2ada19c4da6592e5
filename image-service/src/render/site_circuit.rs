//! The render site's circuit: renders the site failed open it, refusing renders at
//! once, and from then a probe asks the site for a card page until it serves one of the
//! current design. It never renders, and never counts the browser's own faults.

use std::sync::Arc;
use std::time::Duration;

use crate::browser::RenderOrigin;
use crate::circuit::{Change, Circuit};
use crate::error::RenderError;
use crate::telemetry::Metrics;

/// Renders in a row that the render site failed (no answer in time, not a card, the
/// wrong card) before renders are refused at once: one may be a blip, three in a row
/// at these timeouts mean the site is down, hung or a deploy behind.
const SITE_CIRCUIT_OPEN_AFTER: u32 = 3;

/// How often an open render-site circuit asks the site for a card page, and how long
/// that request may take.
const SITE_PROBE_INTERVAL: Duration = Duration::from_secs(1);
const SITE_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The render site's circuit and the probe that closes it.
#[derive(Debug)]
pub(super) struct SiteCircuit {
    circuit: Circuit,
    probe: SiteProbe,
    metrics: Arc<Metrics>,
}

impl SiteCircuit {
    pub(super) fn new(origin: &RenderOrigin, metrics: Arc<Metrics>) -> Self {
        Self {
            circuit: Circuit::new("render site", SITE_CIRCUIT_OPEN_AFTER),
            probe: SiteProbe::new(origin),
            metrics,
        }
    }

    pub(super) fn is_open(&self) -> bool {
        self.circuit.is_open()
    }

    /// Counts a render's outcome towards the render site's circuit, and probes the site
    /// from the moment the circuit opens.
    pub(super) fn record_site(self: &Arc<Self>, outcome: &Result<bytes::Bytes, RenderError>) {
        let change = match outcome {
            Ok(_) => self.circuit.succeeded(),
            Err(
                RenderError::Timeout(_) | RenderError::NotACard | RenderError::WrongCard { .. },
            ) => self.circuit.failed(),
            // The browser's own faults are the supervisor's to handle.
            Err(_) => Change::None,
        };
        if change == Change::Opened {
            self.metrics.render_site_circuit_opened();
            tokio::spawn(Arc::clone(self).probe_site_until_closed());
        }
    }

    /// Asks the render site for a card page every [`SITE_PROBE_INTERVAL`] until it
    /// serves one of the current design, then closes the circuit.
    async fn probe_site_until_closed(self: Arc<Self>) {
        while self.circuit.is_open() {
            tokio::time::sleep(SITE_PROBE_INTERVAL).await;
            match self.probe.check().await {
                Ok(()) => {
                    self.circuit.succeeded();
                }
                Err(why) => tracing::debug!(why, "render site probe failed"),
            }
        }
    }
}

/// The render site's health as a render would find it: a card page of the current
/// design, fetched with the render cookie.
#[derive(Debug)]
struct SiteProbe {
    client: reqwest::Client,
    url: String,
    cookie: String,
    design: String,
}

impl SiteProbe {
    fn new(origin: &RenderOrigin) -> Self {
        let id = shared_ids::SocialId::parse("00-00-00").expect("a valid id");
        Self {
            client: reqwest::Client::builder()
                .timeout(SITE_PROBE_TIMEOUT)
                .build()
                .expect("a client with a timeout builds"),
            url: format!("{}{}", origin.base, render_site::card_page_path(id)),
            cookie: format!("{}={}", origin.cookie_name, origin.cookie_value),
            design: format!("data-design=\"{}\"", shared_ids::CURRENT_DESIGN),
        }
    }

    async fn check(&self) -> Result<(), String> {
        let response = self
            .client
            .get(&self.url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let page = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if page.contains(&self.design) {
            Ok(())
        } else {
            Err("the card page is not of the current design".to_owned())
        }
    }
}
