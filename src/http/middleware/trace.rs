//! Every response names its trace (`x-trace-id`): the exported trace's, the caller's W3C
//! `traceparent`'s, or a fresh one.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

#[derive(Debug, Clone)]
pub struct TraceId(pub String);

pub async fn trace(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = super::super::request::trace_id(req.request());
    req.extensions_mut().insert(TraceId(id.clone()));
    let mut response = next.call(req).await?;
    let name = HeaderName::from_static("x-trace-id");
    if !response.headers().contains_key(&name) {
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
