"""Plans: the data (`model`), the planner that makes it (`planner` and its rules), saved plans (`planfile`). Pure."""
