//! Where the route's native listener listens (`configure({ route: { listen
//! } })`, `LEAKGUARD_ROUTE_LISTEN`): loopback unless an address says
//! otherwise, and only addresses, so nothing is resolved at startup.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::rules::shown;

pub const LISTEN_VAR: &str = "LEAKGUARD_ROUTE_LISTEN";
pub const LISTEN: &str = "a port (on 127.0.0.1), or an IP address or localhost with a port: \
                          '9464', '127.0.0.1:9464', '[::1]:9464', 'localhost:9464'; \
                          '0.0.0.0:9464' listens on every interface";

/// The address `listen` names.
pub fn address(listen: &str) -> Result<SocketAddr, String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{} is not a port (0 to 65535)", shown(p)))
    };
    if listen.bytes().all(|b| b.is_ascii_digit()) && !listen.is_empty() {
        return Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port(listen)?));
    }
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, p)) = listen.rsplit_once(':') else {
        return Err(format!("{} has no port", shown(listen)));
    };
    let port = port(p)?;
    match host {
        "localhost" => Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)),
        _ if host.parse::<IpAddr>().is_ok() => Err(format!(
            "{} is an IPv6 address: write it in brackets, [{host}]:{port}",
            shown(host)
        )),
        _ => Err(format!(
            "{} is not an IP address or localhost (names are not resolved)",
            shown(host)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_loopback_and_addresses_are_taken_as_written() {
        let a = |s| address(s).map(|a| a.to_string());
        assert_eq!(a("9464").unwrap(), "127.0.0.1:9464");
        assert_eq!(a("localhost:0").unwrap(), "127.0.0.1:0");
        assert_eq!(a("[::1]:9464").unwrap(), "[::1]:9464");
        assert_eq!(a("0.0.0.0:9464").unwrap(), "0.0.0.0:9464");
        for bad in [
            "",
            "x",
            "99999",
            "example.com:80",
            "127.0.0.1",
            "127.0.0.1:x",
            ":80",
            "::1:80",
        ] {
            assert!(address(bad).is_err(), "{bad}");
        }
        assert!(address("example.com:80")
            .unwrap_err()
            .contains("not resolved"));
    }
}
