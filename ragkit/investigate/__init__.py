"""Working an archive: entities, e-mail threads, saved searches."""
