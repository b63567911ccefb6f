"""The widget API: what a shopper's browser calls with a publishable key."""
