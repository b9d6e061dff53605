//! Credentials (`Authorization: Bearer …` or `X-Api-Key`) read once per request; handlers and
//! resolvers see the outcome (`Authentication`), never the credential.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use super::super::request;
use crate::domains::auth::model::Authentication;
use crate::domains::auth::service::{self as auth, AuthService};

pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let authentication = match req.app_data::<web::Data<AuthService>>() {
        Some(service) => {
            auth::authenticate(
                service,
                request::bearer(req.request()).as_deref(),
                request::api_key_header(req.request()).as_deref(),
            )
            .await
        }
        None => Authentication::Anonymous,
    };
    req.extensions_mut().insert(authentication);
    next.call(req).await
}
