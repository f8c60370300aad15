"""The MCP server for coding agents (docs/rules.md#mcp): read-only tools and resources
over the planning gate, guidance for a file path, postmortems, search, action items, the
policies file and the knowledge base. answers.py holds what each tool says (synchronous,
Django ORM); server.py wraps it with the official `mcp` SDK; http.py serves it at /mcp/;
`manage.py mcp` serves it over stdio.
"""
