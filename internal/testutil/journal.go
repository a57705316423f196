package testutil

// FirstJournalSchema is the journal's schema as the first espfctl release
// wrote it (before raw capture, entities and copies): tests write rows into
// it to check that newer code reads and upgrades an old journal.
const FirstJournalSchema = `CREATE TABLE events (i_event INTEGER PRIMARY KEY, event_type TEXT NOT NULL, variables TEXT NOT NULL, deliveries INTEGER NOT NULL,
	first_delivery INTEGER NOT NULL, last_delivery INTEGER NOT NULL, auth_scheme TEXT NOT NULL, status INTEGER NOT NULL, flags TEXT NOT NULL DEFAULT '');
CREATE TABLE rejections (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, i_event INTEGER, event_type TEXT NOT NULL, status INTEGER NOT NULL,
	auth_scheme TEXT NOT NULL, auth TEXT NOT NULL, reason TEXT NOT NULL);
`
