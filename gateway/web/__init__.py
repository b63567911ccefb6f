"""What the gateway serves to browsers besides the API: the SDK bundles and the demo store."""
