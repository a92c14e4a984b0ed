"""Templates, vendored static assets and i18n catalogs; imports nothing of ours."""
