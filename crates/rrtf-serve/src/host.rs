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

/// Whether a request comes from this server's own pages or from a program, not from a web page
/// of another site that a browser was made to send: its `Origin`, when sent, is `scheme://host`
/// (any scheme when `scheme` is None), and its `Sec-Fetch-Site`, when sent and no `Origin`
/// is, says `same-origin` or `none`. Programs (curl, OpenAI clients) send neither header.
pub fn same_origin(
    origin: Option<&str>,
    fetch_site: Option<&str>,
    scheme: Option<&str>,
    host: &str,
) -> bool {
    match origin {
        Some(origin) => match (origin.split_once("://"), scheme) {
            (Some((s, authority)), want) => authority == host && want.is_none_or(|w| w == s),
            (None, _) => false, // `null`, or garbage
        },
        None => fetch_site.is_none_or(|v| v == "same-origin" || v == "none"),
    }
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
    fn posts_from_other_origins_are_refused() {
        let h = "127.0.0.1:8200";
        // Programs send neither header; the server's own pages send its origin.
        assert!(same_origin(None, None, Some("http"), h));
        assert!(same_origin(
            Some("http://127.0.0.1:8200"),
            Some("same-origin"),
            Some("http"),
            h
        ));
        assert!(same_origin(Some("https://127.0.0.1:8200"), None, None, h));
        assert!(same_origin(None, Some("none"), Some("http"), h));
        // Over HTTPS (TLS, or a proxy in front), a browser's Origin says https.
        assert!(same_origin(
            Some("https://127.0.0.1:8200"),
            None,
            Some("https"),
            h
        ));
        assert!(!same_origin(
            Some("http://127.0.0.1:8200"),
            None,
            Some("https"),
            h
        ));
        for (origin, site) in [
            (Some("https://127.0.0.1:8200"), None), // another scheme
            (Some("http://127.0.0.1:8201"), None),  // another port
            (Some("https://evil.example"), None),
            (Some("null"), None),
            (None, Some("cross-site")),
            (None, Some("same-site")),
        ] {
            assert!(
                !same_origin(origin, site, Some("http"), h),
                "{origin:?} {site:?}"
            );
        }
    }

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
