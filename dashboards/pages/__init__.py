"""Page layouts: plain functions `layout(q, params, lang) -> component`, rendered per request."""
