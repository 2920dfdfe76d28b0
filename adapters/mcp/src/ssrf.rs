//! The SSRF guard: which URLs a person's MCP server may have, and an HTTP client that reaches
//! only the addresses that were checked.
//!
//! A URL is refused unless it is `http(s)` without userinfo and every address its host resolves
//! to is public. The HTTP client built from a [`CheckedUrl`] resolves the host to those addresses
//! only (no second DNS lookup, so DNS rebinding cannot swap in an internal address), uses no
//! proxy and follows no redirect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

/// Host names of cloud metadata services, refused whatever they resolve to.
const METADATA_HOSTS: &[&str] = &["metadata.google.internal", "metadata.goog", "metadata"];

/// Cloud metadata addresses: AWS/GCP/Azure/OpenStack, AWS ECS, Alibaba, AWS IPv6.
const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
];
const METADATA_V6: &[Ipv6Addr] = &[Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)];

/// What kind of address a host resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    Public,
    Loopback,
    /// 10/8, 172.16/12, 192.168/16.
    Private,
    /// fc00::/7 (and the deprecated site-local fec0::/10).
    UniqueLocal,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 100.64/10, carrier-grade NAT.
    SharedCgnat,
    Metadata,
    Unspecified,
    Multicast,
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// Everything else that is not routable on the internet (0/8, 240/4, benchmarking, ...).
    Reserved,
}

impl AddrClass {
    /// Addresses a server on the operator's own network may have (`allow_private`).
    fn is_private_network(self) -> bool {
        matches!(
            self,
            Self::Loopback | Self::Private | Self::UniqueLocal | Self::LinkLocal | Self::SharedCgnat
        )
    }

    fn allowed(self, allow_private: bool) -> bool {
        self == Self::Public || (allow_private && self.is_private_network())
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::UniqueLocal => "a unique local address",
            Self::LinkLocal => "a link-local address",
            Self::SharedCgnat => "a shared (CGNAT) address",
            Self::Metadata => "a cloud metadata address",
            Self::Unspecified => "an unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "a broadcast address",
            Self::Documentation => "a documentation address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// Why a URL was refused. The message never carries resolved addresses: telling a person what
/// an internal name resolves to would itself leak the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("not a valid URL")]
    Invalid,
    #[error("only http and https URLs are allowed, not {0}")]
    Scheme(String),
    #[error("URLs with a user name or password are not allowed; give credentials as a token")]
    Userinfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a cloud metadata host")]
    MetadataHost(String),
    #[error("the host {host} could not be resolved")]
    Unresolvable { host: String },
    #[error("the host {host} resolves to {}, which is not allowed", class.describe())]
    Address { host: String, class: AddrClass },
}

/// A URL that passed [`check_url`], with the addresses its host resolved to at that moment.
#[derive(Clone)]
pub struct CheckedUrl {
    url: Url,
    /// The host name to pin, lowercase without a trailing dot; `None` for an IP literal.
    domain: Option<String>,
    addrs: Vec<SocketAddr>,
}

impl CheckedUrl {
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The checked addresses, the only ones the client from [`Self::http_client_builder`]
    /// connects to.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A reqwest client builder that connects only to [`Self::addrs`], without proxy or
    /// redirects. Callers add timeouts and headers.
    pub fn http_client_builder(&self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false);
        match &self.domain {
            Some(domain) => builder.dns_resolver(Arc::new(PinnedResolver {
                domain: domain.clone(),
                addrs: self.addrs.clone(),
            })),
            // An IP literal is never resolved; any other name is refused.
            None => builder.dns_resolver(Arc::new(PinnedResolver {
                domain: String::new(),
                addrs: Vec::new(),
            })),
        }
    }
}

