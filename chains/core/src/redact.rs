//! Scrubbing provider URLs out of text.

/// Removes a provider URL's secret-bearing parts from text: the whole URL, its user info, host,
/// path and query. Used on every error message that could quote the URL.
#[derive(Clone)]
pub struct Redactor {
    needles: Vec<String>,
    label: String,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor(<{}>)", self.label)
    }
}

impl Redactor {
    /// A redactor for `url`, replacing what it finds with `<label>`.
    pub fn new(url: &str, label: &str) -> Self {
        let mut needles = vec![url.to_owned(), url.trim_end_matches('/').to_owned()];
        if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
            needles.push(rest.to_owned());
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            if let Some((userinfo, host)) = authority.rsplit_once('@') {
                needles.push(userinfo.to_owned());
                needles.push(host.to_owned());
            } else {
                needles.push(authority.to_owned());
            }
            if let Some(h) = authority
                .rsplit('@')
                .next()
                .and_then(|a| a.split(':').next())
            {
                needles.push(h.to_owned());
            }
            let path = path.trim_matches('/');
            if !path.is_empty() {
                needles.push(path.to_owned());
                // Each path segment and query value long enough to be a key.
                for part in path.split(['/', '?', '&', '=']) {
                    if part.len() >= 8 {
                        needles.push(part.to_owned());
                    }
                }
            }
        }
        needles.retain(|n| n.len() >= 4);
        // Longest first so that a URL is replaced whole before its parts.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self {
            needles,
            label: format!("<{label}>"),
        }
    }

    /// `text` with every secret-bearing part replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), &self.label);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_url_host_and_key() {
        let r = Redactor::new(
            "https://eth-mainnet.example.com/v2/SECRETKEY123456",
            "alchemy",
        );
        let s = r.scrub(
            "error sending request for url (https://eth-mainnet.example.com/v2/SECRETKEY123456): dns error for eth-mainnet.example.com; key SECRETKEY123456",
        );
        assert!(!s.contains("SECRETKEY"), "{s}");
        assert!(!s.contains("eth-mainnet.example.com"), "{s}");
        assert!(s.contains("<alchemy>"), "{s}");
    }

    #[test]
    fn scrubs_userinfo() {
        let r = Redactor::new("http://user:hunter2pass@127.0.0.1:8545", "local");
        let s = r.scrub("failed: http://user:hunter2pass@127.0.0.1:8545/ and user:hunter2pass");
        assert!(!s.contains("hunter2"), "{s}");
    }
}
