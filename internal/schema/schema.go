// Package schema holds the version of espfctl's JSON outputs: every
// top-level object of a --json output and every line of a JSON-lines file
// carries it as "schema_version", so a user can pin the shape they read
// (docs/json.md). Within one version fields are added, never renamed or
// removed; a reader accepts lines with and without the field (files written
// before it existed have none).
package schema

// Version is the "schema_version" every JSON output writes.
const Version = 1
