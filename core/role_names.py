"""The names of Scarlog's three roles, importable from settings (no model imports).

core.roles says what each role may do (docs/rules.md#roles).
"""
VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
ROLES = (VIEWER, EDITOR, ADMIN)
