"""Identity: NIK checks, name matching and NIK protection (pure functions, no I/O)."""
