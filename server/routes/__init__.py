"""HTTP routes, one module per area of the API (and the pages, the API docs, health);
each exposes ``routes``."""