impl fmt::Debug for CheckedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the origin: a path or query may carry a key.
        f.debug_struct("CheckedUrl")
            .field("origin", &self.url.origin().ascii_serialization())
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// Checks a URL a person gave, resolving its host. `allow_private` lets loopback and private
/// network addresses through (a server the operator runs beside meAI); metadata, multicast,
/// documentation and reserved addresses are refused regardless.
pub async fn check_url(url: &str, allow_private: bool) -> Result<CheckedUrl, UrlRefused> {
    let url = Url::parse(url.trim()).map_err(|_| UrlRefused::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefused::Scheme(url.scheme().to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefused::Userinfo);
    }
    let port = url.port_or_known_default().ok_or(UrlRefused::Invalid)?;
    let (domain, ips) = match url.host().ok_or(UrlRefused::NoHost)? {
        Host::Ipv4(ip) => (None, vec![IpAddr::V4(ip)]),
        Host::Ipv6(ip) => (None, vec![IpAddr::V6(ip)]),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                return Err(UrlRefused::NoHost);
            }
            if METADATA_HOSTS.contains(&name.as_str()) {
                return Err(UrlRefused::MetadataHost(name));
            }
            let ips = resolve(&name, port).await?;
            (Some(name), ips)
        }
    };
    let host = domain
        .clone()
        .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned());
    // One refused address refuses the host: a name answering both public and internal
    // addresses is exactly what a rebinding attack looks like.
    for ip in &ips {
        let class = classify(*ip);
        if !class.allowed(allow_private) {
            return Err(UrlRefused::Address { host, class });
        }
    }
    let addrs = ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect();
    Ok(CheckedUrl { url, domain, addrs })
}

async fn resolve(name: &str, port: u16) -> Result<Vec<IpAddr>, UrlRefused> {
    let unresolvable = || UrlRefused::Unresolvable { host: name.to_owned() };
    let addrs = tokio::net::lookup_host((name, port)).await.map_err(|e| {
        tracing::debug!(host = name, error = %e, "MCP server host did not resolve");
        unresolvable()
    })?;
    let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
    ips.sort();
    ips.dedup();
    if ips.is_empty() {
        return Err(unresolvable());
    }
    Ok(ips)
}

