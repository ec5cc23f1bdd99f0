//! `GET /api/openapi.json`: the OpenAPI 3 document generated from the handlers' annotations and types,
//! completed with the bearer scheme and the error answers every operation can give (401 where a token may
//! be needed, 400/413/415 where a body is read, 408 on the request timeout, 503 when a store is down).

use std::sync::LazyLock;

use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use super::error::ErrorBody;

/// The served document, built once.
static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::to_value(super::openapi_document()).unwrap_or(serde_json::Value::Null)
});

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", body = Object)))]
pub async fn document() -> Json<serde_json::Value> {
    Json(DOCUMENT.clone())
}

/// Adds the title, the bearer scheme, the `ErrorBody` schema and the common error answers.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "butler API".to_string();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.info.contact = None;
    doc.info.license = Some(utoipa::openapi::License::new(env!("CARGO_PKG_LICENSE")));
    doc.info.description = Some(
        "HTTP API of `butler serve --watcher`: logs, telemetry, user operations, users, workflows and \
         metrics. Every error is `{\"error\": \"...\"}` naming what was wrong."
            .to_string(),
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        "bearer".to_string(),
        RefOr::T(SecurityScheme::Http(
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build(),
        )),
    );
    components
        .schemas
        .insert(ErrorBody::name().to_string(), ErrorBody::schema());
    for item in doc.paths.paths.values_mut() {
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            add_common(op);
        }
    }
    doc
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        ErrorBody::name(),
                    ))))
                    .build(),
            )
            .build(),
    )
}

fn add_common(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let mut add = |code: &str, description: &str| {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| error_response(description));
    };
    if secured {
        add("401", "Missing or wrong bearer token");
        add(
            "503",
            "No token is configured for this route ([api] admin_token_file or BUTLER_API__ADMIN_TOKEN)",
        );
    }
    if has_body {
        add("400", "Malformed body");
        add("413", "Body larger than [api] body_limit_bytes");
        add("415", "Unsupported content type");
        add("422", "Invalid field value");
        add("503", "Not stored: the store is not available");
    }
    add(
        "408",
        "The request took longer than [api] request_timeout_secs",
    );
}
