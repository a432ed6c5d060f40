"""The explain narrative written out: `render` (plain text, rich text, JSON) and `i18n`
(gettext catalogs in `locale/`, English as message ids). The items themselves come from
each framework's narration (`tracer.frameworks.<name>`)."""
