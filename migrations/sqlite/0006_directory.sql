-- The managed part of the directory (coordinator, units, contacts, mediators), one row
-- per version: seeded from config/directory.toml into an empty database, then a new
-- version for every change an admin makes. The newest row is the directory in use; the
-- older ones are its history. Staff contact details only, never a caller's.

create table directory_versions (
    version integer primary key,
    -- JSON of the entries (see src/referral/directory/mod.rs, `Entries`).
    entries text not null,
    changed_at text not null,
    changed_by integer references users (id),
    -- What changed, in words, e.g. `unit fi-pronta updated: beds`.
    summary text not null
);
