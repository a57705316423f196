package entity

// coalesced lists the event types that PortaBilling coalesces since MR115
// (contract.md §7, the Event_Queue_Combined table): for each, only the
// newest queued event per account or customer is processed. The value is
// the entity the coalescing is keyed by.
var coalesced = map[string]Group{
	"Account/ProductAddon/Changed":            Subscriber,
	"Account/ProductAddon/Deleted":            Subscriber,
	"Account/Service/QuotaExceeded":           Subscriber,
	"Account/Service/Msg/QuotaExceeded":       Subscriber,
	"Account/Service/Netaccess/QuotaExceeded": Subscriber,
	"Account/Service/QuotaExpired":            Subscriber,
	"Account/Service/Msg/QuotaExpired":        Subscriber,
	"Account/Service/Netaccess/QuotaExpired":  Subscriber,
	"Customer/Status/Limited":                 Customer,
	"Customer/Status/Suspend":                 Customer,
	"Customer/Status/Suspended":               Customer,
}

// CoalesceKey is the queue slot an event competes for under coalescing: a
// newly emitted event supersedes an older queued one with the same key
// (same type, same account or customer). ok is false for the types that
// are never coalesced, and for an event whose entity string does not name
// the account or customer ("i_account=1000889", "i_customer=42").
func CoalesceKey(eventType, entity string) (key string, ok bool) {
	g, found := coalesced[eventType]
	if !found {
		return "", false
	}
	k, _, ok := FromEntity(eventType, entity)
	if !ok || k.Group != g {
		return "", false
	}
	return eventType + " " + k.String(), true
}
