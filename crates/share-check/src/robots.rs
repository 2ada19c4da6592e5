//! robots.txt as crawlers read it, fetched once per host and run. A missing,
//! unreachable or unparsable robots.txt allows everything, as it does for crawlers: it
//! never fails a check on its own trouble.

use std::collections::HashMap;

use tokio::sync::Mutex;
use url::Url;

use crate::fetch;

/// robots.txt per image host, fetched once per run.
#[derive(Debug, Default)]
pub struct RobotsCache {
    hosts: Mutex<HashMap<String, Option<Vec<u8>>>>,
}

impl RobotsCache {
    /// Whether `agent` may fetch `url` by its host's robots.txt (allowed when there is
    /// none, as crawlers treat a missing robots.txt).
    pub async fn allows(&self, client: &reqwest::Client, url: &Url, agent: &str) -> bool {
        let origin = url.origin().ascii_serialization();
        let mut hosts = self.hosts.lock().await;
        if !hosts.contains_key(&origin) {
            let headers = std::collections::BTreeMap::new();
            let request = fetch::Request {
                user_agent: agent,
                headers: &headers,
                max_redirects: 5,
                max_bytes: 512 * 1024,
                timeout: fetch::FETCH_TIMEOUT,
            };
            let robots = Url::parse(&format!("{origin}/robots.txt")).ok();
            let body = match robots {
                Some(robots) => match fetch::fetch(client, robots, request).await {
                    Ok(fetched) if fetched.status == 200 => Some(fetched.body),
                    _ => None,
                },
                None => None,
            };
            hosts.insert(origin.clone(), body);
        }
        match &hosts[&origin] {
            Some(body) => texting_robots::Robot::new(agent, body)
                .map(|robot| robot.allowed(url.as_str()))
                .unwrap_or(true),
            None => true,
        }
    }
}
