//! The loopback-host guard shared by the project's HTTP servers (`rrtf serve` here, and the
//! web review `rrtf review serve` in the binary): while a server listens on a loopback address,
//! it answers only requests whose `Host` names a loopback host. A web page on another site can
//! make the reader's browser send requests to `127.0.0.1`; with DNS rebinding it can even read
//! the answers, but its requests then carry its own host name, which this refuses.

use std::net::IpAddr;

/// `127.0.0.1:8200`, `localhost`, `[::1]:8200`, any 127/8 address.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request with this `Host` header (absent: `None`) may be answered by a server
/// bound to a loopback address (`bound_to_loopback`) or another one (always).
pub fn host_allowed(bound_to_loopback: bool, host: Option<&str>) -> bool {
    !bound_to_loopback || host.is_some_and(is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_pass_and_others_do_not() {
        for ok in [
            "127.0.0.1:8200",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "127.8.9.10",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8200",
            "10.0.0.1:80",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
        assert!(host_allowed(false, Some("evil.example")));
        assert!(host_allowed(false, None));
        assert!(!host_allowed(true, None));
        assert!(!host_allowed(true, Some("evil.example:8000")));
        assert!(host_allowed(true, Some("127.0.0.1:8000")));
    }
}
