"""The models: their descriptions, the build that converts them, and where they are stored."""
