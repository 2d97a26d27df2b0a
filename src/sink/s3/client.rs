//! The S3 client: credentials and region from the AWS SDK's default chain
//! (environment, shared profile and SSO, web identity, ECS, EC2 metadata),
//! never from leakguard's options. Built once per endpoint and region and
//! reused; the chain caches and refreshes credentials itself.

use std::sync::Mutex;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::Client;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

use super::failure::Failure;
use super::settings::S3Settings;

/// An endpoint that does not answer fails fast; a stalled response too.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

type Where = (Option<String>, Option<String>, bool);

static CLIENT: Mutex<Option<(Where, Client)>> = Mutex::new(None);

pub async fn client(s: &S3Settings) -> Result<Client, Failure> {
    let at: Where = (s.region.clone(), s.endpoint.clone(), s.force_path_style);
    if let Some((w, c)) = CLIENT.lock().unwrap().as_ref() {
        if *w == at {
            return Ok(c.clone());
        }
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts);
    if let Some(region) = &s.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let shared = loader.load().await;
    if shared.region().is_none() {
        return Err(Failure::new(
            "NoRegion",
            "no AWS region: set s3.region (LEAKGUARD_S3_REGION) or AWS_REGION",
        ));
    }
    let mut conf = aws_sdk_s3::config::Builder::from(&shared).force_path_style(s.force_path_style);
    if let Some(endpoint) = &s.endpoint {
        conf = conf.endpoint_url(endpoint);
    }
    let client = Client::from_conf(conf.build());
    *CLIENT.lock().unwrap() = Some((at, client.clone()));
    Ok(client)
}
