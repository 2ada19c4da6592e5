//! A router served on a loopback port for as long as a test holds it: the one way tests
//! put an app, a test origin or a stand-in site on real HTTP.

use std::net::SocketAddr;

use tokio::task::JoinHandle;

/// A router being served on `127.0.0.1`; it stops when this is dropped.
#[derive(Debug)]
pub struct Served {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    /// Its base URL, e.g. `http://127.0.0.1:41234`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving now (dropping it does the same).
    pub fn stop(self) {}
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a free loopback port.
///
/// # Panics
/// If no loopback port can be bound.
pub async fn serve(router: axum::Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    serve_on(listener, router)
}

/// Serves `router` on `listener`, bound by the caller (when the address must be known
/// before the router is built).
///
/// # Panics
/// If the listener has no local address.
pub fn serve_on(listener: tokio::net::TcpListener, router: axum::Router) -> Served {
    let addr = listener.local_addr().expect("a bound address");
    // With the peer's address (`ConnectInfo`), as the apps are served.
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served { addr, task }
}
