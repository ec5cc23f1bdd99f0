//! Query strings: a typed extractor (400 naming the parameter), single parameters checked against their
//! bounds, and paging (`limit`, `offset`) with bounds chosen per route.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::HttpError;

/// A query string decoded into `T` (use `deny_unknown_fields` to refuse unknown parameters); 400 naming
/// the parameter when it does not fit.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(t)| Query(t))
            .map_err(|r| {
                let text = r.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_string();
                HttpError::bad_request(format!("query string: {text}"))
            })
    }
}

/// A query parameter that is not accepted. As an [`HttpError`]: 400 for an unknown or repeated parameter,
/// 422 for a value out of bounds (``parameter `limit`: `0` is not an integer from 1 to 1000``).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    Unknown {
        name: String,
        allowed: String,
    },
    Repeated {
        name: String,
    },
    Value {
        name: String,
        value: String,
        /// What is wrong with the value (`is not an integer from 1 to 1000`).
        problem: String,
    },
}

impl ParamError {
    fn value(name: &str, value: &str, problem: impl Into<String>) -> ParamError {
        ParamError::Value {
            name: name.to_string(),
            value: value.to_string(),
            problem: problem.into(),
        }
    }

    /// The parameter's name.
    pub fn name(&self) -> &str {
        match self {
            ParamError::Unknown { name, .. }
            | ParamError::Repeated { name }
            | ParamError::Value { name, .. } => name,
        }
    }
}

impl From<ParamError> for HttpError {
    fn from(e: ParamError) -> Self {
        match e {
            ParamError::Unknown { name, allowed } => HttpError::bad_request(format!(
                "query string: unknown parameter `{name}` (expected one of: {allowed})"
            )),
            ParamError::Repeated { name } => HttpError::bad_request(format!(
                "query string: parameter `{name}` is given more than once"
            )),
            ParamError::Value {
                name,
                value,
                problem,
            } => HttpError::invalid(format!("parameter `{name}`: `{value}` {problem}")),
        }
    }
}

/// A whole-number parameter in `[min, max]`.
pub fn int_param(
    name: &str,
    raw: Option<&str>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ParamError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
        _ => Err(ParamError::value(
            name,
            raw,
            format!("is not an integer from {min} to {max}"),
        )),
    }
}

/// A Unix-seconds parameter (fractions allowed).
pub fn secs_param(name: &str, raw: Option<&str>) -> Result<Option<f64>, ParamError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(ParamError::value(
            name,
            raw,
            "is not a Unix time in seconds",
        )),
    }
}

/// A `true`/`false` parameter.
pub fn bool_param(name: &str, raw: Option<&str>) -> Result<Option<bool>, ParamError> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ParamError::value(name, other, "is not true or false")),
    }
}

/// How far a route pages: `limit` from 1 to `max_limit` (default `default_limit`), `offset` from 0 to
/// `max_offset` (default 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBounds {
    pub default_limit: u64,
    pub max_limit: u64,
    pub max_offset: u64,
}

/// One page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: u64,
    pub offset: u64,
}

impl PageBounds {
    /// The page `limit` and `offset` ask for, within these bounds.
    pub fn page(&self, limit: Option<&str>, offset: Option<&str>) -> Result<Paging, ParamError> {
        Ok(Paging {
            limit: int_param("limit", limit, 1, self.max_limit)?.unwrap_or(self.default_limit),
            offset: int_param("offset", offset, 0, self.max_offset)?.unwrap_or(0),
        })
    }
}

/// A query string as a map of its parameters, each allowed by name and given at most once; the error
/// names the parameter.
pub fn pairs(raw: Option<&str>, allowed: &[&str]) -> Result<HashMap<String, String>, ParamError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ParamError::Unknown {
                name: k.to_string(),
                allowed: allowed.join(", "),
            });
        }
        if out.contains_key(k.as_ref()) {
            return Err(ParamError::Repeated {
                name: k.to_string(),
            });
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_within_the_routes_bounds() {
        let b = PageBounds {
            default_limit: 100,
            max_limit: 1000,
            max_offset: 10,
        };
        assert_eq!(
            b.page(None, None).unwrap(),
            Paging {
                limit: 100,
                offset: 0
            }
        );
        assert_eq!(b.page(Some("5"), Some("10")).unwrap().limit, 5);
        let e = b.page(Some("0"), None).unwrap_err();
        assert_eq!(
            e,
            ParamError::value("limit", "0", "is not an integer from 1 to 1000")
        );
        assert_eq!(b.page(None, Some("11")).unwrap_err().name(), "offset");
        let http: HttpError = e.into();
        assert_eq!(
            http.message,
            "parameter `limit`: `0` is not an integer from 1 to 1000"
        );
    }

    #[test]
    fn pairs_refuse_unknown_and_repeated_parameters() {
        let q = pairs(Some("a=1&b=x%20y"), &["a", "b"]).unwrap();
        assert_eq!(q["b"], "x y");
        assert!(matches!(
            pairs(Some("c=1"), &["a"]).unwrap_err(),
            ParamError::Unknown { name, .. } if name == "c"
        ));
        assert!(matches!(
            pairs(Some("a=1&a=2"), &["a"]).unwrap_err(),
            ParamError::Repeated { .. }
        ));
    }
}
