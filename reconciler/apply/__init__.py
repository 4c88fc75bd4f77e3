"""The applier: executes a Plan's calls through the providers, journalled, paced and retried."""
