//! Where and how snapshots are uploaded: the validated `s3` configuration.

use super::key::KeyTemplate;

pub const DEFAULT_PART_SIZE: u64 = 8 << 20;
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Clone, Debug, PartialEq)]
pub struct S3Settings {
    pub bucket: String,
    /// Text for the key template's `{prefix}`.
    pub prefix: String,
    /// `None`: the AWS chain's region (`AWS_REGION`, the profile, IMDS).
    pub region: Option<String>,
    /// A custom endpoint URL (MinIO, R2, Ceph, a local server).
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    pub key: KeyTemplate,
    pub sse: Option<Sse>,
    pub storage_class: Option<String>,
    /// Keep the local file after a verified upload.
    pub keep_local: bool,
    /// Bytes per multipart part; also the size below which one PutObject is used.
    pub part_size: u64,
    /// Parts in flight at once: memory is at most `part_size × concurrency`.
    pub concurrency: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sse {
    Aes256,
    /// SSE-KMS, with the key id (the bucket's default key when `None`).
    Kms(Option<String>),
}
