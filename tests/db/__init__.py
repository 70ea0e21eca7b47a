"""Tests of db: databases, the SQL guard, questions to SQL, rows as documents."""
