"""Plans: the data (`model`), the planner that makes it (`planner` and its rule modules), saved plans (`planfile`). Pure."""
