//! A router that remembers the paths it routes, so `serve` can tell before merging two modes' routers on
//! one listener whether they would answer the same path.

use axum::Router;
use axum::routing::MethodRouter;

/// A router and the paths it routes.
pub struct Routes<S = ()> {
    router: Router<S>,
    paths: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `path` (axum syntax, `/a/{param}`).
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method_router);
        self.paths.push(path.to_string());
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Changes the router without changing its paths (layers, route layers).
    pub fn map(mut self, f: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The router, still without its state, and its paths (to merge into a router of another state).
    pub fn into_parts(self) -> (Router<S>, Vec<String>) {
        (self.router, self.paths)
    }

    /// The router with its state, and its paths.
    pub fn with_state(self, state: S) -> (Router, Vec<String>) {
        (self.router.with_state(state), self.paths)
    }
}
