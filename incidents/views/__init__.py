"""The incidents app's views, by concern: pages (dashboard, list, draft, final record),
autosave (fields and rows of a draft), meeting and meeting_record (the meeting panel, scan,
pending marks, reviews), action_items (domain, items, evidence) and api (token-only JSON
for CI, monitors and agents). context builds the page contexts they share."""
