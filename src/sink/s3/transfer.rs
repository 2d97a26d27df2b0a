//! Sends one file to S3, streaming it while the writer may still be
//! writing it: a part goes up as soon as the file holds its bytes, a few in
//! flight, each read into memory only when its turn comes (memory stays at
//! `part_size × concurrency` whatever the snapshot's size). A file that is
//! complete before it fills one part goes up in a single PutObject. The
//! object is verified (HeadObject: its size) before the upload counts.

use std::fs::File;
use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ServerSideEncryption, StorageClass,
};
use aws_sdk_s3::Client;
use tokio::task::JoinSet;

use super::failure::{from_sdk, Failure};
use super::mark::Mark;
use super::part;
use super::settings::{S3Settings, Sse};
use crate::sink::progress::{Progress, Receiver};

/// The failure of an upload whose file was never completed.
pub const NOT_WRITTEN: &str = "FileNotWritten";

/// S3 allows no more parts than this.
const MAX_PARTS: u64 = 10_000;

/// The object to create: where, and what it says about itself.
pub struct Object {
    pub bucket: String,
    pub key: String,
    pub content_type: &'static str,
    pub metadata: Vec<(&'static str, String)>,
}

/// What S3 holds once the upload is verified.
pub struct Sent {
    pub etag: String,
    pub bytes: u64,
    /// 1 for a single PutObject.
    pub parts: u32,
}

/// Sets what every created object carries (PutObject and
/// CreateMultipartUpload builders have the same setters, not a common trait).
macro_rules! describe {
    ($builder:expr, $s:expr, $o:expr) => {{
        let mut b = $builder
            .bucket(&$o.bucket)
            .key(&$o.key)
            .content_type($o.content_type);
        for (name, value) in &$o.metadata {
            b = b.metadata(*name, value);
        }
        if let Some(class) = &$s.storage_class {
            b = b.storage_class(StorageClass::from(class.as_str()));
        }
        match &$s.sse {
            Some(Sse::Aes256) => b.server_side_encryption(ServerSideEncryption::Aes256),
            Some(Sse::Kms(id)) => b
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(id.clone()),
            None => b,
        }
    }};
}

pub async fn send(
    client: &Client,
    s: &S3Settings,
    o: &Object,
    file: Arc<File>,
    mut progress: Receiver,
    mark: Option<&mut Mark>,
) -> Result<Sent, Failure> {
    let bytes = match grown(&mut progress, s.part_size).await? {
        Grown::Complete(len) if len < s.part_size => {
            let body = read(&file, 0, len)?;
            describe!(client.put_object(), s, o)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| from_sdk("PutObject", &e))?;
            len
        }
        _ => multipart(client, s, o, &file, &mut progress, mark).await?,
    };
    let head = client
        .head_object()
        .bucket(&o.bucket)
        .key(&o.key)
        .send()
        .await
        .map_err(|e| from_sdk("HeadObject (verifying the upload)", &e))?;
    if head.content_length() != Some(bytes as i64) {
        return Err(Failure::new(
            "VerifyFailed",
            format!(
                "the uploaded object has {:?} bytes, the file {bytes}",
                head.content_length()
            ),
        ));
    }
    Ok(Sent {
        etag: head
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
        bytes,
        parts: parts_in(head.e_tag()),
    })
}

/// A multipart ETag ends in `-<parts>`.
fn parts_in(etag: Option<&str>) -> u32 {
    etag.and_then(|e| e.trim_matches('"').rsplit_once('-'))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(1)
}

async fn multipart(
    client: &Client,
    s: &S3Settings,
    o: &Object,
    file: &Arc<File>,
    progress: &mut Receiver,
    mut mark: Option<&mut Mark>,
) -> Result<u64, Failure> {
    let created = describe!(client.create_multipart_upload(), s, o)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .map_err(|e| from_sdk("CreateMultipartUpload", &e))?;
    let id = created.upload_id().unwrap_or_default().to_string();
    // From here on, a dangling upload can be found and aborted from the mark.
    if let Some(m) = mark.as_mut() {
        let _ = m.set_upload_id(Some(&id));
    }
    let result = parts(client, s, o, file, progress, &id).await;
    let done = match result {
        Ok((bytes, parts)) => client
            .complete_multipart_upload()
            .bucket(&o.bucket)
            .key(&o.key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| bytes)
            .map_err(|e| from_sdk("CompleteMultipartUpload", &e)),
        Err(e) => Err(e),
    };
    // Completed or aborted, nothing dangles; else the mark keeps the id.
    if done.is_ok() || abort(client, &o.bucket, &o.key, &id).await {
        if let Some(m) = mark {
            let _ = m.set_upload_id(None);
        }
    }
    done
}

