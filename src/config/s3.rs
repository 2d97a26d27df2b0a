//! The `s3` option: its fields' rules (shared by the JS reader and the
//! `LEAKGUARD_S3_*` variables, so both accept the same values and say so in
//! the same words) and the checks across fields.

use crate::sink::s3::key::KeyTemplate;
use crate::sink::s3::settings::{DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE};
use crate::sink::s3::{S3Settings, Sse};

/// Where snapshots are uploaded (with S3 configured, gzip defaults to level 1).
/// Credentials come from the AWS SDK's default chain, never from here.
#[napi(object)]
#[derive(Default)]
pub struct S3Options {
    /// The bucket's name (no `s3://`).
    pub bucket: String,
    /// Text for the key's `{prefix}`, e.g. `'heapdumps/'`. Default `''`.
    pub prefix: Option<String>,
    /// Default: the AWS chain's (`AWS_REGION`, the shared profile, EC2/ECS metadata).
    pub region: Option<String>,
    /// A custom endpoint URL (`http://` or `https://`) for MinIO, Cloudflare R2, Ceph.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`). Default: `true` with an
    /// `endpoint`, else `false`.
    pub force_path_style: Option<bool>,
    /// The object key's template; placeholders `{hostname} {pid} {reason}
    /// {yyyy} {mm} {dd} {timestamp} {filename} {prefix}` (UTC dates;
    /// `{timestamp}` like `20261202T003512.345Z`); `{{`/`}}` for braces.
    /// Default `{prefix}{hostname}/{yyyy}/{mm}/{dd}/{hostname}-{pid}-{timestamp}-{reason}.heapsnapshot.gz`
    /// (`.heapsnapshot` when not gzipped).
    pub key: Option<String>,
    /// Server-side encryption.
    #[napi(ts_type = "'AES256' | 'aws:kms'")]
    pub sse: Option<String>,
    /// The KMS key for `sse: 'aws:kms'` (default: the bucket's).
    pub kms_key_id: Option<String>,
    /// e.g. `'STANDARD_IA'`. Default: the bucket's (`STANDARD`).
    pub storage_class: Option<String>,
    /// Keep the local file after a verified upload. Default `false`.
    pub keep_local: Option<bool>,
    /// MiB per multipart part, 5 to 1024 (whole). Default 8. A snapshot
    /// smaller than one part goes up in a single PutObject.
    pub part_size_mb: Option<u32>,
    /// Parts uploaded at once, 1 to 16. Default 4. The upload holds at most
    /// `partSizeMb × concurrency` MiB (at most 1024).
    pub concurrency: Option<u32>,
}

pub const BUCKET: &str = "a bucket name (3-255 letters, digits, '.', '-' or '_'; no s3://)";
pub const TEXT: &str = "a string of at most 512 bytes without control characters";
pub const REGION: &str = "a region name such as 'us-east-1' (letters, digits, '-', '_')";
pub const ENDPOINT: &str = "an http:// or https:// URL without credentials in it";
pub const KEY: &str = "a key template of literal text and placeholders {hostname} {pid} {reason} \
                       {yyyy} {mm} {dd} {timestamp} {filename} {prefix}";
pub const SSE: &str = "'AES256' or 'aws:kms'";
pub const STORAGE_CLASS: &str = "a storage class such as 'STANDARD_IA' (capitals and '_')";
pub const PART_SIZE: &str = "a whole number of MiB, 5 to 1024";
pub const CONCURRENCY: &str = "a whole number 1 to 16";
/// The upload's buffers, at most.
const MAX_BUFFER_MIB: u32 = 1024;

pub fn bucket(v: &str) -> Option<String> {
    let ok = (3..=255).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && v.as_bytes()[0].is_ascii_alphanumeric();
    ok.then(|| v.to_string())
}

pub fn text(v: &str) -> Option<String> {
    (v.len() <= 512 && !v.chars().any(char::is_control)).then(|| v.to_string())
}

pub fn region(v: &str) -> Option<String> {
    let ok = (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| v.to_string())
}

pub fn endpoint(v: &str) -> Option<String> {
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let ok = !authority.is_empty()
        && !authority.contains('@')
        && v.len() <= 2048
        && !v.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| v.to_string())
}

