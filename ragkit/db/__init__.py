"""Databases: connections, the SQL guard, questions to SQL, rows as documents."""
