package espfapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/espfctl/espfctl/internal/entity"
	"github.com/espfctl/espfctl/internal/event"
)

// record is what PortaBilling holds for one entity: its state after every
// emitted event (the one model of internal/entity: PortaBilling changes the
// entity, then queues the event, so the state follows emission) and the
// fields the reads answer.
type record struct {
	st      entity.State
	updates int32 // Updated events applied: each changes a documented field
	blocked bool
	owner   int64 // an invoice's i_customer
	didNo   int64 // a DID's i_did_number
}

// UpdateStep is how much each Updated changes balance (accounts,
// customers) and amount_due (invoices).
const UpdateStep = 10

// AccountIDPrefix makes an account's id (its login) from its i_account:
// "acct-1000889". Account/get_account_info takes either.
const AccountIDPrefix = "acct-"

// Emitted is the hook the sender calls when it emits an event (before it
// is delivered): from then on the entity exists for the reads, with the
// event's change applied. It accepts any event; one about none of the four
// groups is ignored.
func (m *Mock) Emitted(it event.Item) {
	ev, err := event.Decode(it.Body)
	if err != nil {
		return
	}
	k, a, ok := entity.Of(ev.Type, ev.Variables)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, found := m.store[k]
	if !found {
		r = &record{}
		m.store[k] = r
		if k.Group == entity.DID {
			m.dids++
			r.didNo = m.dids
		}
	}
	if k.Group == entity.Invoice {
		if c, err := event.ID(ev.Variables["i_customer"]); err == nil {
			r.owner = c
		}
	}
	id, _ := ev.IEvent()
	if a.Lifecycle() {
		if r.st.Apply(a, id) && a == entity.Updated {
			r.updates++
		}
	} else if !r.st.Tombstone() {
		// another event about the entity: it exists (PortaBilling queued an
		// event about it), and Blocked/Unblocked change blocked.
		r.st.Exists = true
		switch {
		case strings.HasSuffix(ev.Type, "/Blocked"):
			r.blocked = true
		case strings.HasSuffix(ev.Type, "/Unblocked"):
			r.blocked = false
		}
	}
}

// Entities is the number of entities the mock holds.
func (m *Mock) Entities() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.store)
}

// lookup returns a copy of what PortaBilling holds for k, and whether it
// holds anything (an entity exists once an event about it was emitted).
func (m *Mock) lookup(k entity.Key) (record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.store[k]
	if !ok || (!r.st.Exists && !r.st.Tombstone()) {
		return record{}, false
	}
	return *r, true
}

func billStatus(r record) string {
	if r.st.Tombstone() {
		return "C" // closed: PortaBilling keeps a terminated account or customer
	}
	return "O"
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func (m *Mock) accountInfo(k entity.Key, r record) map[string]any {
	n, _ := strconv.ParseInt(k.ID, 10, 64)
	return map[string]any{"i_account": n, "id": AccountIDPrefix + k.ID, "bill_status": billStatus(r),
		"blocked": yn(r.blocked), "balance": float64(r.updates * UpdateStep), "i_env": m.cfg.IEnv}
}

func (m *Mock) customerInfo(k entity.Key, r record) map[string]any {
	n, _ := strconv.ParseInt(k.ID, 10, 64)
	return map[string]any{"i_customer": n, "name": "customer " + k.ID, "bill_status": billStatus(r),
		"blocked": yn(r.blocked), "balance": float64(r.updates * UpdateStep), "i_env": m.cfg.IEnv}
}

func invoiceInfo(k entity.Key, r record) map[string]any {
	n, _ := strconv.ParseInt(k.ID, 10, 64)
	info := map[string]any{"i_invoice": n, "amount_due": float64(r.updates * UpdateStep)}
	if r.owner > 0 {
		info["i_customer"] = r.owner
	}
	return info
}

func didInfo(k entity.Key, r record) map[string]any {
	return map[string]any{"i_did_number": r.didNo, "number": k.ID,
		"description": fmt.Sprintf("revision %d", r.updates)}
}
