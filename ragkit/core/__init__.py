"""What every part uses: settings, errors, on-disk paths, privacy switches, fault points, text
helpers."""
