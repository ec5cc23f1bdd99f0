//! Showing RPC URLs without their secrets: hosted providers put API keys in the userinfo, the path
//! (`https://host/v2/KEY`) or the query (`?apikey=KEY`). [`redact_url`] is what logs, metrics labels, errors and
//! `config show` print.

use url::Url;

/// What replaces each secret part.
const MASK: &str = "***";

/// `url` with its credentials masked: the userinfo, every query value, and every path segment that does not read
/// as a plain word (`rpc`, `mainnet`, `ext`) or an API version (`v2`, `v3`). Scheme, host and port stay, so two
/// providers remain distinguishable.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_username(MASK);
        let _ = shown.set_password(None);
    }
    if let Some(segments) = url.path_segments() {
        let path: Vec<&str> = segments
            .map(|s| if plain_segment(s) { s } else { MASK })
            .collect();
        shown.set_path(&path.join("/"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, &str)> = url
            .query_pairs()
            .map(|(k, _)| (k.into_owned(), MASK))
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.set_fragment(None);
    shown.to_string()
}

/// [`redact_url`] for a URL held as text; text that is not a URL is masked whole.
pub fn redact_url_str(url: &str) -> String {
    Url::parse(url).map_or_else(|_| MASK.to_string(), |u| redact_url(&u))
}

/// A short lowercase word (`rpc`, `mainnet`, `ext-bc`) or a version (`v2`): safe to show.
fn plain_segment(s: &str) -> bool {
    let version = s.len() <= 4
        && s.starts_with('v')
        && s.len() > 1
        && s[1..].bytes().all(|b| b.is_ascii_digit());
    let word = !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_');
    s.is_empty() || version || word
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact_url(&Url::parse(s).unwrap())
    }

    #[test]
    fn a_key_in_the_path_is_masked() {
        assert_eq!(
            r("https://eth.example.com/v2/SECRET"),
            "https://eth.example.com/v2/***"
        );
        assert_eq!(
            r("https://x.quiknode.pro/0123456789abcdef0123456789abcdef/"),
            "https://x.quiknode.pro/***/"
        );
        assert_eq!(
            r("https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161"),
            "https://mainnet.infura.io/v3/***"
        );
    }

    #[test]
    fn userinfo_and_query_values_are_masked() {
        assert_eq!(
            r("https://user:pass@host:8545/rpc"),
            "https://***@host:8545/rpc"
        );
        assert_eq!(
            r("https://host/rpc?apikey=SECRET&x=1"),
            "https://host/rpc?apikey=***&x=***"
        );
    }

    #[test]
    fn plain_urls_are_unchanged() {
        assert_eq!(r("http://127.0.0.1:8545/"), "http://127.0.0.1:8545/");
        assert_eq!(
            r("https://api.avax.network/ext/bc/C/rpc"),
            "https://api.avax.network/ext/bc/***/rpc"
        );
        assert_eq!(r("ws://127.0.0.1:8546"), "ws://127.0.0.1:8546/");
    }

    #[test]
    fn text_that_is_not_a_url_is_masked_whole() {
        assert_eq!(redact_url_str("not a url SECRET"), "***");
    }
}
