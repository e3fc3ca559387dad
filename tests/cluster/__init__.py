"""Several server processes sharing PostgreSQL and Redis, as one lesson."""
