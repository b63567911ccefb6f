"""Store platforms: installs, webhooks, catalog sync; one package per platform."""
