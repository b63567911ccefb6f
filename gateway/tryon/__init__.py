"""Try-on: photo, analysis, brand model and live, for the widget (publishable keys)."""
