//! Outgoing HTTP, the only network access a plugin can have: `wasi:http`
//! requests to the hosts its `network` grant names, nothing else. A plugin
//! granted no host may still import `wasi:http` (componentize-js's default
//! build does): every request it makes is refused.
//!
//! A request to any other host fails with the `HTTP-request-denied` error
//! and is recorded as a denied call. A call waiting on a request is stopped
//! at its deadline by the call's timer like any other wait; the request's
//! own timeouts are capped at twice the deadline, so that a request a
//! plugin leaves running after its call returned does not hold a
//! connection open for long either.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt as _;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, default_send_request};

/// Refused requests kept per call for its report; the requests past it are
/// still refused, not listed.
const MAX_REFUSALS_KEPT: usize = 64;

/// Whether a host matches one granted pattern: an exact name, or
/// `*.example.com` for its subdomains.
pub fn host_allowed(patterns: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    patterns.iter().any(|pattern| match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1 && host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.')
        }
        None => *pattern == host,
    })
}

/// The `wasi:http` hooks of one plugin instance.
pub(crate) struct NetworkHooks {
    allowed: Arc<[String]>,
    /// The longest any of a request's timeouts may be.
    timeout_cap: Duration,
    /// Hosts refused since the last call began, for the call's report.
    pub(crate) refused: Arc<Mutex<Vec<String>>>,
    /// Whether `refused` has anything, so that a call that made no refused
    /// request takes no lock.
    pub(crate) any_refused: Arc<AtomicBool>,
}

impl NetworkHooks {
    pub(crate) fn new(allowed: Arc<[String]>, deadline: Duration) -> NetworkHooks {
        NetworkHooks {
            allowed,
            timeout_cap: deadline.saturating_mul(2),
            refused: Arc::default(),
            any_refused: Arc::default(),
        }
    }
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
>;

impl WasiHttpHooks for NetworkHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let host = request.uri().host().unwrap_or_default().to_string();
        if !host_allowed(&self.allowed, &host) {
            let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
            // Each refusal is reported; a plugin retrying in a loop until
            // its deadline must not grow the report without end.
            if refused.len() < MAX_REFUSALS_KEPT {
                refused.push(format!("network:{host}"));
            }
            self.any_refused.store(true, Ordering::Release);
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let most = self.timeout_cap;
        let cap = |asked: Option<Duration>| Some(asked.map_or(most, |d| d.min(most)));
        let options = RequestOptions {
            connect_timeout: cap(options.and_then(|o| o.connect_timeout)),
            first_byte_timeout: cap(options.and_then(|o| o.first_byte_timeout)),
            between_bytes_timeout: cap(options.and_then(|o| o.between_bytes_timeout)),
        };
        Box::new(async move {
            let (response, io) = default_send_request(request, Some(options)).await?;
            Ok((
                response.map(|body| body.boxed_unsync()),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_exactly_or_by_subdomain_wildcard() {
        let patterns = vec![
            "api.example.com".to_string(),
            "*.tasks.io".to_string(),
            "127.0.0.1".to_string(),
        ];
        assert!(host_allowed(&patterns, "api.example.com"));
        assert!(host_allowed(&patterns, "API.Example.com."));
        assert!(host_allowed(&patterns, "eu.tasks.io"));
        assert!(host_allowed(&patterns, "127.0.0.1"));
        assert!(
            !host_allowed(&patterns, "tasks.io"),
            "a wildcard covers subdomains only"
        );
        assert!(!host_allowed(&patterns, "eviltasks.io"));
        assert!(!host_allowed(&patterns, "example.com"));
        assert!(!host_allowed(&patterns, "api.example.com.evil.net"));
        assert!(!host_allowed(&[], "api.example.com"));
    }
}
