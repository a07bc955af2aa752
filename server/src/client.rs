//! [`Client`]: where a request came from, for sign-in's throttle and the device cookie.
//!
//! The socket's peer is the client, unless the peer is a trusted proxy
//! (`--trusted-proxy`): then the client is the address that proxy reports in `Forwarded`
//! (RFC 7239) or, without it, `X-Forwarded-For`, read from the right and skipping further
//! trusted proxies. A forwarded header from anyone else is ignored: any client can write
//! one, and believing it would let a guesser take a new address for every guess.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address, when the server knows it, and whether it asked over https.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub address: Option<IpAddr>,
    /// Only a trusted proxy can say so: the server itself speaks plain HTTP.
    pub https: bool,
}

impl FromRequestParts<Arc<AppState>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        Ok(client_of(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        ))
    }
}

/// One hop a proxy reports: the address it received from (if it says one that parses)
/// and the protocol used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hop {
    address: Option<IpAddr>,
    https: Option<bool>,
}

/// The client of a request from `peer` with `headers`, trusting the proxies `trusted`.
pub fn client_of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Client {
    let peer = peer.map(|ip| ip.to_canonical());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let direct = Client {
        address: peer,
        https: false,
    };
    if !peer.is_some_and(is_trusted) {
        return direct;
    }
    let mut hops = forwarded(headers);
    if hops.is_empty() {
        hops = x_forwarded_for(headers);
    }
    let Some(first) = hops.first().copied() else {
        return direct;
    };
    // From the nearest proxy outwards: the first hop not itself a trusted proxy is the
    // client. A hop that does not parse (`for=unknown`, an obfuscated name) stops the
    // walk: what lies beyond it cannot be known, so the proxy's own address stands in.
    let mut chosen = first;
    for hop in hops.iter().rev() {
        match hop.address {
            Some(ip) if is_trusted(ip) => chosen = *hop,
            Some(_) => {
                chosen = *hop;
                break;
            }
            None => {
                chosen = Hop {
                    address: peer,
                    https: hop.https,
                };
                break;
            }
        }
    }
    let https = chosen
        .https
        .or(first.https)
        .or_else(|| x_forwarded_proto(headers))
        .unwrap_or(false);
    Client {
        address: chosen.address.map(|ip| ip.to_canonical()),
        https,
    }
}

fn values<'a>(headers: &'a HeaderMap, name: &'static str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`, in order.
fn forwarded(headers: &HeaderMap) -> Vec<Hop> {
    values(headers, "forwarded")
        .map(|element| {
            let mut hop = Hop {
                address: None,
                https: None,
            };
            for pair in element.split(';') {
                let Some((key, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                if key.trim().eq_ignore_ascii_case("for") {
                    hop.address = node_address(value);
                } else if key.trim().eq_ignore_ascii_case("proto") {
                    hop.https = Some(value.eq_ignore_ascii_case("https"));
                }
            }
            hop
        })
        .collect()
}

/// `X-Forwarded-For: client, proxy1, proxy2`, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Hop> {
    values(headers, "x-forwarded-for")
        .map(|value| Hop {
            address: node_address(value.trim_matches('"')),
            https: None,
        })
        .collect()
}

/// The protocol the client used, as the outermost proxy saw it.
fn x_forwarded_proto(headers: &HeaderMap) -> Option<bool> {
    values(headers, "x-forwarded-proto")
        .next()
        .map(|proto| proto.eq_ignore_ascii_case("https"))
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711` or a bare `2001:db8::1`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    match node.split_once(':') {
        Some((ip, port)) if port.parse::<u16>().is_ok() => ip.parse().ok(),
        _ => None,
    }
}

/// A `--trusted-proxy` value: an address (`127.0.0.1`, `::1`) or a network in CIDR
/// notation (`10.0.0.0/8`).
pub fn parse_trusted_proxy(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR network"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("a header value"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn proxies() -> Vec<IpNet> {
        ["127.0.0.1", "10.0.0.0/8"]
            .iter()
            .map(|p| parse_trusted_proxy(p).expect("parses"))
            .collect()
    }

    #[test]
    fn a_forwarded_header_counts_only_from_a_trusted_proxy() {
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        let stranger = client_of(Some(ip("198.51.100.1")), &h, &proxies());
        assert_eq!(stranger.address, Some(ip("198.51.100.1")));
        let proxied = client_of(Some(ip("127.0.0.1")), &h, &proxies());
        assert_eq!(proxied.address, Some(ip("203.0.113.7")));
        let untrusting = client_of(Some(ip("127.0.0.1")), &h, &[]);
        assert_eq!(untrusting.address, Some(ip("127.0.0.1")));
        // IPv4 peers on an IPv6 socket are the same addresses.
        let mapped = client_of(Some(ip("::ffff:127.0.0.1")), &h, &proxies());
        assert_eq!(mapped.address, Some(ip("203.0.113.7")));
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        // A client that forges a first entry cannot choose its address.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.1.2.3")]);
        let client = client_of(Some(ip("127.0.0.1")), &h, &proxies());
        assert_eq!(client.address, Some(ip("203.0.113.7")));
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.9, 10.1.2.3")]);
        assert_eq!(
            client_of(Some(ip("127.0.0.1")), &all_trusted, &proxies()).address,
            Some(ip("10.0.0.9"))
        );
        let garbage = headers(&[("x-forwarded-for", "203.0.113.7, nonsense")]);
        assert_eq!(
            client_of(Some(ip("127.0.0.1")), &garbage, &proxies()).address,
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn forwarded_is_read_with_ports_quotes_and_protocol() {
        let h = headers(&[
            ("forwarded", r#"for="[2001:db8::1]:4711";proto=https"#),
            ("forwarded", "for=10.0.0.2:80;proto=http"),
            // Ignored: Forwarded takes precedence.
            ("x-forwarded-for", "192.0.2.99"),
        ]);
        let client = client_of(Some(ip("127.0.0.1")), &h, &proxies());
        assert_eq!(client.address, Some(ip("2001:db8::1")));
        assert!(client.https);
        let plain = headers(&[
            ("x-forwarded-for", "192.0.2.4:5555"),
            ("x-forwarded-proto", "https"),
        ]);
        let client = client_of(Some(ip("10.0.0.1")), &plain, &proxies());
        assert_eq!(client.address, Some(ip("192.0.2.4")));
        assert!(client.https);
        assert!(!client_of(Some(ip("192.0.2.1")), &plain, &proxies()).https);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert_eq!(
            parse_trusted_proxy("127.0.0.1"),
            Ok("127.0.0.1/32".parse().expect("net"))
        );
        assert_eq!(
            parse_trusted_proxy("fd00::/8"),
            Ok("fd00::/8".parse().expect("net"))
        );
        assert!(parse_trusted_proxy("proxy.local").is_err());
    }
}
