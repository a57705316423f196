// Command espfctl tests PortaBilling ESPF integrations: it signs and
// verifies the four authorization schemes, sends events as the ESPF does,
// runs a reference Application, and runs scenario files with expectations.
//
// # Where each command lives
//
// The files here are thin cobra commands: flags, exit codes, and which
// rendering to print. The work is done in internal packages:
//
//	espfctl sign       internal/sign: the four schemes (sign.go)
//	espfctl verify     internal/sign: the check and its explanation, each scheme's Explain
//	                   (verify.go; internal/report prints it)
//	espfctl send       internal/runner, as run: send.go translates the flags into the run
//	                   description a scenario file decodes to (scenario.Scenario) and
//	                   hands it to runner.Run; sendapi.go and sendlifecycle.go translate
//	                   the API mock's and --lifecycle's flags
//	espfctl serve      internal/verify: the reference receiver and its faults (serve.go; the
//	                   package keeps the name verify: it verifies deliveries); internal/journal:
//	                   its journal; internal/inspect: the inspector page at /ui/ on the admin
//	                   listener
//	espfctl journal    internal/journal: reads a serve journal, one record per request
//	                   (journal.go)
//	espfctl check      internal/check: the conformance checks (check.go)
//	espfctl run        internal/runner: runs a scenario that internal/scenario loads (run.go).
//	                   runner.Run is the one orchestrator of send and run: the event source
//	                   (internal/event), sim as the sender, verify as the built-in receiver,
//	                   espfapi as the PortaBilling mock and its wait, the entity tracking
//	                   and final-state read-back (internal/entity), the results file
//	espfctl validate   internal/scenario: loads and checks scenario files (validate.go)
//	espfctl report     internal/report: re-renders and merges sim's results files (report.go)
//	espfctl init       internal/starter: the Python and PHP Applications it writes, embedded
//	                   (init.go)
//	.ci/release        internal/release (through tools/release): the release archives, checksums
//	                   and container image; espfctl itself never imports it
//
// Shared by several commands: internal/espf is the ESPF contract once (what
// an answer means, the request, the HTTP client and its TLS); internal/report
// builds every summary and every rendering (text, tables, JSON, JUnit, HTML,
// check's table, serve's line, the journal table, verify's explanation);
// internal/term holds the streams, the terminal test, the colours and
// Escape, which every text output applies to what came from outside.
// Credential flags are defined once in authflags.go, target flags (--url,
// -H, TLS) in targetflags.go.
//
// # Import direction
//
// Lower packages never import higher ones:
//
//	entity, sign, term             the vocabulary: the one model of an entity after a set of events
//	                               (contract §7), the schemes, the streams
//	release                        the release builder (a tool, beside the others)
//	schema                         the schema_version every JSON output carries (docs/json.md)
//	starter                        the Applications espfctl init writes (imports sign)
//	listen                         the TCP listeners and the run's self-signed CA (serve, the API mock):
//	                               an address in use said once with the way out, TLS on a plain listener
//	event, espf                    events, the catalog and the generators (imports entity); the contract
//	                               (imports sign)
//	restart                        the restart command (--restart-cmd) and when it runs: seeded points of
//	                               the stream, as a request goes out, never two at once (imports entity)
//	sim, check, espfapi, journal   the engines: sender, conformance checks, the PortaBilling side (status
//	                               callbacks and the PortaBilling API mock); the journal, the store of
//	                               what a receiver received (one Record per request, SQLite; imports
//	                               espf, event)
//	verify                         the receiver: checks, answers and journals each delivery (imports
//	                               journal)
//	scenario                       the scenario file, decoded into the engines' config types
//	                               (sim.Phase, sim.Delivery, verify.Faults, event.GenConfig)
//	inspect                        serve's inspector page: reads the journal, replays through verify,
//	                               writes check's reproducers
//	report                         only consumes: summaries and renderings of the engines' results
//	runner                         runs a scenario; returns a report.Run
//	cmd/espfctl                    the commands: they translate flags or YAML and render; they
//	                               import neither entity nor espfapi (layers_test.go)
//
// No package below report imports it (layers_test.go checks the table).
// send's flags and a scenario reach the sender through the same value
// (scenario.Scenario), runner.Run, and sim.NewConfig, which checks every
// value and takes it as given (a jitter of 0 is none); the defaults are sim.DefaultDelivery, which send's flag
// defaults and a scenario without a delivery: section both start from.
package main
