package scenario

import (
	"strings"

	"github.com/espfctl/espfctl/internal/restart"
	"gopkg.in/yaml.v3"
)

// restart reads target.restart_cmd and target.restarts: the restarts need
// the state read back (target.state_url), without which nothing can be
// judged.
func (d *decoder) restart(t *Target, f map[string]*yaml.Node, n *yaml.Node) {
	if x := f["restart_cmd"]; x != nil {
		t.RestartCmd = d.str(x, "target.restart_cmd", false)
		switch {
		case strings.TrimSpace(t.RestartCmd) == "":
			d.errorf(x, "target.restart_cmd: want a shell command that stops the Application abruptly and starts it again")
		case t.StateURL == "":
			d.errorf(x, "target.restart_cmd needs target.state_url: without reading every entity back after the restarts, nothing can be judged")
		}
	}
	if x := f["restarts"]; x != nil {
		t.Restarts = int(d.integer(x, "target.restarts", 1, 1000))
		if t.RestartCmd == "" {
			d.errorf(x, "target.restarts counts the runs of target.restart_cmd: add it")
		}
	}
	if t.RestartCmd != "" && t.Restarts == 0 {
		t.Restarts = restart.DefaultRestarts
	}
}