/// The class of an address; IPv6 forms that embed an IPv4 address are judged by that address.
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let [a, b, c, _] = ip.octets();
    if METADATA_V4.contains(&ip) {
        AddrClass::Metadata
    } else if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if ip.is_broadcast() {
        AddrClass::Broadcast
    } else if ip.is_loopback() {
        AddrClass::Loopback
    } else if ip.is_private() {
        AddrClass::Private
    } else if ip.is_link_local() {
        AddrClass::LinkLocal
    } else if a == 100 && (64..128).contains(&b) {
        AddrClass::SharedCgnat
    } else if ip.is_multicast() {
        AddrClass::Multicast
    } else if ip.is_documentation() {
        AddrClass::Documentation
    } else if is_reserved_v4(a, b, c) {
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

/// Not routable on the internet: "this network" 0/8, 240/4, IETF protocol assignments
/// 192.0.0/24, benchmarking 198.18/15, the 6to4 relay anycast 192.88.99/24.
fn is_reserved_v4(a: u8, b: u8, c: u8) -> bool {
    a == 0
        || a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 88 && c == 99)
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    if METADATA_V6.contains(&ip) {
        return AddrClass::Metadata;
    }
    if ip.is_unspecified() {
        return AddrClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddrClass::Loopback;
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64 64:ff9b::/96 reaches the embedded IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 2002::/16 embeds the IPv4 address in its second and third segments.
    if s[0] == 0x2002 {
        return classify_v4(embedded_v4(s[1], s[2]));
    }
    match s[0] {
        x if x & 0xff00 == 0xff00 => AddrClass::Multicast,
        x if x & 0xfe00 == 0xfc00 => AddrClass::UniqueLocal,
        x if x & 0xffc0 == 0xfec0 => AddrClass::UniqueLocal,
        x if x & 0xffc0 == 0xfe80 => AddrClass::LinkLocal,
        0x2001 if s[1] == 0x0db8 => AddrClass::Documentation,
        // IETF protocol assignments 2001::/23 (Teredo, ORCHID, ...), which can tunnel anywhere.
        0x2001 if s[1] < 0x0200 => AddrClass::Reserved,
        // Everything outside global unicast 2000::/3 (discard-only 100::/64, ...).
        x if x & 0xe000 != 0x2000 => AddrClass::Reserved,
        _ => AddrClass::Public,
    }
}

/// Answers DNS for the checked host only, with the checked addresses.
struct PinnedResolver {
    domain: String,
    addrs: Vec<SocketAddr>,
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let asked = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let answer: Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> =
            if !self.domain.is_empty() && asked == self.domain {
                Ok(Box::new(self.addrs.clone().into_iter()))
            } else {
                tracing::warn!(host = %asked, "refused to resolve a host other than the checked MCP server");
                Err(format!("{asked} is not the checked host").into())
            };
        Box::pin(std::future::ready(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn refused_class(r: Result<CheckedUrl, UrlRefused>) -> AddrClass {
        match r {
            Err(UrlRefused::Address { class, .. }) => class,
            other => panic!("expected an address refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn every_refused_class_of_literal_ip_is_refused() {
        let cases: &[(&str, AddrClass)] = &[
            ("http://127.0.0.1/", AddrClass::Loopback),
            ("http://127.10.20.30:8080/", AddrClass::Loopback),
            ("http://[::1]/", AddrClass::Loopback),
            ("http://10.1.2.3/", AddrClass::Private),
            ("http://172.16.0.1/", AddrClass::Private),
            ("http://172.31.255.254/", AddrClass::Private),
            ("http://192.168.1.1/", AddrClass::Private),
            ("http://[fc00::1]/", AddrClass::UniqueLocal),
            ("http://[fd12:3456::1]/", AddrClass::UniqueLocal),
            ("http://169.254.1.1/", AddrClass::LinkLocal),
            ("http://[fe80::1]/", AddrClass::LinkLocal),
            ("http://100.64.0.1/", AddrClass::SharedCgnat),
            ("http://100.127.255.254/", AddrClass::SharedCgnat),
            ("http://0.0.0.0/", AddrClass::Unspecified),
            ("http://[::]/", AddrClass::Unspecified),
            ("http://224.0.0.1/", AddrClass::Multicast),
            ("http://239.255.255.250/", AddrClass::Multicast),
            ("http://[ff02::1]/", AddrClass::Multicast),
            ("http://255.255.255.255/", AddrClass::Broadcast),
            ("http://192.0.2.1/", AddrClass::Documentation),
            ("http://198.51.100.7/", AddrClass::Documentation),
            ("http://203.0.113.9/", AddrClass::Documentation),
            ("http://[2001:db8::1]/", AddrClass::Documentation),
            ("http://0.1.2.3/", AddrClass::Reserved),
            ("http://240.0.0.1/", AddrClass::Reserved),
            ("http://198.18.0.1/", AddrClass::Reserved),
            ("http://169.254.169.254/latest/meta-data/", AddrClass::Metadata),
            ("http://100.100.100.200/", AddrClass::Metadata),
            ("http://[fd00:ec2::254]/", AddrClass::Metadata),
            // IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of refused addresses.
            ("http://[::ffff:127.0.0.1]/", AddrClass::Loopback),
            ("http://[::ffff:10.0.0.1]/", AddrClass::Private),
            ("http://[::ffff:169.254.169.254]/", AddrClass::Metadata),
            ("http://[::ffff:100.64.1.1]/", AddrClass::SharedCgnat),
            ("http://[::192.168.0.1]/", AddrClass::Private),
            ("http://[64:ff9b::a00:1]/", AddrClass::Private),
            ("http://[2002:7f00:1::]/", AddrClass::Loopback),
            // Other spellings the URL parser normalises to an IPv4 address.
            ("http://2130706433/", AddrClass::Loopback),
            ("http://0x7f.1/", AddrClass::Loopback),
            ("http://0177.0.0.1/", AddrClass::Loopback),
        ];
        for (url, class) in cases {
            let refused = refused_class(check_url(url, false).await);
            assert_eq!(refused, *class, "{url}");
        }
    }

    #[tokio::test]
    async fn metadata_and_special_addresses_stay_refused_when_private_is_allowed() {
        for url in [
            "http://169.254.169.254/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://192.0.2.1/",
        ] {
            assert!(check_url(url, true).await.is_err(), "{url}");
        }
        assert_eq!(
            check_url("http://metadata.google.internal/computeMetadata/v1/", true)
                .await
                .unwrap_err(),
            UrlRefused::MetadataHost("metadata.google.internal".into())
        );
        assert!(matches!(
            check_url("http://Metadata.Google.Internal./", false).await,
            Err(UrlRefused::MetadataHost(_))
        ));
    }

    #[tokio::test]
    async fn localhost_resolves_to_loopback_and_is_refused() {
        let err = check_url("http://localhost:8080/mcp", false).await.unwrap_err();
        assert!(
            matches!(&err, UrlRefused::Address { host, class: AddrClass::Loopback } if host == "localhost"),
            "{err:?}"
        );
        assert!(!err.to_string().contains("127.0.0.1"), "no resolved address in {err}");
    }

    #[tokio::test]
    async fn allow_private_lets_loopback_and_private_networks_through() {
        let checked = check_url("http://127.0.0.1:9/mcp", true).await.unwrap();
        assert_eq!(checked.addrs(), ["127.0.0.1:9".parse::<SocketAddr>().unwrap()]);
        for url in [
            "http://10.0.0.1/",
            "http://[fd12::1]/",
            "http://100.64.0.1/",
            "http://[::1]:80/",
        ] {
            assert!(check_url(url, true).await.is_ok(), "{url}");
        }
        let local = check_url("http://localhost:9/", true).await.unwrap();
        assert!(local.addrs().iter().all(|a| a.ip().is_loopback() && a.port() == 9));
    }

    #[tokio::test]
    async fn public_addresses_are_allowed() {
        for (url, port) in [
            ("http://93.184.216.34/mcp", 80),
            ("https://93.184.216.34/mcp", 443),
            ("https://1.1.1.1:8443/", 8443),
            ("https://[2606:4700:4700::1111]/", 443),
            ("http://172.32.0.1/", 80),
            ("http://100.128.0.1/", 80),
        ] {
            let checked = check_url(url, false).await.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(checked.addrs()[0].port(), port, "{url}");
            assert_eq!(classify(checked.addrs()[0].ip()), AddrClass::Public);
        }
    }

    #[tokio::test]
    async fn schemes_userinfo_and_garbage_are_refused() {
        assert_eq!(
            check_url("file:///etc/passwd", true).await.unwrap_err(),
            UrlRefused::Scheme("file".into())
        );
        assert_eq!(
            check_url("gopher://93.184.216.34/", true).await.unwrap_err(),
            UrlRefused::Scheme("gopher".into())
        );
        assert_eq!(
            check_url("ftp://93.184.216.34/", true).await.unwrap_err(),
            UrlRefused::Scheme("ftp".into())
        );
        assert_eq!(
            check_url("https://user:pw@93.184.216.34/", true).await.unwrap_err(),
            UrlRefused::Userinfo
        );
        assert_eq!(
            check_url("https://user@93.184.216.34/", true).await.unwrap_err(),
            UrlRefused::Userinfo
        );
        assert_eq!(check_url("not a url", true).await.unwrap_err(), UrlRefused::Invalid);
    }

    /// One-shot HTTP responder on loopback: answers each connection with `response`.
    async fn responder(response: &'static str) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        addr
    }

    fn pinned(host: &str, addr: SocketAddr) -> CheckedUrl {
        CheckedUrl {
            url: Url::parse(&format!("http://{host}:{}/mcp", addr.port())).unwrap(),
            domain: Some(host.to_owned()),
            addrs: vec![addr],
        }
    }

    #[tokio::test]
    async fn the_client_connects_only_to_the_checked_addresses() {
        let addr = responder("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
        // `.invalid` never resolves: reaching the responder proves no DNS lookup happened.
        let checked = pinned("rebind.invalid", addr);
        let client = checked.http_client_builder().build().unwrap();
        let res = client.get(checked.url().clone()).send().await.unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
        let other = client
            .get(format!("http://elsewhere.invalid:{}/", addr.port()))
            .send()
            .await;
        assert!(other.is_err(), "a host other than the checked one must not resolve");
    }

    #[tokio::test]
    async fn the_client_does_not_follow_redirects() {
        let addr = responder(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
        let checked = pinned("redirect.invalid", addr);
        let client = checked.http_client_builder().build().unwrap();
        let res = client.get(checked.url().clone()).send().await.unwrap();
        assert_eq!(res.status(), 307);
    }

    #[test]
    fn debug_shows_only_the_origin() {
        let checked = CheckedUrl {
            url: Url::parse("https://mcp.example.com/mcp?key=hunter22").unwrap(),
            domain: Some("mcp.example.com".into()),
            addrs: vec!["93.184.216.34:443".parse().unwrap()],
        };
        let debug = format!("{checked:?}");
        assert!(
            debug.contains("https://mcp.example.com") && !debug.contains("hunter22"),
            "{debug}"
        );
    }
}
