"""Schema revisions, oldest first. Each one spells out its own DDL and never imports `reconciler.store.tables`."""
