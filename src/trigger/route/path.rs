//! Which requests are the route's: the exact path, byte for byte, as the
//! client sent it. Nothing is decoded or normalised first, so every variant
//! (`/%68eapdump-…`, `//heapdump-…`, `/heapdump-…/`, `/heapdump-…/../x`,
//! another case, an absolute-form target) is a different path and goes to
//! the app untouched.

/// The query string (after `?`, possibly empty) when `target` (the raw
/// request-target) is exactly `path`; `None` for any other path.
pub fn matches<'t>(target: &'t str, path: &str) -> Option<&'t str> {
    let (p, query) = target.split_once('?').unwrap_or((target, ""));
    (p == path).then_some(query)
}

/// The first query parameter's name that is not in `known` (or a bare
/// `?&` with no name); `None` when all are known.
pub fn unknown_param<'q>(query: &'q str, known: &[&str]) -> Option<&'q str> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .find(|name| !known.contains(name))
}

/// The value of the first `name` parameter (`""` when it has none).
pub fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find_map(|(n, v)| (n == name).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "/heapdump-0123456789abcdef";

    #[test]
    fn only_the_exact_path_matches() {
        assert_eq!(matches(P, P), Some(""));
        assert_eq!(matches(&format!("{P}?a=1"), P), Some("a=1"));
        for other in [
            "/heapdump-0123456789abcdef/",
            "/heapdump-0123456789abcdef/x",
            "/heapdump-0123456789abcdef/../x",
            "/heapdump-0123456789abcdefg",
            "/heapdump-0123456789abcde",
            "//heapdump-0123456789abcdef",
            "/%68eapdump-0123456789abcdef",
            "/heapdump-0123456789abcdef%2F",
            "/HEAPDUMP-0123456789abcdef",
            "/heapdump-0123456789ABCDEF",
            "/./heapdump-0123456789abcdef",
            "http://host/heapdump-0123456789abcdef",
            "heapdump-0123456789abcdef",
            "/heapdump-0123456789abcdef#x",
            "",
            "*",
        ] {
            assert_eq!(matches(other, P), None, "{other}");
        }
    }

    #[test]
    fn unknown_parameters_are_named() {
        assert_eq!(unknown_param("", &[]), None);
        assert_eq!(unknown_param("&&", &[]), None);
        assert_eq!(unknown_param("download=1", &["download"]), None);
        assert_eq!(unknown_param("download=1&x", &["download"]), Some("x"));
        assert_eq!(unknown_param("=1", &["download"]), Some(""));
        assert_eq!(unknown_param("download", &[]), Some("download"));
        assert_eq!(param("a=2&download=1&download=0", "download"), Some("1"));
        assert_eq!(param("download", "download"), Some(""));
        assert_eq!(param("x=1", "download"), None);
    }
}
