//! The outbound policy: every connection a tenant can configure (REST and PostgreSQL
//! connectors, later webhooks) goes through it. Host names are resolved once and every address
//! checked; the connection then goes to an address that was checked (no DNS rebinding).
//! Loopback, private, link-local, unique-local, unspecified, multicast, reserved and
//! cloud-metadata addresses are refused, in every spelling (`2130706433`, `0x7f.1`,
//! `[::ffff:127.0.0.1]`), unless an operator allows them; the platform's own PostgreSQL, Redis,
//! Qdrant and API endpoints are refused even then.
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

use url::Url;

/// Why a connection may not be made. The text is safe to show to the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot resolve {0}")]
    Unresolvable(String),
}

/// An operator's exception: a network, or one host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Net { base: IpAddr, prefix: u8 },
    Address(SocketAddr),
    HostPort { host: String, port: u16 },
}

/// One of the platform's own services.
#[derive(Debug, Clone)]
struct PlatformEndpoint {
    host: String,
    addresses: Vec<IpAddr>,
    port: u16,
}

#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Vec<Allowed>,
    platform: Vec<PlatformEndpoint>,
}

/// Cloud metadata services: refused whatever the allow-list says.
const METADATA_HOSTS: &[&str] = &["metadata.google.internal", "metadata", "instance-data"];
const METADATA_ADDRESSES: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

impl OutboundPolicy {
    /// `allow`: CIDRs (`10.20.0.0/16`, `127.0.0.1/32`, `fd00::/8`) and `host:port` pairs.
    /// `platform`: URLs of the platform's own services (database, Redis, Qdrant, the API).
    pub fn new(allow: &[String], platform: &[String]) -> Result<Self, String> {
        let allowed = allow
            .iter()
            .map(|entry| parse_allowed(entry.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let platform = platform
            .iter()
            .filter_map(|raw| platform_endpoint(raw))
            .collect();
        Ok(Self { allowed, platform })
    }

    /// What can be said of a host before resolving it: its spelling, a literal address, a
    /// name that is never allowed. Names that need DNS pass here and are checked on connect.
    pub fn check_literal(&self, raw_host: &str, port: u16) -> Result<(), OutboundError> {
        match parse_host(raw_host)? {
            Host::Ip(ip) => self.check_address(raw_host, ip, port),
            Host::Name(name) => self.check_name(&name, port),
        }
    }

    /// Resolves `host` and checks every address it has; the addresses to connect to.
    pub async fn resolve(
        &self,
        raw_host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, OutboundError> {
        let name = match parse_host(raw_host)? {
            Host::Ip(ip) => {
                self.check_address(raw_host, ip, port)?;
                return Ok(vec![SocketAddr::new(ip, port)]);
            }
            Host::Name(name) => name,
        };
        self.check_name(&name, port)?;
        let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|_| OutboundError::Unresolvable(name.clone()))?
            .collect();
        if found.is_empty() {
            return Err(OutboundError::Unresolvable(name));
        }
        // One refused address refuses the name: a resolver may hand out any of them.
        for addr in &found {
            self.check_address(&name, addr.ip(), port)?;
        }
        Ok(found)
    }

    /// Checks an http(s) URL and pins its host's checked addresses in `pins`, the resolver of
    /// the client that will send the request.
    pub async fn vet_url(&self, url: &Url, pins: &PinnedResolver) -> Result<(), OutboundError> {
        check_url_shape(url)?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| OutboundError::Invalid(format!("{url} has no port")))?;
        let host =
            url_host(url).ok_or_else(|| OutboundError::Invalid("the URL has no host".into()))?;
        let addresses = self.resolve(&host, port).await?;
        if let Some(url::Host::Domain(d)) = url.host() {
            pins.pin(d, addresses);
        }
        Ok(())
    }

    fn check_name(&self, name: &str, port: u16) -> Result<(), OutboundError> {
        let refused = |what: &str| {
            Err(OutboundError::Refused(format!(
                "{name}:{port} is {what}; connectors may not reach it"
            )))
        };
        if METADATA_HOSTS.contains(&name) {
            return refused("a cloud metadata service");
        }
        if self
            .platform
            .iter()
            .any(|p| p.port == port && p.host == name)
        {
            return refused("one of the platform's own services");
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return self.check_address(name, IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        }
        Ok(())
    }

    fn check_address(&self, host: &str, ip: IpAddr, port: u16) -> Result<(), OutboundError> {
        let ip = canonical(ip);
        let refused = |what: &str| {
            Err(OutboundError::Refused(format!(
                "{host}:{port} is {what}; connectors may not reach it"
            )))
        };
        if METADATA_ADDRESSES.iter().any(|m| canonical(*m) == ip) {
            return refused("a cloud metadata address");
        }
        if self.is_platform(ip, port) {
            return refused("one of the platform's own services");
        }
        if self.host_allowed(host, port) || self.ip_allowed(ip, port) {
            return Ok(());
        }
        match non_public(ip) {
            Some(what) => refused(&format!("a {what} address")),
            None => Ok(()),
        }
    }

    fn is_platform(&self, ip: IpAddr, port: u16) -> bool {
        self.platform.iter().any(|p| {
            p.port == port
                && (ip.is_unspecified()
                    || p.addresses.iter().any(|a| {
                        let a = canonical(*a);
                        // A service bound to any address, or to loopback, answers on every
                        // loopback address.
                        a == ip || a.is_unspecified() || (a.is_loopback() && ip.is_loopback())
                    }))
        })
    }

    fn host_allowed(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed.iter().any(
            |a| matches!(a, Allowed::HostPort { host: h, port: p } if *h == host && *p == port),
        )
    }

    fn ip_allowed(&self, ip: IpAddr, port: u16) -> bool {
        self.allowed.iter().any(|a| match a {
            Allowed::Net { base, prefix } => in_net(ip, *base, *prefix),
            Allowed::Address(addr) => canonical(addr.ip()) == ip && addr.port() == port,
            Allowed::HostPort { .. } => false,
        })
    }
}

/// A URL's host as text a resolver takes: a name, or an address without IPv6 brackets.
pub fn url_host(url: &Url) -> Option<String> {
    Some(match url.host()? {
        url::Host::Domain(d) => d.to_owned(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    })
}

/// http(s), a host, and no credentials in the URL itself (they belong in the config's auth).
pub fn check_url_shape(url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::Invalid(
            "must be an http or https URL".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::Invalid(
            "must not carry a user name or password (use the config's auth)".into(),
        ));
    }
    if url.host().is_none() {
        return Err(OutboundError::Invalid("the URL has no host".into()));
    }
    Ok(())
}

enum Host {
    Ip(IpAddr),
    Name(String),
}

/// A host as a connector config names it, in any of the spellings a resolver would accept
/// (decimal, octal and hex IPv4 included: they are read the way browsers read them).
fn parse_host(raw: &str) -> Result<Host, OutboundError> {
    let raw = raw.trim();
    let bad = || OutboundError::Invalid(format!("{raw:?} is not a host name or address"));
    if raw.is_empty() || raw.len() > 253 {
        return Err(bad());
    }
    let unbracketed = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(raw);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(bad());
    }
    let url = Url::parse(&format!("http://{raw}/")).map_err(|_| bad())?;
    match url.host() {
        Some(url::Host::Ipv4(ip)) => Ok(Host::Ip(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => Ok(Host::Ip(IpAddr::V6(ip))),
        Some(url::Host::Domain(d)) => Ok(Host::Name(d.trim_end_matches('.').to_ascii_lowercase())),
        None => Err(bad()),
    }
}

/// IPv4 addresses written as IPv6 (mapped, compatible, NAT64, 6to4) are judged as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                ))
            };
            // Compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry IPv4 in the last 32 bits.
            let compatible =
                s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified();
            let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else if compatible || nat64 {
                embedded(s[6], s[7])
            } else if s[0] == 0x2002 {
                embedded(s[1], s[2])
            } else {
                ip
            }
        }
        v4 => v4,
    }
}

