//! `X-Twilio-Signature`: proof that a webhook request (delivery status, inbound SMS)
//! comes from the SMS provider. The provider signs the public URL it called followed by
//! every POST parameter, name then value, sorted by name, with HMAC-SHA1 keyed by the
//! account's auth token, and sends the MAC in base64.
//!
//! The URL is signed exactly as the provider called it, so it is handled as text and never
//! re-serialised (a URL parser would drop a `:443` or re-encode the query). Like the
//! provider's own validators, a request is accepted when the URL as given, the URL without
//! its port, or the URL with the scheme's standard port (443, 80) matches, because a proxy
//! in front of the service may add or drop the port.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The signature the provider sends for a request to `url` with these form parameters.
pub fn expected_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    mac(auth_token, url, params)
        .map(|m| BASE64.encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// True when `header_value` (the `X-Twilio-Signature` header) signs this request. `url` is
/// the public URL the provider called (with its query string), `params` the decoded
/// `application/x-www-form-urlencoded` body. The comparison takes constant time.
pub fn is_valid(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header_value: &str,
) -> bool {
    let Ok(given) = BASE64.decode(header_value.trim()) else {
        return false;
    };
    let mut candidates = vec![url.to_string()];
    for variant in [without_port(url), with_standard_port(url)]
        .into_iter()
        .flatten()
    {
        if !candidates.contains(&variant) {
            candidates.push(variant);
        }
    }
    // Every candidate is checked (no early exit) so timing says nothing about which matched.
    candidates.iter().fold(false, |ok, candidate| {
        ok | mac(auth_token, candidate, params).is_some_and(|m| m.verify_slice(&given).is_ok())
    })
}

/// `None` never happens (HMAC takes a key of any length) but the type allows it.
fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Option<HmacSha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name, then by value for a repeated name, as the provider's validators do.
    sorted.sort();
    let mut mac = <HmacSha1 as Mac>::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    Some(mac)
}

/// Where the port sits in `url`: (scheme, start of host, end of host, end of authority).
fn authority(url: &str) -> Option<(&str, usize, usize, usize)> {
    let (scheme, rest) = url.split_once("://")?;
    let start = scheme.len() + 3;
    let end = start + rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &url[start..end];
    let host_start = start + auth.rfind('@').map_or(0, |at| at + 1);
    let host = &url[host_start..end];
    // An IPv6 literal holds colons of its own: the port, if any, follows the `]`.
    let search_from = host.find(']').map_or(0, |b| b + 1);
    let host_end = host[search_from..]
        .find(':')
        .map_or(end, |colon| host_start + search_from + colon);
    Some((scheme, host_start, host_end, end))
}

/// `url` without its `:port`, or `None` when it has none.
fn without_port(url: &str) -> Option<String> {
    let (_, _, host_end, end) = authority(url)?;
    (host_end < end).then(|| format!("{}{}", &url[..host_end], &url[end..]))
}

/// `url` with `:443` (https) or `:80` (http) added, or `None` when it has a port already.
fn with_standard_port(url: &str) -> Option<String> {
    let (scheme, _, host_end, end) = authority(url)?;
    if host_end < end {
        return None;
    }
    let port = match scheme.to_ascii_lowercase().as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    Some(format!("{}:{port}{}", &url[..end], &url[end..]))
}

#[cfg(test)]
mod tests {
    //! The vectors are the provider's own, published in its Python SDK's request-validator
    //! tests: twilio/twilio-python, `tests/unit/test_request_validator.py` (token "12345",
    //! URL `https://mycompany.com/myapp.php?foo=1&bar=2`, the `CallSid`…`Caller` params,
    //! and one signature per port case). The first is also the worked example of the
    //! provider's webhook-security documentation.

    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn call_params() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn the_published_signature_is_computed() {
        assert_eq!(
            expected_signature(TOKEN, URL, &call_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn repeated_parameters_are_sorted_by_value_too() {
        let p = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            expected_signature(TOKEN, URL, &p),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn the_published_signature_validates() {
        assert!(is_valid(
            TOKEN,
            URL,
            &call_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn a_port_in_an_https_url_is_removed() {
        let url = URL.replace(".com", ".com:1234");
        assert!(is_valid(
            TOKEN,
            &url,
            &call_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn an_http_url_signed_with_its_port_validates() {
        let url = URL.replace(".com", ".com:1234").replace("https", "http");
        assert!(is_valid(
            TOKEN,
            &url,
            &call_params(),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        ));
    }

    #[test]
    fn port_443_is_added_to_an_https_url() {
        assert!(is_valid(
            TOKEN,
            URL,
            &call_params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
    }

    #[test]
    fn port_80_is_added_to_an_http_url() {
        let url = URL.replace("https", "http");
        assert!(is_valid(
            TOKEN,
            &url,
            &call_params(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
    }

    #[test]
    fn a_tampered_parameter_fails() {
        let mut p = call_params();
        p[1].1 = "9999".into();
        assert!(!is_valid(TOKEN, URL, &p, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    #[test]
    fn another_token_another_url_or_garbage_fails() {
        let sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!is_valid("54321", URL, &call_params(), sig));
        assert!(!is_valid(
            TOKEN,
            "https://mycompany.com/other.php",
            &call_params(),
            sig
        ));
        assert!(!is_valid(TOKEN, URL, &call_params(), "not base64!"));
        assert!(!is_valid(TOKEN, URL, &call_params(), ""));
    }

    #[test]
    fn ports_are_found_after_user_info_and_ipv6_literals() {
        assert_eq!(
            without_port("https://u:p@h.example:8443/x?a=b:c").as_deref(),
            Some("https://u:p@h.example/x?a=b:c")
        );
        assert_eq!(
            with_standard_port("https://u:p@h.example/x").as_deref(),
            Some("https://u:p@h.example:443/x")
        );
        assert_eq!(
            without_port("http://[::1]:8080/sms").as_deref(),
            Some("http://[::1]/sms")
        );
        assert_eq!(
            with_standard_port("http://[::1]?q").as_deref(),
            Some("http://[::1]:80?q")
        );
        assert_eq!(without_port("https://h.example/x"), None);
        assert_eq!(with_standard_port("https://h.example:1/x"), None);
    }
}