/// Aborts a multipart upload; whether S3 confirmed it.
pub async fn abort(client: &Client, bucket: &str, key: &str, id: &str) -> bool {
    let r = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .send()
        .await;
    match r {
        Ok(_) => true,
        // Already gone: nothing dangles.
        Err(e) => e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("NoSuchUpload"),
    }
}

/// Uploads the parts as the file grows; returns its length and the parts.
async fn parts(
    client: &Client,
    s: &S3Settings,
    o: &Object,
    file: &Arc<File>,
    progress: &mut Receiver,
    id: &str,
) -> Result<(u64, Vec<CompletedPart>), Failure> {
    let mut in_flight = JoinSet::new();
    let mut done = Vec::new();
    let (mut offset, mut number) = (0u64, 1u64);
    loop {
        let (end, last) = match grown(progress, offset + s.part_size).await? {
            Grown::Enough => (offset + s.part_size, false),
            Grown::Complete(len) => {
                let end = len.min(offset + s.part_size);
                (end, end == len)
            }
        };
        if end > offset {
            if number > MAX_PARTS {
                return Err(Failure::new(
                    "TooManyParts",
                    format!(
                        "the file needs more than {MAX_PARTS} parts of {} MiB; raise s3.partSizeMb",
                        s.part_size >> 20
                    ),
                ));
            }
            while in_flight.len() >= s.concurrency {
                done.push(joined(in_flight.join_next().await)?);
            }
            let part = client
                .upload_part()
                .bucket(&o.bucket)
                .key(&o.key)
                .upload_id(id)
                .part_number(number as i32);
            let file = Arc::clone(file);
            in_flight.spawn(async move {
                let body = read(&file, offset, end - offset)?;
                let r = part
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .map_err(|e| from_sdk(&format!("UploadPart {number}"), &e))?;
                Ok(CompletedPart::builder()
                    .part_number(number as i32)
                    .set_e_tag(r.e_tag().map(str::to_string))
                    .set_checksum_crc32(r.checksum_crc32().map(str::to_string))
                    .build())
            });
            number += 1;
            offset = end;
        }
        if last {
            break;
        }
    }
    while let Some(r) = in_flight.join_next().await {
        done.push(joined(Some(r))?);
    }
    done.sort_by_key(|p| p.part_number());
    Ok((offset, done))
}

type PartResult = Result<CompletedPart, Failure>;

fn joined(r: Option<Result<PartResult, tokio::task::JoinError>>) -> PartResult {
    match r {
        Some(Ok(part)) => part,
        _ => Err(Failure::new(
            "Internal",
            "an upload task ended without a result",
        )),
    }
}

enum Grown {
    /// The file holds the bytes waited for and is still being written.
    Enough,
    Complete(u64),
}

/// Waits until the file holds `want` bytes or is complete.
async fn grown(progress: &mut Receiver, want: u64) -> Result<Grown, Failure> {
    loop {
        match *progress.borrow_and_update() {
            Progress::Writing(n) if n >= want => return Ok(Grown::Enough),
            Progress::Complete(len) => return Ok(Grown::Complete(len)),
            Progress::Failed => break,
            Progress::Writing(_) => {}
        }
        if progress.changed().await.is_err() {
            break;
        }
    }
    Err(Failure::new(
        NOT_WRITTEN,
        "the snapshot file was not completed",
    ))
}

fn read(file: &File, offset: u64, len: u64) -> Result<bytes::Bytes, Failure> {
    part::read(file, offset, len)
        .map_err(|e| Failure::new("ReadFailed", format!("reading the file at {offset}: {e}")))
}