/// A key template, or why it is not one (which placeholder, which brace).
pub fn key_template(v: &str) -> Result<String, String> {
    KeyTemplate::parse(v).map(|_| v.to_string())
}

pub fn sse(v: &str) -> Option<String> {
    matches!(v, "AES256" | "aws:kms").then(|| v.to_string())
}

pub fn storage_class(v: &str) -> Option<String> {
    let ok = (1..=32).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    ok.then(|| v.to_string())
}

pub fn part_size(n: f64) -> Option<u32> {
    (n.fract() == 0.0 && (5.0..=1024.0).contains(&n)).then_some(n as u32)
}

pub fn concurrency(n: f64) -> Option<u32> {
    (n.fract() == 0.0 && (1.0..=16.0).contains(&n)).then_some(n as u32)
}

/// The settings `o` makes, each field already read by its rule above; the
/// error names the option that is wrong.
pub fn settings(o: S3Options) -> Result<S3Settings, String> {
    let key = match &o.key {
        Some(t) => KeyTemplate::parse(t).map_err(|why| format!("`key`: {why}"))?,
        None => KeyTemplate::default(),
    };
    let sse = match (o.sse.as_deref(), o.kms_key_id) {
        (Some("aws:kms"), id) => Some(Sse::Kms(id)),
        (_, Some(_)) => return Err("`kmsKeyId` needs `sse: 'aws:kms'`".into()),
        (Some(_), None) => Some(Sse::Aes256),
        (None, None) => None,
    };
    let part_mib = o
        .part_size_mb
        .map_or(DEFAULT_PART_SIZE, |m| u64::from(m) << 20);
    let concurrency = o.concurrency.map_or(DEFAULT_CONCURRENCY, |n| n as usize);
    if (part_mib >> 20) * concurrency as u64 > u64::from(MAX_BUFFER_MIB) {
        return Err(format!(
            "`partSizeMb` × `concurrency` is the upload's memory; keep it at most {MAX_BUFFER_MIB} MiB"
        ));
    }
    Ok(S3Settings {
        bucket: o.bucket,
        prefix: o.prefix.unwrap_or_default(),
        region: o.region,
        force_path_style: o.force_path_style.unwrap_or(o.endpoint.is_some()),
        endpoint: o.endpoint,
        key,
        sse,
        storage_class: o.storage_class,
        keep_local: o.keep_local.unwrap_or(false),
        part_size: part_mib,
        concurrency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_rules_refuse_what_s3_or_the_sdk_would() {
        assert!(bucket("s3://b").is_none());
        assert!(bucket("ab").is_none());
        assert!(bucket("my-heaps.prod").is_some());
        assert!(endpoint("http://127.0.0.1:9000").is_some());
        assert!(endpoint("https://user:pw@minio:9000").is_none());
        assert!(endpoint("minio:9000").is_none());
        assert!(region("us-east-1").is_some() && region("us east").is_none());
        assert_eq!(part_size(4.0), None);
        assert_eq!(part_size(8.5), None);
        assert_eq!(concurrency(17.0), None);
    }

    #[test]
    fn settings_name_the_option_across_fields() {
        let o = |f: fn(&mut S3Options)| {
            let mut o = S3Options {
                bucket: "b".repeat(3),
                ..S3Options::default()
            };
            f(&mut o);
            settings(o)
        };
        assert!(o(|o| o.kms_key_id = Some("k".into()))
            .unwrap_err()
            .contains("`kmsKeyId`"));
        assert!(o(|o| o.key = Some("{nope}".into()))
            .unwrap_err()
            .starts_with("`key`: unknown placeholder {nope}"));
        let big = o(|o| {
            o.part_size_mb = Some(512);
            o.concurrency = Some(4)
        });
        assert!(big.unwrap_err().contains("`partSizeMb` × `concurrency`"));
        let s = o(|o| o.endpoint = Some("http://127.0.0.1:1".into())).unwrap();
        assert!(s.force_path_style);
        assert_eq!((s.part_size, s.concurrency), (8 << 20, 4));
    }
}
