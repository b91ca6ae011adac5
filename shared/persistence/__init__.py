"""Database plumbing every service uses: engines for SQLite and PostgreSQL."""
