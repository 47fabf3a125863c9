"""SLA business-hours calendars (tender §4.1), deadlines and compliance rates GAP03 / GSP04 (§8)."""