/// The kind of non-public address `ip` is, if it is one.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if a == 0 {
                Some("unspecified")
            } else if v4.is_multicast() {
                Some("multicast")
            } else if v4.is_broadcast() || a >= 240 {
                Some("reserved")
            } else if a == 100 && (64..128).contains(&b) {
                Some("carrier-grade NAT")
            } else if (a == 192 && b == 0 && (c == 0 || c == 2))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113)
            {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s0 = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s0 & 0xfe00 == 0xfc00 {
                Some("unique-local")
            } else if s0 & 0xffc0 == 0xfe80 || s0 & 0xffc0 == 0xfec0 {
                Some("link-local")
            } else if s0 == 0x2001 && matches!(v6.segments()[1], 0 | 0x0db8) {
                // Teredo tunnels reach arbitrary IPv4; documentation addresses reach nothing.
                Some("reserved")
            } else {
                None
            }
        }
    }
}

fn in_net(ip: IpAddr, base: IpAddr, prefix: u8) -> bool {
    match (canonical(ip), base) {
        (IpAddr::V4(ip), IpAddr::V4(base)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(base)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

fn parse_allowed(entry: &str) -> Result<Allowed, String> {
    let bad =
        || format!("outbound.allow entry {entry:?}: expected a CIDR (10.0.0.0/8) or host:port");
    if let Some((addr, prefix)) = entry.split_once('/') {
        let base: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        return Ok(Allowed::Net { base, prefix });
    }
    let (host, port) = entry.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Allowed::Address(SocketAddr::new(canonical(ip), port)));
    }
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Allowed::HostPort {
        host: host.to_ascii_lowercase(),
        port,
    })
}

fn platform_endpoint(raw: &str) -> Option<PlatformEndpoint> {
    let url = Url::parse(raw).ok()?;
    let host = url_host(&url)?.to_ascii_lowercase();
    let port = url.port_or_known_default().or(match url.scheme() {
        "postgres" | "postgresql" => Some(5432),
        "redis" | "rediss" => Some(6379),
        _ => None,
    })?;
    // Resolved once at start-up: the platform's own names are the operator's, not a tenant's.
    let addresses = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|a| a.map(|s| s.ip()).collect())
            .unwrap_or_default(),
    };
    Some(PlatformEndpoint {
        host,
        addresses,
        port,
    })
}

