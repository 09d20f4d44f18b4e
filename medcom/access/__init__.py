"""Users, roles and scopes: who may read what, in every way out of the product (issue 7).

- `medcom.access.scope`: a viewer's `Scope` — (level, code): the whole warehouse, one city or one county.
"""
