"""The demo store: a small shop at ``/demo`` that embeds the widget like a merchant would."""
