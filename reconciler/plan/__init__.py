"""Plans: the data (`model`), the planner that makes it, and the renderers that show it."""
