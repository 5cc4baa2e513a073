//! `[media]`: where the RTP relay binds its sockets and which address it writes into the
//! SDP it sends.

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;

/// `[media]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Address the RTP and RTCP sockets bind ("0.0.0.0": every interface).
    pub bind_ip: IpAddr,
    /// Address written into the SDP we send, when the trunk and the phones must reach us
    /// at another address than the SIP endpoint's (NAT, several interfaces). Unset: the
    /// SIP endpoint's address.
    #[serde(default)]
    pub public_ip: Option<IpAddr>,
    /// First port of the range (even: RTP takes even ports, RTCP the next odd one).
    pub port_min: u16,
    /// Last port of the range (inclusive).
    pub port_max: u16,
}

fn unspecified() -> IpAddr {
    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind_ip: unspecified(),
            public_ip: None,
            // 5,000 ports: 1,250 calls at once (four ports a call), room for 1,000 even
            // with some ports of the range held by other programs.
            port_min: 20_000,
            port_max: 24_999,
        }
    }
}

impl MediaConfig {
    /// Checks the port range; the error is the key at fault and what was expected.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("media.{k}");
        if self.port_min == 0 {
            // Port 0 asks the OS for any port: the range would mean nothing.
            return Err((key("port_min"), "expected a port from 1 to 65534".into()));
        }
        if self.port_min % 2 != 0 {
            return Err((
                key("port_min"),
                format!(
                    "{} is odd; expected an even port (RTP takes even ports, RTCP the next one)",
                    self.port_min
                ),
            ));
        }
        if self.port_min >= self.port_max {
            return Err((
                key("port_max"),
                format!(
                    "{} is not above media.port_min ({})",
                    self.port_max, self.port_min
                ),
            ));
        }
        // Two calls' worth of legs at the very least: one call takes two RTP/RTCP pairs.
        if u32::from(self.port_max) - u32::from(self.port_min) + 1 < 4 {
            return Err((
                key("port_max"),
                "the range must hold at least 4 ports (one call: two RTP/RTCP pairs)".into(),
            ));
        }
        if let (Some(public), false) = (self.public_ip, self.bind_ip.is_unspecified()) {
            if public.is_ipv4() != self.bind_ip.is_ipv4() {
                return Err((
                    key("public_ip"),
                    "expected the same IP version as media.bind_ip".into(),
                ));
            }
        }
        if self.public_ip.is_some_and(|ip| ip.is_unspecified()) {
            return Err((
                key("public_ip"),
                "expected an address the trunk and the phones can reach, not 0.0.0.0".into(),
            ));
        }
        Ok(())
    }

    /// The address to write into our SDP: `public_ip`, else the SIP endpoint's `sip_ip`.
    pub fn advertised_ip(&self, sip_ip: IpAddr) -> IpAddr {
        self.public_ip.unwrap_or(sip_ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: u16, max: u16) -> MediaConfig {
        MediaConfig {
            port_min: min,
            port_max: max,
            ..MediaConfig::default()
        }
    }

    #[test]
    fn the_default_range_holds_a_thousand_calls() {
        let cfg = MediaConfig::default();
        let ports = u32::from(cfg.port_max) - u32::from(cfg.port_min) + 1;
        // A call takes two RTP/RTCP pairs.
        assert!(ports / 4 >= 1_000, "{ports} ports");
    }

    #[test]
    fn the_default_range_is_valid() {
        assert_eq!(MediaConfig::default().validate(), Ok(()));
        assert_eq!(range(30_000, 30_003).validate(), Ok(()));
    }

    #[test]
    fn an_odd_first_port_is_refused_by_name() {
        let (key, why) = range(20_001, 20_999).validate().unwrap_err();
        assert_eq!(key, "media.port_min");
        assert!(why.contains("even"), "{why}");
    }

    #[test]
    fn an_inverted_or_tiny_range_is_refused_by_name() {
        assert_eq!(
            range(20_000, 20_000).validate().unwrap_err().0,
            "media.port_max"
        );
        assert_eq!(
            range(20_000, 10_000).validate().unwrap_err().0,
            "media.port_max"
        );
        assert_eq!(
            range(20_000, 20_002).validate().unwrap_err().0,
            "media.port_max"
        );
        assert_eq!(range(0, 20_002).validate().unwrap_err().0, "media.port_min");
    }

    #[test]
    fn the_service_configuration_refuses_a_bad_range_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.toml");
        std::fs::write(&file, "").unwrap();
        let env = |port_min: &str| {
            vec![
                ("HELPLINE_CONFIG".to_string(), file.display().to_string()),
                (
                    "HELPLINE__MEDIA__PORT_MIN".to_string(),
                    port_min.to_string(),
                ),
            ]
        };
        let defaults = crate::config::Config::load_from(&env("20000")).unwrap();
        assert_eq!(defaults.media.port_max, 24_999);
        assert_eq!(defaults.media.public_ip, None);
        let err = crate::config::Config::load_from(&env("20001"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("media.port_min"), "{err}");
    }

    #[test]
    fn an_unspecified_public_address_is_refused() {
        let cfg = MediaConfig {
            public_ip: Some(unspecified()),
            ..MediaConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().0, "media.public_ip");
    }
}
