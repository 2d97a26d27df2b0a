//! `Authorization: Bearer <token>`, compared in constant time. What is
//! compared are SHA-256 digests of the token sent and the one configured,
//! 32 bytes each whatever the lengths: the time taken says nothing about
//! the token's length or how much of it a guess got right.

use sha2::{Digest, Sha256};

use crate::config::route::is_token68;

pub struct Token {
    digest: [u8; 32],
}

impl Token {
    pub fn new(secret: &str) -> Self {
        Token {
            digest: digest(secret),
        }
    }

    /// Whether the request's `Authorization` values (every one it sent, in
    /// order) are exactly one `Bearer` credential with this token. Missing,
    /// doubled, another scheme, malformed: all are simply `false`.
    pub fn accepts(&self, authorization: &[String]) -> bool {
        let [value] = authorization else {
            return false;
        };
        let Some(given) = bearer(value) else {
            return false;
        };
        let sent = digest(given);
        let diff = sent
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

fn digest(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Sha256::digest(s.as_bytes()));
    out
}

/// The credential of `Bearer <token68>` (the scheme in any case, RFC 7235).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let token = rest.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && is_token68(token)).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";

    fn accepts(values: &[&str]) -> bool {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        Token::new(SECRET).accepts(&values)
    }

    #[test]
    fn only_one_bearer_credential_with_the_token_passes() {
        assert!(accepts(&[&format!("Bearer {SECRET}")]));
        assert!(accepts(&[&format!("bearer  {SECRET}")]));
        assert!(!accepts(&[]));
        assert!(!accepts(&[
            &format!("Bearer {SECRET}"),
            &format!("Bearer {SECRET}")
        ]));
        assert!(!accepts(&[&format!("Bearer {SECRET}x")]));
        assert!(!accepts(&[&format!("Bearer {}", &SECRET[1..])]));
        assert!(!accepts(&[&format!("Basic {SECRET}")]));
        assert!(!accepts(&[SECRET]));
        assert!(!accepts(&["Bearer"]));
        assert!(!accepts(&["Bearer "]));
        assert!(!accepts(&[&format!("Bearer {SECRET} {SECRET}")]));
        assert!(!accepts(&[&format!("Bearer \"{SECRET}\"")]));
        assert!(!accepts(&["Bearer ===="]));
    }
}
