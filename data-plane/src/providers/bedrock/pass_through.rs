//! Bedrock's API as the client wrote it (the gateway's `/bedrock/*`
//! pass-through): any method and path under the deployment's runtime
//! endpoint, signed with the deployment's AWS credentials.

use super::{BedrockUpstream, PROVIDER, SERVICE, sigv4};
use crate::providers::ProviderError;
use http::{HeaderName, HeaderValue, StatusCode, Uri};

impl BedrockUpstream {
    /// The runtime endpoint (`https://bedrock-runtime.{region}.amazonaws.com`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The headers that sign `method uri` with `body` (SigV4, header form):
    /// `x-amz-date`, `authorization`, and the session token if any.
    pub fn sign_pass_through(
        &self,
        method: &str,
        uri: &Uri,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ProviderError> {
        let Some(credentials) = &self.credentials else {
            return Err(ProviderError {
                status: StatusCode::UNAUTHORIZED,
                message: "bedrock: no AWS credentials on the deployment or in the data plane's environment".into(),
                kind: "authentication_error".into(),
                param: None,
                code: Some("401".into()),
                retry_after: None,
            });
        };
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let amz_date = sigv4::amz_date(chrono::Utc::now());
        let mut signed = vec![
            ("host".to_string(), host),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(content_type) = content_type {
            signed.push(("content-type".to_string(), content_type.to_string()));
        }
        if let Some(token) = &credentials.session_token {
            signed.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let mut query: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .collect();
        query.sort_unstable();
        let signature = sigv4::sign(
            credentials,
            &self.region,
            SERVICE,
            &amz_date,
            &sigv4::Signable {
                method,
                path: uri.path(),
                query: &query.join("&"),
                headers: signed,
                payload: body,
            },
        );
        let sensitive = |value: &str| {
            let mut value =
                HeaderValue::try_from(value).map_err(|e| ProviderError::internal(PROVIDER, &e))?;
            value.set_sensitive(true);
            Ok::<_, ProviderError>(value)
        };
        let mut out = vec![
            (
                HeaderName::from_static("x-amz-date"),
                HeaderValue::try_from(amz_date)
                    .map_err(|e| ProviderError::internal(PROVIDER, &e))?,
            ),
            (
                http::header::AUTHORIZATION,
                sensitive(&signature.authorization)?,
            ),
        ];
        if let Some(token) = &credentials.session_token {
            out.push((
                HeaderName::from_static("x-amz-security-token"),
                sensitive(token)?,
            ));
        }
        Ok(out)
    }
}
