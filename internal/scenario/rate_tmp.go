package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is Freq events per Per. TEMPORARY until internal/sim lands.
type Rate struct {
	Freq int
	Per  time.Duration
}

func ParseRate(s string) (Rate, error) {
	a, b, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || n <= 0 {
		return Rate{}, fmt.Errorf("rate %q: want N/duration, e.g. 50/1s", s)
	}
	per := time.Second
	if ok {
		b = strings.TrimSpace(b)
		if b != "" && (b[0] < '0' || b[0] > '9') {
			b = "1" + b
		}
		if per, err = time.ParseDuration(b); err != nil || per <= 0 {
			return Rate{}, fmt.Errorf("rate %q: want N/duration, e.g. 50/1s", s)
		}
	}
	return Rate{n, per}, nil
}