/// A resolver for an HTTP client that only hands out addresses the policy checked for the
/// request about to be sent; any other name fails to resolve.
#[derive(Debug, Default)]
pub struct PinnedResolver {
    pins: Mutex<HashMap<String, Vec<SocketAddr>>>,
}

impl PinnedResolver {
    fn pin(&self, host: &str, addresses: Vec<SocketAddr>) {
        self.pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_ascii_lowercase(), addresses);
    }
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let found = self
            .pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name.as_str().to_ascii_lowercase())
            .cloned();
        Box::pin(async move {
            match found {
                Some(addresses) => Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs),
                None => Err("the host was not checked by the outbound policy".into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(
            &allow.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &[
                "postgres://app:pw@127.0.0.1:54329/autonomos".into(),
                "redis://127.0.0.1:63790/0".into(),
                "http://127.0.0.1:6334".into(),
            ],
        )
        .unwrap()
    }

    fn refused(p: &OutboundPolicy, host: &str, port: u16) -> bool {
        p.check_literal(host, port).is_err()
    }

    #[test]
    fn private_and_special_addresses_are_refused_in_every_spelling() {
        let p = policy(&[]);
        for host in [
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "0177.0.0.1",
            "127.1",
            "localhost",
            "LOCALHOST.",
            "a.localhost",
            "::1",
            "[::1]",
            "0.0.0.0",
            "0",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "metadata.google.internal",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "[::ffff:127.0.0.1]",
            "::ffff:a9fe:a9fe",
            "fd00::1",
            "fe80::1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "::127.0.0.1",
            "100.100.100.200",
            "fd00:ec2::254",
        ] {
            assert!(refused(&p, host, 80), "{host} should be refused");
        }
        for host in [
            "93.184.216.34",
            "api.example.com",
            "2606:4700::1111",
            "8.8.8.8",
        ] {
            assert!(!refused(&p, host, 443), "{host} should pass");
        }
        for host in ["evil@127.0.0.1", "a/b", "", "host name", "127.0.0.1:80"] {
            assert!(
                matches!(p.check_literal(host, 80), Err(OutboundError::Invalid(_))),
                "{host}"
            );
        }
    }

    #[test]
    fn the_allow_list_opens_private_networks_but_never_the_platform_or_metadata() {
        let p = policy(&["127.0.0.0/8", "10.1.0.0/16", "warehouse.corp:5432"]);
        assert!(!refused(&p, "127.0.0.1", 8081));
        assert!(!refused(&p, "127.0.0.2", 5432));
        assert!(!refused(&p, "10.1.2.3", 5432));
        assert!(refused(&p, "10.2.0.1", 5432));
        assert!(!refused(&p, "localhost", 8081), "an allowed loopback name");
        assert!(refused(&p, "127.0.0.1", 54329), "the platform's database");
        assert!(
            refused(&p, "127.0.0.9", 63790),
            "the platform's Redis on any loopback address"
        );
        assert!(
            refused(&p, "0.0.0.0", 6334),
            "Qdrant through the unspecified address"
        );
        assert!(refused(&p, "[::ffff:127.0.0.1]", 54329));
        assert!(refused(&p, "169.254.169.254", 80));
        let open = policy(&["0.0.0.0/0", "::/0"]);
        assert!(
            refused(&open, "169.254.169.254", 80),
            "metadata stays refused"
        );
        assert!(
            refused(&open, "2130706433", 54329),
            "the platform stays refused"
        );
    }

    #[test]
    fn allow_entries_are_parsed_strictly() {
        assert!(OutboundPolicy::new(&["10.0.0.0/33".into()], &[]).is_err());
        assert!(OutboundPolicy::new(&["nonsense".into()], &[]).is_err());
        assert!(OutboundPolicy::new(&["db.corp:5432".into(), "fd00::/8".into()], &[]).is_ok());
    }

    #[test]
    fn urls_with_credentials_or_other_schemes_are_refused() {
        for raw in [
            "http://user:pw@api.example.com/",
            "ftp://api.example.com/",
            "http://u@x.io/",
        ] {
            let url = Url::parse(raw).unwrap();
            assert!(check_url_shape(&url).is_err(), "{raw}");
        }
        assert!(check_url_shape(&Url::parse("https://api.example.com/v1").unwrap()).is_ok());
    }

    #[tokio::test]
    async fn names_resolve_to_checked_addresses_only() {
        let p = policy(&[]);
        assert!(matches!(
            p.resolve("localhost", 8080).await,
            Err(OutboundError::Refused(_))
        ));
        let allowed = policy(&["127.0.0.0/8"]);
        let addresses = allowed.resolve("127.0.0.1", 8080).await.unwrap();
        assert_eq!(addresses, vec!["127.0.0.1:8080".parse().unwrap()]);
        let pins = PinnedResolver::default();
        let url = Url::parse("http://127.0.0.1:54329/").unwrap();
        assert!(allowed.vet_url(&url, &pins).await.is_err());
    }
}
