package main

import (
	"strings"

	"github.com/espfctl/espfctl/internal/event"
	"github.com/spf13/pflag"
)

// lifecycleFlags are send's entity histories: --lifecycle and its shape.
type lifecycleFlags struct {
	On       bool
	Entities int64
	Updates  string
	Deleted  string
	Active   int
	Groups   []string
	Internal string
	Inherit  string

	set []string // the shape flags given, to refuse them without --lifecycle
}

var lifecycleShape = []string{"entities", "updates", "deleted", "active", "groups", "internal", "inherited"}

func (l *lifecycleFlags) register(f *pflag.FlagSet) {
	inGroup(f, groupLifecycle, func() {
		f.BoolVar(&l.On, "lifecycle", false, "send entity histories: Created, Updated×(--updates), then Deleted for a share (--deleted)")
		f.Int64Var(&l.Entities, "entities", 100, "--lifecycle: distinct entities in all")
		f.StringVar(&l.Updates, "updates", "1-3", "--lifecycle: Updated events per entity, MIN-MAX (or N)")
		f.StringVar(&l.Deleted, "deleted", "30%", "--lifecycle: share of histories that end with Deleted (30% or 0.3), for groups that have it")
		f.IntVar(&l.Active, "active", event.DefaultActive, "--lifecycle: entities whose histories are in progress at once (how tightly their events interleave)")
		f.StringVar(&l.Internal, "internal", "20%", "--lifecycle: share of an account's or customer's events that are internal event names of three parts from the catalog (Account/AccessPolicy/Changed…), applied as updates")
		f.StringVar(&l.Inherit, "inherited", "10%", "--lifecycle: share of customer changes also sent, \"inherited from Customer\", to every account of the customer in progress: a burst, sent at once")
		f.StringSliceVar(&l.Groups, "groups", []string{"Subscriber", "Customer", "Invoice", "DID"}, "--lifecycle: entity groups (an invoice needs Customer)")
	})
}

// changed notes which shape flags were given.
func (l *lifecycleFlags) changed(f *pflag.FlagSet) {
	l.set = nil
	for _, n := range lifecycleShape {
		if f.Changed(n) {
			l.set = append(l.set, "--"+n)
		}
	}
}

// config is the generator's config, from the flags; problems are usage
// errors naming the flag.
func (l *lifecycleFlags) config() (event.LifecycleConfig, error) {
	var cfg event.LifecycleConfig
	if l.Entities <= 0 {
		return cfg, usageErrorf("--entities %d: want at least 1", l.Entities)
	}
	lo, hi, err := event.ParseUpdates(l.Updates)
	if err != nil {
		return cfg, usageErrorf("--updates: %w", err)
	}
	del, err := event.ParseShare(l.Deleted)
	if err != nil {
		return cfg, usageErrorf("--deleted: %w", err)
	}
	for _, sh := range []struct {
		flag, v string
		dst     *float64
	}{{"--internal", l.Internal, &cfg.Internal}, {"--inherited", l.Inherit, &cfg.Inherited}} {
		v, err := event.ParseShare(sh.v)
		if err != nil {
			return cfg, usageErrorf("%s: %w", sh.flag, err)
		}
		if *sh.dst = v; v == 0 {
			*sh.dst = -1 // none at all
		}
	}
	if l.Active < 1 {
		return cfg, usageErrorf("--active %d: want at least 1", l.Active)
	}
	if cfg.Groups, err = event.ParseGroups(l.Groups); err != nil {
		return cfg, usageErrorf("--groups: %w", err)
	}
	cfg.Entities, cfg.UpdatesMin, cfg.UpdatesMax, cfg.Deleted, cfg.Active = l.Entities, lo, hi, del, l.Active
	if hi == 0 {
		cfg.UpdatesMax = -1 // none at all
	}
	if del == 0 {
		cfg.Deleted = -1
	}
	return cfg, nil
}

// checkLifecycleFlags refuses the shape flags without --lifecycle, and
// --lifecycle with another event source.
func (o *sendOptions) checkLifecycleFlags() error {
	l := &o.Lifecycle
	if !l.On {
		if len(l.set) > 0 {
			return usageErrorf("%s shapes entity histories: give --lifecycle too", strings.Join(l.set, ", "))
		}
		return nil
	}
	switch {
	case o.Events != "":
		return usageErrorf("--lifecycle generates its events: it cannot be combined with --events")
	case len(o.Types) > 0 || o.Mix != "":
		return usageErrorf("--lifecycle generates its own event types (from --groups): it cannot be combined with --type or --mix")
	}
	return nil
}
