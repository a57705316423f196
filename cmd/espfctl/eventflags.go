package main

import (
	"github.com/espfctl/espfctl/internal/event"
	"github.com/spf13/pflag"
)

// payloadFlag is --payload, the generated bodies' shape (contract §8):
// defined once for send and check, read by event.ParsePayload as a
// scenario's events.payload is.
type payloadFlag struct {
	event.Payload
	set bool // given on the command line
}

func (p *payloadFlag) register(f *pflag.FlagSet) {
	inGroup(f, groupEvents, func() {
		p.Payload = event.DefaultPayload
		f.Var(p, "payload", "the generated bodies' variables: enriched (i_env, event_time and each type's extra variables, as newer PortaBilling releases send) or minimal (the documented example: i_event and the entity id)")
	})
}

func (p *payloadFlag) String() string { return string(p.Payload) }
func (p *payloadFlag) Type() string   { return "enriched|minimal" }

func (p *payloadFlag) Set(s string) error {
	v, err := event.ParsePayload(s)
	if err != nil {
		return err
	}
	p.Payload, p.set = v, true
	return nil
}
