"""The dashboard's pages, one module each, loaded by Dash Pages when the app is created.

Each module calls `dash.register_page(__name__, path=..., name=<nav label key>, order=...)`, defines
`content(q, p, lang)` and `layout = frame.page_layout(content)`, and keeps its own callbacks beside
them (`@dash.callback`). See `dashboards.frame` for the template. Do not import these modules
directly: shared view code lives outside this folder (`dashboards.scorecard`, `dashboards.export`,
`dashboards.sql_results`).
"""
