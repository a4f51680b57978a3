//! The connection loop of the project's HTTP servers (`rrtf serve`, and the web review
//! `rrtf review serve` in rrtf-report), with the limits `axum::serve` lacks. Without them a
//! client that opens connections and then sends nothing, or half a request line, or half a TLS
//! handshake ("slowloris"), kept each one open for good: about a thousand such sockets exhausted
//! the process's descriptors and shut every reviewer out, no login needed. Now:
//! - a connection must finish its TLS handshake within [`HANDSHAKE_TIMEOUT`] and send each
//!   request's headers within [`HEADER_TIMEOUT`], or it is closed;
//! - one client address holds at most [`PER_CLIENT`] connections (more are closed at once), and
//!   the server at most [`MAX_CONNECTIONS`] (more wait in the listen queue);
//! - at shutdown the server stops accepting and lets the requests in flight finish.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// Time to send a request's headers (the start line included).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to finish a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once, all clients together.
pub const MAX_CONNECTIONS: usize = 512;
/// Connections open at once from one address.
pub const PER_CLIENT: usize = 64;

/// Serve `router` on `listener` until `shutdown` completes, then finish the requests in flight.
/// `upgrade` makes each accepted TCP stream the stream HTTP/1.1 runs on: a TLS handshake, or
/// the stream itself for plain HTTP; `None` drops the connection (a failed handshake).
pub async fn serve<U, F, S>(
    listener: TcpListener,
    router: Router,
    upgrade: U,
    shutdown: impl Future<Output = ()>,
) where
    U: Fn(TcpStream) -> F + Clone + Send + 'static,
    F: Future<Output = Option<S>> + Send,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let clients: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    // Each connection holds a receiver; `closed()` on the sender waits for the last one.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, most likely: wait for connections to end.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = peer.ip();
        if !take(&clients, ip) {
            continue; // this address is at its limit: the connection closes
        }
        // Tokens stream as small writes: no Nagle delay on them.
        let _ = tcp.set_nodelay(true);
        let (upgrade, router, clients) = (upgrade.clone(), router.clone(), Arc::clone(&clients));
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Ok(Some(io)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, upgrade(tcp)).await {
                let service = hyper_util::service::TowerToHyperService::new(router);
                let mut http = hyper::server::conn::http1::Builder::new();
                http.timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT);
                let conn = http.serve_connection(hyper_util::rt::TokioIo::new(io), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = stop.changed() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            }
            give_back(&clients, ip);
        });
    }
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
}

/// Count a connection of `ip`; false when it already holds [`PER_CLIENT`].
fn take(clients: &Mutex<HashMap<IpAddr, usize>>, ip: IpAddr) -> bool {
    let mut open = clients.lock().unwrap_or_else(|e| e.into_inner());
    let n = open.entry(ip).or_default();
    if *n >= PER_CLIENT {
        return false;
    }
    *n += 1;
    true
}

fn give_back(clients: &Mutex<HashMap<IpAddr, usize>>, ip: IpAddr) {
    let mut open = clients.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = open.get_mut(&ip) {
        *n -= 1;
        if *n == 0 {
            open.remove(&ip);
        }
    }
}
