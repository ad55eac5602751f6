"""The query layer: every read the service serves, for a principal, as plain data.

One module per resource. Each public function takes the process's `Runtime` and the caller's
`Principal` (from `service.principal`), reads the read models (or, for a recount, the event log)
and returns dicts and lists ready to dump, with who-may-see-what applied by `visibility`.
JSON views and HTML pages call these functions; neither decides visibility itself.
"""
